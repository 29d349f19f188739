"""The `order_counts` table and the triggers that keep it, per dialect: the migration that
made them holds the same SQL, and `metadata.create_all` creates them with the tables."""

from typing import ClassVar

from sqlalchemy import DDL, BigInteger, SmallInteger, event
from sqlmodel import Field, SQLModel

from app.metadata import core_table, metadata

EVERYONE = 0
"""`order_counts.user_id` of the counts over every user's orders."""
ANY_STATUS = ""
"""`order_counts.status` of the counts over every status."""
EVERYONES_COUNT_SLOTS = 32
"""The rows each count over every user's orders is spread over (by order id)."""


def _count_keys(row: str, change: int | None = None) -> str:
    """The four counts an order of `row` (NEW, OLD or a transition table) is in, as SQL
    row values (user, status, slot), each with `change` when given."""
    slot = f"{row}.id % {EVERYONES_COUNT_SLOTS}"
    keys = (
        f"{EVERYONE}, '{ANY_STATUS}', {slot}",
        f"{EVERYONE}, {row}.status, {slot}",
        f"{row}.user_id, '{ANY_STATUS}', 0",
        f"{row}.user_id, {row}.status, 0",
    )
    with_change = "" if change is None else f", {change}"
    return ", ".join(f"({key}{with_change})" for key in keys)


def _sqlite_count_change(row: str, change: int) -> str:
    return (
        f"INSERT INTO order_counts (user_id, status, slot, orders) VALUES {_count_keys(row, change)} "  # noqa: S608, E501 - constants only
        "ON CONFLICT (user_id, status, slot) DO UPDATE SET orders = orders + excluded.orders;"
    )


def _postgresql_statement_count(function: str, rows: str, sign: str) -> str:
    """A function for a statement-level trigger: the counts of the statement's rows (the
    transition table `rows`), added (`sign` empty) or taken away (`-`), in one upsert. Its
    rows are sorted, so concurrent transactions lock the counts in one order: no deadlock."""
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (user_id, status, slot, orders)
  SELECT key.user_id, key.status, key.slot, {sign}count(*)
  FROM {rows} CROSS JOIN LATERAL (VALUES {_count_keys(rows)}) AS key (user_id, status, slot)
  GROUP BY key.user_id, key.status, key.slot
  ORDER BY key.user_id, key.status, key.slot
  ON CONFLICT (user_id, status, slot)
  DO UPDATE SET orders = order_counts.orders + excluded.orders;
  RETURN NULL;
END $$"""  # noqa: S608 - built from constants only


POSTGRESQL_STATUS_CHANGE = f"""
CREATE OR REPLACE FUNCTION order_counts_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (user_id, status, slot, orders)
  SELECT key.user_id, key.status, key.slot, sum(key.change)
  FROM (VALUES {_count_keys("OLD", -1)}, {_count_keys("NEW", 1)})
    AS key (user_id, status, slot, change)
  GROUP BY key.user_id, key.status, key.slot
  HAVING sum(key.change) <> 0
  ORDER BY key.user_id, key.status, key.slot
  ON CONFLICT (user_id, status, slot)
  DO UPDATE SET orders = order_counts.orders + excluded.orders;
  RETURN NULL;
END $$"""  # noqa: S608 - built from constants only

COUNTED_CHANGE = "AFTER UPDATE OF status, user_id ON orders FOR EACH ROW WHEN"
ORDER_COUNT_TRIGGERS: dict[str, tuple[str, ...]] = {
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


class OrderCount(SQLModel, table=True):
    """How many orders there are per user and status, per user, per status and in all:
    a page of orders tells its count with one lookup here instead of counting rows.

    Kept by triggers on `orders` (see `ORDER_COUNT_TRIGGERS`), in the transaction of every
    change: whatever inserts, deletes (a user's deletion cascading included) or changes an
    order's status, the counts change with it. A count is the sum of its rows' `orders`.
    The counts over every user's orders are spread over `EVERYONES_COUNT_SLOTS` rows each,
    an order counted in the slot of its id: on PostgreSQL a transaction that counts an
    order holds its count rows locked until it commits, and with one row per count every
    order created anywhere would wait for the one before to commit. A user's own counts
    keep one row each (slot 0): only that user's own concurrent orders wait on them.
    """

    __tablename__: ClassVar[str] = "order_counts"

    user_id: int = Field(primary_key=True, description=f"{EVERYONE}: every user")
    status: str = Field(primary_key=True, max_length=16, description="empty: every status")
    slot: int = Field(primary_key=True, sa_type=SmallInteger, description="0 for a user's")
    orders: int = Field(sa_type=BigInteger)


for _dialect, _statements in ORDER_COUNT_TRIGGERS.items():
    for _statement in _statements:
        # DDL formats its text with `%`: the modulo of the counts' slots is written `%%`.
        _trigger = DDL(_statement.replace("%", "%%"))  # type: ignore[no-untyped-call]
        event.listen(metadata, "after_create", _trigger.execute_if(dialect=_dialect))


COUNTS = core_table(OrderCount)
