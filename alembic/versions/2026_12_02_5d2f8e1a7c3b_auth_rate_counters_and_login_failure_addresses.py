"""auth rate counters, and the client address of login failures

The fixed-window counters of AUTH_RATE_LIMIT (one row per auth route, client address and
window), and the address each failed login came from, for the throttle per email and
address (SPEC §11). Failures recorded before keep an empty address.

Revision ID: 5d2f8e1a7c3b
Revises: 5a7e1c0d9f17
Create Date: 2026-12-02 14:02:12.180078
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "5d2f8e1a7c3b"
down_revision: str | None = "5a7e1c0d9f17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_rate_counters",
        sa.Column("route", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("client_address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "route", "client_address", "window_start", name=op.f("pk_auth_rate_counters")
        ),
    )
    with op.batch_alter_table("auth_rate_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_rate_counters_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "client_address",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                server_default="",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_column("client_address")

    with op.batch_alter_table("auth_rate_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_rate_counters_expires_at"))

    op.drop_table("auth_rate_counters")
