"""spread everyone's order counts over slots: concurrent order creation stops waiting

Each count over every user's orders (user 0) was one row of `order_counts`, which every
order created, completed or cancelled anywhere updated, and held locked on PostgreSQL
until its transaction committed: concurrent creations waited for each other (32 clients:
30 waited on that row, 150 orders a second; without the global rows, 270 to 300). A
count is now the sum of its rows: those over every user's orders are spread over 32
slots, an order counted in the slot of its id (`id % 32`); a user's own counts keep one
row each (slot 0). The counts already there stay in slot 0.

Revision ID: 3b8d5f2e9a41
Revises: 7c4e2a9b1f60
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "3b8d5f2e9a41"
down_revision: str | None = "7c4e2a9b1f60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 32
TRIGGER_NAMES = ("orders_counted_on_insert", "orders_counted_on_delete", "orders_counted_on_update")


def _keys(row: str, change: int | None, slotted: bool) -> str:
    """The four counts an order of `row` is in, as SQL row values (with a slot when
    `slotted`), each with `change` when given."""
    everyone, own = (f", {row}.id % {SLOTS}", ", 0") if slotted else ("", "")
    keys = (
        f"0, ''{everyone}",
        f"0, {row}.status{everyone}",
        f"{row}.user_id, ''{own}",
        f"{row}.user_id, {row}.status{own}",
    )
    with_change = "" if change is None else f", {change}"
    return ", ".join(f"({key}{with_change})" for key in keys)


def _columns(slotted: bool) -> str:
    return "user_id, status, slot" if slotted else "user_id, status"


def _postgresql_functions(slotted: bool) -> list[str]:
    columns = _columns(slotted)
    key_columns = ", ".join(f"key.{column.strip()}" for column in columns.split(","))
    upsert = f"ON CONFLICT ({columns}) DO UPDATE SET orders = order_counts.orders + excluded.orders"
    statement_counts = [
        f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts ({columns}, orders)
  SELECT {key_columns}, {sign}count(*)
  FROM {rows} CROSS JOIN LATERAL (VALUES {_keys(rows, None, slotted)}) AS key ({columns})
  GROUP BY {key_columns}
  ORDER BY {key_columns}
  {upsert};
  RETURN NULL;
END $$"""  # noqa: S608 - built from constants only
        for function, rows, sign in (
            ("order_counts_on_insert", "added", ""),
            ("order_counts_on_delete", "removed", "-"),
        )
    ]
    status_change = f"""
CREATE OR REPLACE FUNCTION order_counts_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts ({columns}, orders)
  SELECT {key_columns}, sum(key.change)
  FROM (VALUES {_keys("OLD", -1, slotted)}, {_keys("NEW", 1, slotted)})
    AS key ({columns}, change)
  GROUP BY {key_columns}
  HAVING sum(key.change) <> 0
  ORDER BY {key_columns}
  {upsert};
  RETURN NULL;
END $$"""  # noqa: S608 - built from constants only
    return [*statement_counts, status_change]


def _sqlite_triggers(slotted: bool) -> list[str]:
    columns = _columns(slotted)

    def change(row: str, by: int) -> str:
        return (
            f"INSERT INTO order_counts ({columns}, orders) VALUES {_keys(row, by, slotted)} "  # noqa: S608 - constants only
            f"ON CONFLICT ({columns}) DO UPDATE SET orders = orders + excluded.orders;"
        )

    counted_change = "AFTER UPDATE OF status, user_id ON orders FOR EACH ROW WHEN"
    return [
        f"CREATE TRIGGER orders_counted_on_insert AFTER INSERT ON orders BEGIN "
        f"{change('NEW', 1)} END",
        f"CREATE TRIGGER orders_counted_on_delete AFTER DELETE ON orders BEGIN "
        f"{change('OLD', -1)} END",
        f"CREATE TRIGGER orders_counted_on_update {counted_change} "
        "OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id BEGIN "
        f"{change('OLD', -1)} {change('NEW', 1)} END",
    ]


def _recount_triggers(slotted: bool) -> None:
    """Put the triggers (SQLite) or their functions (PostgreSQL) in place."""
    if op.get_bind().dialect.name == "postgresql":
        for function in _postgresql_functions(slotted):
            op.execute(function)
        return
    for statement in _sqlite_triggers(slotted):
        op.execute(statement)


def _drop_sqlite_triggers() -> None:
    """SQLite's triggers name `order_counts`, which the batch operations copy and rename."""
    if op.get_bind().dialect.name == "sqlite":
        for trigger in TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {trigger}")


def upgrade() -> None:
    _drop_sqlite_triggers()
    with op.batch_alter_table("order_counts") as batch_op:
        batch_op.add_column(
            sa.Column("slot", sa.SmallInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("order_counts") as batch_op:
        batch_op.alter_column("slot", server_default=None)
        batch_op.drop_constraint("pk_order_counts", type_="primary")
        batch_op.create_primary_key("pk_order_counts", ["user_id", "status", "slot"])
    _recount_triggers(slotted=True)


def downgrade() -> None:
    _drop_sqlite_triggers()
    op.execute(
        "INSERT INTO order_counts (user_id, status, slot, orders) "
        "SELECT user_id, status, 0, sum(orders) FROM order_counts WHERE slot <> 0 "
        "GROUP BY user_id, status "
        "ON CONFLICT (user_id, status, slot) "
        "DO UPDATE SET orders = order_counts.orders + excluded.orders"
    )
    op.execute("DELETE FROM order_counts WHERE slot <> 0")
    with op.batch_alter_table("order_counts") as batch_op:
        batch_op.drop_constraint("pk_order_counts", type_="primary")
        batch_op.create_primary_key("pk_order_counts", ["user_id", "status"])
        batch_op.drop_column("slot")
    _recount_triggers(slotted=False)
