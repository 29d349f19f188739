"""The query plans of every list's page, as the app sends them (SPEC §12).

    python -m bench.plans DATABASE_URL

prints `EXPLAIN` (PostgreSQL) or `EXPLAIN QUERY PLAN` (SQLite) of each list's statement,
first page and by cursor, with each filter: on a grown database (`python -m bench.growth`)
every page should be one range of one index, never a scan of a table or a sort.
"""

import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler

from app.services.orders.reads import EVERYONES_PAGE, OWN_PAGE
from app.services.products import MENU_PAGE
from app.services.users import USERS_PAGE
from app.tables import OrderStatus

MIDDLE = datetime(2025, 6, 1, 12, tzinfo=UTC)  # a position deep in three years of orders


def statements() -> dict[str, tuple[Select[Any], dict[str, Any]]]:
    orders = {
        "caller_id": 3,
        "user_id": 5,
        "status": OrderStatus.PENDING,
        "limit": 21,
        "offset": 0,
        "count_user_id": 3,
        "count_status": "",
        "after_created_at": MIDDLE,
        "after_id": 500_000,
    }
    page = {"limit": 21, "offset": 0, "after_created_at": MIDDLE, "after_id": 500_000}
    return {
        "orders: a customer's first page": (OWN_PAGE[False, False, False], orders),
        "orders: a customer's page by cursor": (OWN_PAGE[False, False, True], orders),
        "orders: a customer's page by cursor, status=pending": (
            OWN_PAGE[True, False, True],
            orders,
        ),
        "orders: an admin's first page": (EVERYONES_PAGE[False, False, False], orders),
        "orders: an admin's page by cursor": (EVERYONES_PAGE[False, False, True], orders),
        "orders: an admin's page by cursor, status=pending": (
            EVERYONES_PAGE[True, False, True],
            orders,
        ),
        "orders: an admin's page by cursor, user_id": (EVERYONES_PAGE[False, True, True], orders),
        "orders: an admin's page by cursor, user_id and status": (
            EVERYONES_PAGE[True, True, True],
            orders,
        ),
        "products: the menu by cursor": (MENU_PAGE[False, True], page),
        "products: the whole menu by cursor (admins)": (MENU_PAGE[True, True], page),
        "users: a page by cursor": (USERS_PAGE[True], page),
    }


async def explain(
    connection: AsyncConnection, statement: Select[Any], params: dict[str, Any]
) -> str:
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    values = compiled.construct_params(params)
    assert values is not None
    processors: dict[str, Any] = dict(compiled._bind_processors)
    arguments = tuple(
        processors[name](values[name]) if name in processors else values[name]
        for name in compiled.positiontup or ()
    )
    prefix = "EXPLAIN" if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    result = await connection.exec_driver_sql(f"{prefix} {compiled.string}", arguments)
    rows = result.all()
    if dialect.name == "postgresql":
        return "\n".join(row[0] for row in rows)
    return "\n".join(str(row[-1]) for row in rows)


async def print_plans(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            orders = await connection.scalar(text("SELECT count(*) FROM orders"))
            print(f"{engine.dialect.name}, {orders:,} orders\n")
            for name, (statement, params) in statements().items():
                print(f"-- {name}")
                print(await explain(connection, statement, params))
                print()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(print_plans(sys.argv[1]))
