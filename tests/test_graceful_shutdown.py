"""Graceful shutdown (SPEC §11): on SIGTERM a real server stops accepting, lets the requests
in flight finish, and exits 0; no write it acknowledged is lost, none is half done.

A real server (`python -m app serve`, uvicorn) takes a stream of concurrent `POST /orders`
(each an order of one line); SIGTERM arrives in the middle. Afterwards the database is
read directly: every order acknowledged with a 201 is there, whole.
"""

import asyncio
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import PASSWORD, TEST_DATABASE_URL
from tests.live_server import LiveServer, live_server

WRITERS = 16
LOAD_TIMEOUT_SECONDS = 60
ADMIN_EMAIL = "admin@shutdown.example.com"
ADMIN_PASSWORD = "shutdown-admin-password"
PRICE_CENTS = 1250
QUANTITY = 2


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="orders-shutdown-") as scratch:
        yield Path(scratch)


@pytest.fixture
async def database_url(workdir: Path) -> AsyncIterator[str]:
    """An empty database for the server to migrate: a SQLite file, or, when the suite runs
    on PostgreSQL, a database of the test's own on that server."""
    if TEST_DATABASE_URL is None:
        yield f"sqlite+aiosqlite:///{workdir / 'shutdown.db'}"
        return
    server = make_url(TEST_DATABASE_URL)
    name = f"{server.database}_shutdown_{uuid.uuid4().hex[:8]}"
    await on_server(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    await on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def on_server(statement: str) -> None:
    assert TEST_DATABASE_URL is not None
    server = make_url(TEST_DATABASE_URL)
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.username, database="postgres"
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def prepare(server: LiveServer, client: httpx.AsyncClient) -> tuple[dict[str, str], int]:
    """A customer's bearer header, and a product on the menu."""
    server.cli("create-admin", "--email", ADMIN_EMAIL, "--name", "Shutdown Admin")
    admin = await bearer(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    product = await client.post(
        "/products", json={"name": "Calzone", "price_cents": PRICE_CENTS}, headers=admin
    )
    assert product.status_code == 201, product.text
    customer = {"name": "Cleo", "email": "cleo@example.com", "password": PASSWORD}
    assert (await client.post("/auth/signup", json=customer)).status_code == 201
    return await bearer(client, customer["email"], PASSWORD), product.json()["id"]


async def bearer(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def write_until_refused(
    client: httpx.AsyncClient, headers: dict[str, str], product_id: int, acknowledged: list[int]
) -> None:
    """POST /orders in a loop until the server stops answering, noting each order id it
    acknowledged in `acknowledged` (shared by every writer)."""
    body = {"items": [{"product_id": product_id, "quantity": QUANTITY}]}
    while True:
        try:
            response = await client.post("/orders", json=body, headers=headers)
        except httpx.TransportError:
            return  # refused, or cut before an answer: not acknowledged
        if response.is_success:
            acknowledged.append(response.json()["id"])
        else:
            assert response.status_code == 503, response.text


async def under_load(acknowledged: list[int]) -> None:
    """Until as many writes as there are writers are acknowledged: the load is on."""
    for _ in range(LOAD_TIMEOUT_SECONDS * 20):
        if len(acknowledged) >= WRITERS:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the writes did not get going")


async def orders_in_database(database_url: str) -> dict[int, tuple[int, int, int]]:
    """Each order's id: its total, the sum of its lines and its number of lines."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT o.id, o.total_cents, COALESCE(SUM(i.line_total_cents), 0),"
                    " COUNT(i.id) FROM orders o LEFT JOIN order_items i ON i.order_id = o.id"
                    " GROUP BY o.id, o.total_cents"
                )
            )
            return {row[0]: (row[1], row[2], row[3]) for row in rows}
    finally:
        await engine.dispose()


async def test_sigterm_under_writes_exits_0_and_loses_no_acknowledged_write(
    workdir: Path, database_url: str
) -> None:
    with live_server(database_url, workdir, ADMIN_PASSWORD=ADMIN_PASSWORD) as server:
        limits = httpx.Limits(max_connections=WRITERS)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60) as client:
            headers, product_id = await prepare(server, client)
            acknowledged: list[int] = []
            writers = [
                asyncio.create_task(write_until_refused(client, headers, product_id, acknowledged))
                for _ in range(WRITERS)
            ]
            await under_load(acknowledged)
            started = time.monotonic()
            exit_code = await asyncio.to_thread(server.stop, signal.SIGTERM)
            shutdown_seconds = time.monotonic() - started
            await asyncio.gather(*writers)

    stored = await orders_in_database(database_url)
    whole_order = (PRICE_CENTS * QUANTITY, PRICE_CENTS * QUANTITY, 1)
    assert exit_code == 0, server.log()
    assert shutdown_seconds < 20
    assert set(acknowledged) <= set(stored)
    assert {order: stored[order] for order in acknowledged} == dict.fromkeys(
        acknowledged, whole_order
    )
    assert set(stored.values()) == {whole_order}  # none half done, acknowledged or not
