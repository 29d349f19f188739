"""Growing the benchmark database to a million orders, in SQL (not through the API).

A restaurant's three years: 20 customers who each own a twentieth of the orders, one admin,
a menu of 50 products, and orders of three lines each. `seed_base` puts the people, the
menu and the newest orders in place; `grow` adds older orders in batches of
`GROWTH_BATCH`, each one `INSERT ... SELECT` of the orders and one of their lines over a
generated series (PostgreSQL's `generate_series`, a recursive CTE on SQLite), so a million
orders and three million lines take about a minute, not hours of HTTP.

Order `n` (1, 2, ...) is made from `n` alone: its customer, status, time and lines, so the
seeding needs no data from Python. Its lines are products `3n`, `3n+1`, `3n+2` (modulo the
menu), quantities 1 to 3; its total is their sum, as the app keeps it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bcrypt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

CUSTOMERS = 20
PRODUCTS = 50
LINES_PER_ORDER = 3
GROWTH_BATCH = 100_000
PASSWORD = "bench-password-0123"
BASE_ORDERS_SPAN = timedelta(days=1)
GROWTH_SPAN = timedelta(days=3 * 365)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class People:
    customer_ids: list[int]
    admin_id: int
    customer_emails: list[str]


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


# The status of order n: 7 in 20 pending, 10 completed, 3 cancelled, not in step with
# its customer (n modulo 20), so every customer has orders in every status.
STATUS_OF_N = (
    "CASE WHEN (n / 20) % 20 < 7 THEN 'pending' "
    "WHEN (n / 20) % 20 < 17 THEN 'completed' ELSE 'cancelled' END"
)


def _series(dialect: str) -> str:
    """The rows `n` from :first to :last, as a FROM clause."""
    if dialect == "postgresql":
        return "generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS series (n)"
    return (
        "(WITH RECURSIVE series (n) AS (SELECT :first UNION ALL "
        "SELECT n + 1 FROM series WHERE n < :last) SELECT n FROM series) AS series"
    )


def _timestamp(dialect: str, microseconds: str) -> str:
    """A timestamp from microseconds since 1970 (UTC), as each database stores one:
    SQLite as the text SQLAlchemy writes (`YYYY-MM-DD HH:MM:SS.ffffff`)."""
    if dialect == "postgresql":
        return (
            f"(TIMESTAMPTZ '1970-01-01 00:00:00+00' + ({microseconds}) * INTERVAL '1 microsecond')"
        )
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', ({microseconds}) / 1000000, 'unixepoch') "
        f"|| printf('.%06d', ({microseconds}) % 1000000))"
    )


def _orders_insert(dialect: str) -> str:
    """Orders :first to :last (ids :id_offset + n), created from :newest_us back by
    :step_us each, with their totals: the sum of the lines `_items_insert` adds (which
    depend on n modulo the menu's size only, so `seed_totals` holds them)."""
    created = _timestamp(dialect, ":newest_us - n * :step_us")
    return f"""
        INSERT INTO orders (id, user_id, status, total_cents, created_at, updated_at)
        SELECT :id_offset + n, seed_customers.user_id, {STATUS_OF_N},
               seed_totals.total_cents, {created}, {created}
        FROM {_series(dialect)}
        JOIN seed_customers ON seed_customers.position = n % {CUSTOMERS}
        JOIN seed_totals ON seed_totals.position = n % {PRODUCTS}
    """  # noqa: S608 - built from constants only


def _lines() -> str:
    return " UNION ALL ".join(f"SELECT {line} AS line" for line in range(LINES_PER_ORDER))


def _items_insert(dialect: str) -> str:
    lines = _lines()
    product = f"seed_menu.position = (n * {LINES_PER_ORDER} + line.line) % {PRODUCTS}"
    return f"""
        INSERT INTO order_items
            (order_id, product_id, product_name, unit_price_cents, quantity, line_total_cents)
        SELECT :id_offset + n, seed_menu.product_id, seed_menu.name, seed_menu.price_cents,
               1 + line.line, seed_menu.price_cents * (1 + line.line)
        FROM {_series(dialect)}
        CROSS JOIN ({lines}) AS line
        JOIN seed_menu ON {product}
    """  # noqa: S608 - built from constants only


async def _positions(connection: AsyncConnection) -> None:
    """The customers and the menu numbered from 0, for the series to pick from."""
    for statement in (
        "DROP TABLE IF EXISTS seed_customers",
        "DROP TABLE IF EXISTS seed_menu",
        "CREATE TABLE seed_customers (position INTEGER PRIMARY KEY, user_id INTEGER)",
        "CREATE TABLE seed_menu (position INTEGER PRIMARY KEY, product_id INTEGER, "
        "name VARCHAR(100), price_cents INTEGER)",
        "INSERT INTO seed_customers SELECT "
        "(SELECT count(*) FROM users AS earlier WHERE earlier.id < users.id "
        "AND NOT earlier.is_admin), id FROM users WHERE NOT is_admin",
        "INSERT INTO seed_menu SELECT "
        "(SELECT count(*) FROM products AS earlier WHERE earlier.id < products.id), "
        "id, name, price_cents FROM products",
        "DROP TABLE IF EXISTS seed_totals",
        "CREATE TABLE seed_totals (position INTEGER PRIMARY KEY, total_cents INTEGER)",
        "INSERT INTO seed_totals SELECT shape.position, "  # noqa: S608 - constants only
        "sum(product.price_cents * (1 + line.line)) "
        f"FROM seed_menu AS shape CROSS JOIN ({_lines()}) AS line "
        "JOIN seed_menu AS product "
        f"ON product.position = (shape.position * {LINES_PER_ORDER} + line.line) % {PRODUCTS} "
        "GROUP BY shape.position",
    ):
        await connection.execute(text(statement))


async def seed_base(engine: AsyncEngine, bcrypt_rounds: int, orders: int) -> People:
    """Customers, an admin, the menu and the `orders` newest orders, in an empty database."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(bcrypt_rounds)).decode()
    now = datetime.now(UTC)
    joined = now - GROWTH_SPAN - timedelta(days=30)
    emails = [f"growth-customer-{number:02d}@example.com" for number in range(CUSTOMERS)]
    async with engine.begin() as connection:
        for number, email in enumerate([*emails, "growth-admin@example.com"]):
            await connection.execute(
                text(
                    "INSERT INTO users (name, email, hashed_password, is_active, is_admin, "
                    "created_at) VALUES (:name, :email, :hashed, true, :is_admin, :joined)"
                ),
                {
                    "name": f"Growth User {number}",
                    "email": email,
                    "hashed": hashed,
                    "is_admin": number == CUSTOMERS,
                    "joined": joined + timedelta(seconds=number),
                },
            )
        for number in range(PRODUCTS):
            await connection.execute(
                text(
                    "INSERT INTO products (name, description, price_cents, is_available, "
                    "created_at) VALUES (:name, 'Tomato, fior di latte, basil', :price, "
                    "true, :created)"
                ),
                {
                    "name": f"Pizza No. {number}",
                    "price": 500 + 50 * (number % 40),
                    "created": joined + timedelta(minutes=number),
                },
            )
        ids = (await connection.execute(text("SELECT id, is_admin FROM users ORDER BY id"))).all()
    people = People(
        customer_ids=[user_id for user_id, is_admin in ids if not is_admin],
        admin_id=next(user_id for user_id, is_admin in ids if is_admin),
        customer_emails=emails,
    )
    await _add_orders(engine, orders, newest=now, span=BASE_ORDERS_SPAN)
    return people


async def grow(engine: AsyncEngine, orders: int) -> None:
    """Add `orders` older orders (three years before the newest ones), batch by batch."""
    async with engine.connect() as connection:
        oldest = await connection.scalar(text("SELECT min(created_at) FROM orders"))
    if isinstance(oldest, str):  # SQLite's text, in UTC without an offset
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
    newest = oldest if isinstance(oldest, datetime) else datetime.now(UTC)
    await _add_orders(engine, orders, newest=newest - timedelta(seconds=1), span=GROWTH_SPAN)


async def _add_orders(
    engine: AsyncEngine, orders: int, *, newest: datetime, span: timedelta
) -> None:
    dialect = engine.dialect.name
    step_us = max(1, _microseconds(newest) - _microseconds(newest - span)) // max(1, orders)
    async with engine.begin() as connection:
        await _positions(connection)
        id_offset = await connection.scalar(text("SELECT coalesce(max(id), 0) FROM orders"))
    for first in range(1, orders + 1, GROWTH_BATCH):
        last = min(orders, first + GROWTH_BATCH - 1)
        params = {
            "first": first,
            "last": last,
            "id_offset": id_offset,
            "newest_us": _microseconds(newest),
            "step_us": step_us,
        }
        async with engine.begin() as connection:
            if dialect == "postgresql":  # a seed lost to a crash is seeded again
                await connection.execute(text("SET LOCAL synchronous_commit = off"))
            await connection.execute(text(_orders_insert(dialect)), params)
            await connection.execute(text(_items_insert(dialect)), params)
    async with engine.begin() as connection:
        for table in ("seed_customers", "seed_menu", "seed_totals"):
            await connection.execute(text(f"DROP TABLE {table}"))
        if dialect == "postgresql":  # explicit ids: move the sequence past them
            await connection.execute(
                text("SELECT setval(pg_get_serial_sequence('orders', 'id'), max(id)) FROM orders")
            )
    await analyze(engine)


async def analyze(engine: AsyncEngine) -> None:
    """The planner's statistics (and on PostgreSQL the visibility map), as a live
    database's autovacuum keeps them."""
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
