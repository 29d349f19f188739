"""`app.db.write_rows`: an INSERT, UPDATE or DELETE in the session's transaction, straight to
asyncpg once SQLAlchemy has begun that transaction, and otherwise through SQLAlchemy.

Everywhere: the rows of its RETURNING, none without one; the write commits or rolls back
with the transaction; a broken constraint is an `IntegrityError`. On PostgreSQL
(TEST_DATABASE_URL): which statements go to the driver. The app here has its fast paths
on, whatever FAST_PATHS says.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import read_rows, write_rows
from app.services.orders.changes import LINE_VALUES, REFRESH_TOTAL
from app.tables import ITEMS, ORDERS, ProductPublic
from app.timestamps import utcnow
from tests.conftest import TEST_DATABASE_URL, Account, open_order

RENAME_LINE = (
    update(ITEMS)
    .where(ITEMS.c.order_id == bindparam("in_order"))
    .values(product_name=bindparam("name"))
    .returning(ITEMS.c.id, ITEMS.c.product_name)
)
TOTAL = select(ORDERS.c.total_cents).where(ORDERS.c.id == bindparam("order_id"))
ADD_LINE = insert(ITEMS).values(LINE_VALUES)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"fast_paths": True})


@pytest.fixture
async def order(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> dict[str, Any]:
    return await open_order(client, customer, (product.id, 2))


@pytest.fixture
async def writer(app: FastAPI, order: dict[str, Any]) -> AsyncIterator[AsyncSession]:
    """A write session whose transaction has begun (its first statement ran), once the
    order is in place (on SQLite a write session holds the one write lock)."""
    async with app.state.db.write_sessions() as session:
        await session.execute(select(1))
        yield session


async def test_write_rows_gives_the_rows_of_its_returning(
    writer: AsyncSession, order: dict[str, Any]
) -> None:
    rows = await write_rows(writer, RENAME_LINE, {"in_order": order["id"], "name": "Renamed"})

    assert [tuple(row) for row in rows] == [(order["items"][0]["id"], "Renamed")]


async def test_write_rows_of_a_statement_without_returning_gives_none(
    writer: AsyncSession, order: dict[str, Any]
) -> None:
    rows = await write_rows(writer, REFRESH_TOTAL, {"order_id": order["id"], "now": utcnow()})

    assert list(rows) == []


async def test_a_write_rolls_back_with_its_transaction(
    app: FastAPI, writer: AsyncSession, order: dict[str, Any]
) -> None:
    await write_rows(writer, RENAME_LINE, {"in_order": order["id"], "name": "Renamed"})
    seen_inside = await read_rows(writer, TOTAL, {"order_id": order["id"]})
    await writer.rollback()

    async with app.state.db.read_sessions() as reader:
        lines = await reader.execute(select(ITEMS.c.product_name))
    assert [name for (name,) in lines] == [order["items"][0]["product_name"]]
    assert [tuple(row) for row in seen_inside] == [(order["total_cents"],)]


async def test_a_write_commits_with_its_transaction(
    app: FastAPI, writer: AsyncSession, order: dict[str, Any]
) -> None:
    await write_rows(writer, RENAME_LINE, {"in_order": order["id"], "name": "Renamed"})
    await writer.commit()

    async with app.state.db.read_sessions() as reader:
        lines = await reader.execute(select(ITEMS.c.product_name))
    assert [name for (name,) in lines] == ["Renamed"]


async def test_a_broken_constraint_is_an_integrity_error(
    writer: AsyncSession, product: ProductPublic
) -> None:
    line = {
        "order_id": 2**31 - 1,  # no such order
        "product_id": product.id,
        "product_name": product.name,
        "unit_price_cents": product.price_cents,
        "quantity": 1,
        "line_total_cents": product.price_cents,
    }

    with pytest.raises(IntegrityError):
        await write_rows(writer, ADD_LINE, line)


if TEST_DATABASE_URL is not None:

    async def test_a_write_in_a_begun_transaction_goes_straight_to_asyncpg(
        writer: AsyncSession, order: dict[str, Any], sent_to_asyncpg: list[str]
    ) -> None:
        await write_rows(writer, RENAME_LINE, {"in_order": order["id"], "name": "Renamed"})

        assert [query.split()[0] for query in sent_to_asyncpg] == ["UPDATE"]

    async def test_the_first_statement_of_a_write_session_goes_through_sqlalchemy(
        app: FastAPI, order: dict[str, Any], sent_to_asyncpg: list[str]
    ) -> None:
        async with app.state.db.write_sessions() as session:
            rows = await write_rows(
                session, RENAME_LINE, {"in_order": order["id"], "name": "Renamed"}
            )
            await session.rollback()

        assert len(rows) == 1
        assert sent_to_asyncpg == []
