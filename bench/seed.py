"""Seeding the benchmark database directly (SQLAlchemy core bulk inserts, not HTTP).

Customers share one password and so one bcrypt hash (hashed once, at the app's cost);
their access tokens are minted with the app's own `encode_token` and secret, exactly as a
login would issue them, so seeding takes seconds instead of a hundred bcrypt hashes.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import bcrypt
from sqlalchemy import Table, delete, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.config import Settings
from app.security import encode_token
from app.tables import OrderStatus, metadata
from app.timestamps import utcnow

PASSWORD = "bench-password-0123"
STATUS_WEIGHTS = {
    OrderStatus.PENDING: 0.35,
    OrderStatus.COMPLETED: 0.50,
    OrderStatus.CANCELLED: 0.15,
}
DISHES = (
    "Margherita", "Marinara", "Diavola", "Quattro Formaggi", "Capricciosa", "Napoletana",
    "Funghi", "Prosciutto", "Calzone", "Ortolana",
)  # fmt: skip
BATCH = 2_000


@dataclass(frozen=True)
class SeedSize:
    customers: int = 100
    products: int = 50
    orders: int = 10_000
    max_items: int = 5


@dataclass
class Caller:
    """A seeded customer as the load generator sees it."""

    user_id: int
    email: str
    token: str
    orders: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)


@dataclass
class SeedResult:
    callers: list[Caller]
    product_ids: list[int]
    orders: int
    items: int
    pending_orders: int
    seconds: float = 0.0


def _table(name: str) -> Table:
    return metadata.tables[name]


async def _insert_returning_ids(
    connection: AsyncConnection, table: Table, rows: list[dict[str, object]]
) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        result = await connection.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            rows[start : start + BATCH],
        )
        ids.extend(result.scalars())
    return ids


async def seed(settings: Settings, size: SeedSize, rng: random.Random) -> SeedResult:
    """Fill a migrated, empty database; returns what the load generator needs."""
    users, products = _table("users"), _table("products")
    orders, items = _table("orders"), _table("order_items")
    now = utcnow()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(settings.bcrypt_rounds)).decode()

    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            for table in (items, orders, products):
                await connection.execute(delete(table))
            await connection.execute(delete(users))

            user_rows: list[dict[str, object]] = [
                {
                    "name": f"Bench Customer {number}",
                    "email": f"bench-customer-{number:04d}@example.com",
                    "hashed_password": hashed,
                    "is_active": True,
                    "is_admin": False,
                    "created_at": now - timedelta(days=120),
                }
                for number in range(1, size.customers + 1)
            ]
            user_ids = await _insert_returning_ids(connection, users, user_rows)

            product_rows: list[dict[str, object]] = [
                {
                    "name": f"{DISHES[number % len(DISHES)]} No. {number}",
                    "description": "Tomato, fior di latte, basil and a secret",
                    "price_cents": rng.randrange(500, 2_500, 50),
                    "is_available": True,
                    "created_at": now - timedelta(days=120, minutes=number),
                }
                for number in range(1, size.products + 1)
            ]
            product_ids = await _insert_returning_ids(connection, products, product_rows)
            catalog = dict(zip(product_ids, product_rows, strict=True))

            # Orders in creation order (ids grow with time), each with 1..max_items lines.
            statuses = list(STATUS_WEIGHTS)
            weights = list(STATUS_WEIGHTS.values())
            created = sorted(
                now - timedelta(seconds=rng.uniform(60, 90 * 86_400)) for _ in range(size.orders)
            )
            order_rows: list[dict[str, object]] = []
            order_lines: list[list[dict[str, object]]] = []
            for created_at in created:
                lines = []
                for product_id in rng.sample(product_ids, rng.randint(1, size.max_items)):
                    quantity = rng.randint(1, 5)
                    price = catalog[product_id]["price_cents"]
                    assert isinstance(price, int)
                    lines.append(
                        {
                            "product_id": product_id,
                            "product_name": catalog[product_id]["name"],
                            "unit_price_cents": price,
                            "quantity": quantity,
                            "line_total_cents": quantity * price,
                        }
                    )
                order_rows.append(
                    {
                        "user_id": rng.choice(user_ids),
                        "status": rng.choices(statuses, weights)[0],
                        "total_cents": sum(int(str(line["line_total_cents"])) for line in lines),
                        "created_at": created_at,
                        "updated_at": created_at,
                    }
                )
                order_lines.append(lines)
            order_ids = await _insert_returning_ids(connection, orders, order_rows)

            item_rows = [
                {**line, "order_id": order_id}
                for order_id, lines in zip(order_ids, order_lines, strict=True)
                for line in lines
            ]
            for start in range(0, len(item_rows), BATCH):
                await connection.execute(insert(items), item_rows[start : start + BATCH])
        # The statistics a live database keeps (PostgreSQL's autovacuum gathers them):
        # without them the planner guesses the tables' sizes, and can join a page of
        # orders to their items by scanning every item. On PostgreSQL, VACUUM too: else
        # autovacuum starts on the new rows during the first measurements.
        maintenance = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(maintenance))
    finally:
        await engine.dispose()

    callers = {
        user_id: Caller(
            user_id=user_id,
            email=str(row["email"]),
            token=encode_token(user_id, "access", timedelta(hours=2), settings)[0],
        )
        for user_id, row in zip(user_ids, user_rows, strict=True)
    }
    for order_id, row in zip(order_ids, order_rows, strict=True):
        caller = callers[int(str(row["user_id"]))]
        caller.orders.append(order_id)
        if row["status"] is OrderStatus.PENDING:
            caller.pending.append(order_id)
    return SeedResult(
        callers=[caller for caller in callers.values() if caller.orders and caller.pending],
        product_ids=product_ids,
        orders=len(order_ids),
        items=len(item_rows),
        pending_orders=sum(len(caller.pending) for caller in callers.values()),
    )


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lua_ints(values: list[int]) -> str:
    return "{" + ",".join(str(value) for value in values) + "}"


def write_lua_data(result: SeedResult, path: Path) -> None:
    """The data file the wrk scripts load (`dofile`): callers, products, login users."""
    lines = ["return {", "  callers = {"]
    for caller in result.callers:
        auth = _lua_string(f"Bearer {caller.token}")
        lines.append(
            f"    {{headers = {{Authorization = {auth}}}, "
            f'json_headers = {{Authorization = {auth}, ["Content-Type"] = "application/json"}}, '
            f"orders = {_lua_ints(caller.orders)}, pending = {_lua_ints(caller.pending)}}},"
        )
    lines.append("  },")
    lines.append(f"  products = {_lua_ints(result.product_ids)},")
    lines.append("  logins = {")
    lines.extend(
        f"    {{email = {_lua_string(caller.email)}, password = {_lua_string(PASSWORD)}}},"
        for caller in result.callers
    )
    lines.append("  },")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
