"""index the public menu by availability and time

Revision ID: 9c41d7e2b6a8
Revises: 4bd5b2937e6d
Create Date: 2026-11-28 12:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9c41d7e2b6a8"
down_revision: str | None = "4bd5b2937e6d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_products_is_available_created_at",
        "products",
        ["is_available", "created_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_products_is_available_created_at", table_name="products")
