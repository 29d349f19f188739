"""Read and write sessions, on both databases: a read runs outside any transaction (no
BEGIN or ROLLBACK to pay for), a write inside one, and a connection that served a write
goes back to the pool ready for a read."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Database
from app.tables import User
from tests.conftest import Account

SELECT_ONE = select(1)


async def _in_transaction(session: AsyncSession) -> bool:
    """Whether the driver connection under the session has a transaction open."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if connection.dialect.name == "postgresql":
        return bool(driver.is_in_transaction())  # type: ignore[union-attr]
    return bool(driver.in_transaction)  # type: ignore[union-attr]


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[Database]:
    """The suite's database through a pool of exactly one connection."""
    database = Database.from_settings(
        settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    )
    yield database
    await database.dispose()


async def test_a_read_session_runs_its_statements_outside_a_transaction(app: FastAPI) -> None:
    async with app.state.db.read_sessions() as session:
        await session.execute(SELECT_ONE)
        assert not await _in_transaction(session)


async def test_a_write_session_runs_its_statements_in_a_transaction(app: FastAPI) -> None:
    async with app.state.db.write_sessions() as session:
        await session.execute(SELECT_ONE)
        assert await _in_transaction(session)


async def test_a_write_that_is_not_committed_leaves_nothing_behind(app: FastAPI) -> None:
    async with app.state.db.write_sessions() as session:
        session.add(User(email="uncommitted@example.com", name="U", hashed_password="x"))
        await session.flush()
    async with app.state.db.read_sessions() as session:
        assert await session.scalar(select(User.id)) is None


async def test_a_connection_that_served_a_write_comes_back_ready_for_a_read(
    one_connection: Database,
) -> None:
    async with one_connection.write_sessions() as session:
        await session.execute(SELECT_ONE)
        await session.commit()
    async with one_connection.read_sessions() as session:
        await session.execute(SELECT_ONE)
        assert not await _in_transaction(session)


@pytest.mark.parametrize(
    ("method", "path", "body", "expected_status"),
    [
        ("GET", "/products", None, 200),
        ("POST", "/orders", {}, 201),
        ("POST", "/orders", {"items": [{"product_id": 999, "quantity": 1}]}, 404),
    ],
    ids=["read", "write", "write-refused-midway"],
)
async def test_a_request_gives_its_connection_back_to_the_pool(
    app: FastAPI,
    client: httpx.AsyncClient,
    customer: Account,
    method: str,
    path: str,
    body: dict[str, object] | None,
    expected_status: int,
) -> None:
    response = await client.request(method, path, json=body, headers=customer.headers)

    assert response.status_code == expected_status, response.text
    assert app.state.db.engine.pool.checkedout() == 0


async def test_a_request_reuses_the_session_an_earlier_request_closed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.get("/products")
    kept = app.state.db.idle_reads.take()
    app.state.db.idle_reads.give_back(kept)

    await client.get("/products")

    assert app.state.db.idle_reads.take() is kept


async def test_a_session_given_back_after_a_failed_write_comes_back_clean(app: FastAPI) -> None:
    idle = app.state.db.idle_writes
    session = idle.take()
    session.add(User(email="uncommitted@example.com", name="U", hashed_password="x"))
    await session.flush()
    await session.close()
    idle.give_back(session)

    again = idle.take()

    assert again is session
    assert not again.in_transaction()
    assert not again.new
    assert not again.identity_map
    assert await again.scalar(select(User.id)) is None
    await again.close()


async def test_no_more_sessions_are_kept_than_can_hold_a_connection(
    one_connection: Database,
) -> None:
    idle = one_connection.idle_reads
    first, second = one_connection.read_sessions(), one_connection.read_sessions()
    idle.give_back(first)
    idle.give_back(second)

    assert idle.take() is first
    assert idle.take() not in (first, second)
