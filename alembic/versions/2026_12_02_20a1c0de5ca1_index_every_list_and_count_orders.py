"""index every list and its filters for keyset pages; count orders; index what expires

Revision ID: 20a1c0de5ca1
Revises: 5f0e7a3c2d91
Create Date: 2026-12-02 13:45:00.000000

Every page of every list becomes one range of one index (SPEC §12): the orders of a user
in one status, the whole menu, the users. `order_counts` holds the count of orders per
user and status, per user, per status and in all, kept by triggers on `orders` and filled
here from the orders already there. What expires gets an index for the purge.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "20a1c0de5ca1"
down_revision: str | None = "5f0e7a3c2d91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _count_keys(row: str, change: int | None = None) -> str:
    keys = (
        "0, ''",
        f"0, {row}.status",
        f"{row}.user_id, ''",
        f"{row}.user_id, {row}.status",
    )
    with_change = "" if change is None else f", {change}"
    return ", ".join(f"({key}{with_change})" for key in keys)


def _sqlite_count_change(row: str, change: int) -> str:
    return (
        f"INSERT INTO order_counts (user_id, status, orders) VALUES {_count_keys(row, change)} "  # noqa: S608 - constants only
        "ON CONFLICT (user_id, status) DO UPDATE SET orders = orders + excluded.orders;"
    )


def _postgresql_statement_count(function: str, rows: str, sign: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (user_id, status, orders)
  SELECT key.user_id, key.status, {sign}count(*)
  FROM {rows} CROSS JOIN LATERAL (VALUES {_count_keys(rows)}) AS key (user_id, status)
  GROUP BY key.user_id, key.status
  ORDER BY key.user_id, key.status
  ON CONFLICT (user_id, status) DO UPDATE SET orders = order_counts.orders + excluded.orders;
  RETURN NULL;
END $$"""  # noqa: S608 - built from constants only


POSTGRESQL_STATUS_CHANGE = f"""
CREATE OR REPLACE FUNCTION order_counts_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (user_id, status, orders)
  SELECT key.user_id, key.status, sum(key.change)
  FROM (VALUES {_count_keys("OLD", -1)}, {_count_keys("NEW", 1)}) AS key (user_id, status, change)
  GROUP BY key.user_id, key.status
  HAVING sum(key.change) <> 0
  ORDER BY key.user_id, key.status
  ON CONFLICT (user_id, status) DO UPDATE SET orders = order_counts.orders + excluded.orders;
  RETURN NULL;
END $$"""  # noqa: S608 - built from constants only

COUNTED_CHANGE = "AFTER UPDATE OF status, user_id ON orders FOR EACH ROW WHEN"
TRIGGERS = {
    "postgresql": (
        _postgresql_statement_count("order_counts_on_insert", "added", ""),
        _postgresql_statement_count("order_counts_on_delete", "removed", "-"),
        POSTGRESQL_STATUS_CHANGE,
        "CREATE TRIGGER orders_counted_on_insert AFTER INSERT ON orders "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
        "EXECUTE FUNCTION order_counts_on_insert()",
        "CREATE TRIGGER orders_counted_on_delete AFTER DELETE ON orders "
        "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
        "EXECUTE FUNCTION order_counts_on_delete()",
        f"CREATE TRIGGER orders_counted_on_update {COUNTED_CHANGE} "
        "(OLD.status IS DISTINCT FROM NEW.status OR OLD.user_id IS DISTINCT FROM NEW.user_id) "
        "EXECUTE FUNCTION order_counts_on_update()",
    ),
    "sqlite": (
        "CREATE TRIGGER orders_counted_on_insert AFTER INSERT ON orders BEGIN "
        f"{_sqlite_count_change('NEW', 1)} END",
        "CREATE TRIGGER orders_counted_on_delete AFTER DELETE ON orders BEGIN "
        f"{_sqlite_count_change('OLD', -1)} END",
        f"CREATE TRIGGER orders_counted_on_update {COUNTED_CHANGE} "
        "OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id BEGIN "
        f"{_sqlite_count_change('OLD', -1)} {_sqlite_count_change('NEW', 1)} END",
    ),
}
TRIGGER_NAMES = ("orders_counted_on_insert", "orders_counted_on_delete", "orders_counted_on_update")
FUNCTION_NAMES = ("order_counts_on_insert", "order_counts_on_delete", "order_counts_on_update")

COUNT_EXISTING_ORDERS = (
    "SELECT 0, '', count(*) FROM orders HAVING count(*) > 0",
    "SELECT 0, status, count(*) FROM orders GROUP BY status",
    "SELECT user_id, '', count(*) FROM orders GROUP BY user_id",
    "SELECT user_id, status, count(*) FROM orders GROUP BY user_id, status",
)


def upgrade() -> None:
    op.create_table(
        "order_counts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "status", name=op.f("pk_order_counts")),
    )
    op.create_index(
        "ix_orders_user_id_status_created_at",
        "orders",
        ["user_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index("ix_products_created_at", "products", ["created_at", "id"], unique=False)
    op.create_index("ix_users_created_at", "users", ["created_at", "id"], unique=False)
    op.create_index(
        op.f("ix_refresh_tokens_expires_at"), "refresh_tokens", ["expires_at"], unique=False
    )
    op.create_index(
        op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False
    )
    for counts in COUNT_EXISTING_ORDERS:
        op.execute(f"INSERT INTO order_counts (user_id, status, orders) {counts}")
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for trigger in TRIGGER_NAMES:
        op.execute(
            f"DROP TRIGGER IF EXISTS {trigger} ON orders"
            if dialect == "postgresql"
            else f"DROP TRIGGER IF EXISTS {trigger}"
        )
    if dialect == "postgresql":
        for function in FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_index(op.f("ix_refresh_tokens_expires_at"), table_name="refresh_tokens")
    op.drop_index("ix_users_created_at", table_name="users")
    op.drop_index("ix_products_created_at", table_name="products")
    op.drop_index("ix_orders_user_id_status_created_at", table_name="orders")
    op.drop_table("order_counts")
