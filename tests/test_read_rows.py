"""`app.db.read_rows`: the rows of the hot reads, straight from asyncpg where it can, and
otherwise through SQLAlchemy, always the rows `session.execute(...).all()` gives.

Everywhere: the same rows as SQLAlchemy's. On PostgreSQL (TEST_DATABASE_URL): which
reads go to the driver, which stay with SQLAlchemy, and how a driver error is reported
(once, as SQLAlchemy reports it). The app here has its fast paths on, whatever
FAST_PATHS says: the direct path is what these tests are about.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, NoReturn

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Float, Row, Select, bindparam, func, literal_column, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Database, read_rows
from app.services.orders.reads import EVERYONES_PAGE, OWN_PAGE, READ_ORDER
from app.services.products import MENU_PAGE
from app.tables import ORDERS, OrderStatus, ProductPublic
from tests.conftest import TEST_DATABASE_URL, Account, count_statements, open_order

pytestmark = pytest.mark.usefixtures("orders")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"fast_paths": True})


PARAMS = {
    "caller_id": 0,  # set per test
    "order_id": 0,
    "limit": 20,
    "offset": 0,
    "status": OrderStatus.PENDING,
    "user_id": 0,
    "count_user_id": 0,
    "count_status": "",
    "after_created_at": datetime(2100, 1, 1, tzinfo=UTC),  # after it: every order
    "after_id": 0,
}


@pytest.fixture
async def orders(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> list[dict[str, Any]]:
    return [await open_order(client, customer, (product.id, quantity)) for quantity in (1, 2)]


@pytest.fixture
def params(customer: Account, orders: list[dict[str, Any]]) -> dict[str, Any]:
    return {**PARAMS, "caller_id": customer.id, "user_id": customer.id, "order_id": orders[0]["id"]}


@pytest.fixture
async def reader(app: FastAPI) -> AsyncIterator[AsyncSession]:
    async with app.state.db.read_sessions() as session:
        yield session


HOT_READS = {
    "menu": MENU_PAGE[False, False],
    "menu by cursor": MENU_PAGE[False, True],
    "order": READ_ORDER,
    "own page": OWN_PAGE[False, False, False],
    "own page by status and user": OWN_PAGE[True, True, False],
    "own page by cursor": OWN_PAGE[False, False, True],
    "everyone's page by status": EVERYONES_PAGE[True, False, False],
    "everyone's page by status and cursor": EVERYONES_PAGE[True, False, True],
}


@pytest.mark.parametrize("statement", HOT_READS.values(), ids=HOT_READS.keys())
async def test_read_rows_gives_the_rows_sqlalchemy_gives(
    reader: AsyncSession, params: dict[str, Any], statement: Select[Any]
) -> None:
    rows = await read_rows(reader, statement, params)
    expected = (await reader.execute(statement, params)).all()

    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert rows


if TEST_DATABASE_URL is not None:

    @pytest.mark.parametrize("statement", HOT_READS.values(), ids=HOT_READS.keys())
    async def test_a_hot_read_goes_straight_to_asyncpg(
        reader: AsyncSession, params: dict[str, Any], statement: Select[Any]
    ) -> None:
        rows = await read_rows(reader, statement, params)

        assert all(isinstance(row, asyncpg.Record) for row in rows)

    async def test_a_read_in_a_write_session_goes_through_sqlalchemy(
        app: FastAPI, params: dict[str, Any]
    ) -> None:
        async with app.state.db.write_sessions() as writer:
            rows = await read_rows(writer, READ_ORDER, params)

        assert rows
        assert all(isinstance(row, Row) for row in rows)

    async def test_reads_go_through_sqlalchemy_while_statements_are_watched(
        app: FastAPI, reader: AsyncSession, params: dict[str, Any]
    ) -> None:
        with count_statements(app) as statements:
            rows = await read_rows(reader, READ_ORDER, params)

        assert all(isinstance(row, Row) for row in rows)
        assert len(statements) == 1

    async def test_a_column_that_sqlalchemy_converts_is_read_through_it(
        reader: AsyncSession, params: dict[str, Any]
    ) -> None:
        statuses = select(ORDERS.c.status).where(ORDERS.c.id == bindparam("order_id"))

        rows = await read_rows(reader, statuses, params)

        assert [tuple(row) for row in rows] == [(OrderStatus.PENDING,)]

    async def test_a_statement_with_an_in_list_is_read_through_sqlalchemy(
        reader: AsyncSession, orders: list[dict[str, Any]]
    ) -> None:
        in_list = ORDERS.c.id.in_(bindparam("ids", expanding=True))
        ids = select(ORDERS.c.id).where(in_list).order_by(ORDERS.c.id)

        rows = await read_rows(reader, ids, {"ids": [order["id"] for order in orders]})

        assert [tuple(row) for row in rows] == [(order["id"],) for order in orders]

    DIVISION_BY_ZERO = select(literal_column("1") / bindparam("zero"))

    @pytest.fixture
    def no_read_through_sqlalchemy(
        monkeypatch: pytest.MonkeyPatch, orders: list[dict[str, Any]]
    ) -> None:
        """Fail the test if a read goes (or goes again) through `AsyncSession.execute`
        (once the orders are in place)."""

        async def run_again(*_args: Any, **_kwargs: Any) -> NoReturn:
            raise AssertionError("the read ran through SQLAlchemy")

        monkeypatch.setattr(AsyncSession, "execute", run_again)

    async def test_a_driver_error_is_reported_as_sqlalchemy_reports_it(
        reader: AsyncSession,
    ) -> None:
        with pytest.raises(DBAPIError) as from_sqlalchemy:
            await reader.execute(DIVISION_BY_ZERO, {"zero": 0})

        with pytest.raises(DBAPIError, match="division by zero") as from_read_rows:
            await read_rows(reader, DIVISION_BY_ZERO, {"zero": 0})

        assert type(from_read_rows.value) is type(from_sqlalchemy.value)
        assert type(from_read_rows.value.orig) is type(from_sqlalchemy.value.orig)

    @pytest.mark.usefixtures("no_read_through_sqlalchemy")
    async def test_a_failing_read_runs_once(
        reader: AsyncSession, sent_to_asyncpg: list[str]
    ) -> None:
        with pytest.raises(DBAPIError):
            await read_rows(reader, DIVISION_BY_ZERO, {"zero": 0})

        assert len(sent_to_asyncpg) == 1

    @pytest.mark.usefixtures("no_read_through_sqlalchemy")
    async def test_a_read_that_times_out_is_not_run_again(
        reader: AsyncSession, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def time_out(*_args: Any, **_kwargs: Any) -> NoReturn:
            raise TimeoutError

        monkeypatch.setattr(asyncpg.Connection, "fetch", time_out)

        with pytest.raises(TimeoutError):
            await read_rows(reader, READ_ORDER, params)

    @pytest.mark.usefixtures("no_read_through_sqlalchemy")
    async def test_a_connection_lost_in_a_direct_read_is_reported_invalidated(
        app: FastAPI,
    ) -> None:
        terminate_itself = select(func.pg_terminate_backend(func.pg_backend_pid()))

        async with app.state.db.read_sessions() as session:
            with pytest.raises(DBAPIError) as lost:
                await read_rows(session, terminate_itself, {})

        assert lost.value.connection_invalidated

    async def test_after_a_connection_lost_in_a_direct_read_the_pool_serves_again(
        settings: Settings,
    ) -> None:
        database = Database.from_settings(
            settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
        )
        terminate_itself = select(func.pg_terminate_backend(func.pg_backend_pid()))
        try:
            async with database.read_sessions() as session:
                with pytest.raises(DBAPIError):
                    await read_rows(session, terminate_itself, {})
            async with database.read_sessions() as session:  # on the pool's one connection
                rows = await read_rows(session, select(literal_column("1")), {})
        finally:
            await database.dispose()

        assert [tuple(row) for row in rows] == [(1,)]

    async def test_a_cancelled_read_leaves_its_connection_fit_for_the_next(
        settings: Settings,
    ) -> None:
        database = Database.from_settings(
            settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
        )
        a_long_sleep = select(func.pg_sleep(bindparam("seconds", type_=Float)))

        async def read_slowly() -> None:
            async with database.read_sessions() as session:
                await read_rows(session, a_long_sleep, {"seconds": 5.0})

        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(read_slowly(), timeout=0.2)
            async with database.read_sessions() as session:  # on the pool's one connection
                rows = await read_rows(session, select(literal_column("1")), {})
        finally:
            await database.dispose()

        assert [tuple(row) for row in rows] == [(1,)]
