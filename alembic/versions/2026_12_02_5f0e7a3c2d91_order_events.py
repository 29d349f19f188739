"""order events: the log that GET /orders/events streams

Revision ID: 5f0e7a3c2d91
Revises: 9c41d7e2b6a8
Create Date: 2026-12-02 13:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import app.tables
from alembic import op

revision: str = "5f0e7a3c2d91"
down_revision: str | None = "9c41d7e2b6a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", app.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("order_events")
