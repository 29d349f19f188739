"""Fixtures: an app on a fresh database per test, an HTTP client, users and their tokens.

The suite runs on SQLite (a new file per test) unless TEST_DATABASE_URL points at a
PostgreSQL database, whose tables are then dropped and recreated for every test.
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from app.config import Settings
from app.main import create_app
from app.security import hash_password
from app.tables import Product, ProductPublic, User, metadata
from tests.mail_server import Mailbox, SMTPServer, smtp_server
from tests.schema_conformance import SchemaCheckedClient

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return TEST_DATABASE_URL or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        bcrypt_rounds=4,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.state.db.engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    yield application
    await application.state.mailer.close(grace=0)  # a test waits for the mail it expects
    await application.state.db.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app that checks every response against the OpenAPI schema."""
    async with SchemaCheckedClient(app) as http:
        yield http


# ---------------------------------------------------------------- mail


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server on a free port, keeping what it receives."""
    with smtp_server() as server:
        yield server


def sending_to(settings: Settings, server: SMTPServer) -> Settings:
    """`settings` with mail sent to `server`, in the security it speaks."""
    return settings.model_copy(
        update={
            "smtp_host": server.host,
            "smtp_port": server.port,
            "smtp_security": server.security,
        }
    )


async def delivered(app: FastAPI, smtp: SMTPServer) -> Mailbox:
    """The test server's mailbox once every mail the app has started sending is delivered."""
    await app.state.mailer.drain()
    return smtp.mailbox


@dataclass
class Account:
    """A user in the database, with the password it was made with and its bearer header."""

    id: int
    email: str
    password: str
    headers: dict[str, str]


CreateUser = Callable[..., Awaitable[Account]]


@pytest.fixture
def create_user(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> CreateUser:
    """Factory: `await create_user(email=..., is_admin=True, log_in=False)`."""
    counter = 0

    async def factory(
        *,
        email: str | None = None,
        name: str = "Test User",
        password: str = PASSWORD,
        is_admin: bool = False,
        is_active: bool = True,
        log_in: bool = True,
    ) -> Account:
        nonlocal counter
        counter += 1
        email = email or f"user{counter}@example.com"
        hashed = await hash_password(password, settings.bcrypt_rounds)
        async with app.state.db.write_sessions() as session:
            user = User(
                name=name,
                email=email,
                hashed_password=hashed,
                is_admin=is_admin,
                is_active=is_active,
            )
            session.add(user)
            await session.commit()
            assert user.id is not None
        headers = await login_headers(client, email, password) if log_in else {}
        return Account(id=user.id, email=email, password=password, headers=headers)

    return factory


async def login_headers(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def customer(create_user: CreateUser) -> Account:
    return await create_user(email="customer@example.com", name="Carla Customer")


@pytest.fixture
async def admin(create_user: CreateUser) -> Account:
    return await create_user(email="admin@example.com", name="Ada Admin", is_admin=True)


def detail_of(response: httpx.Response) -> Any:
    return response.json()["detail"]


# ---------------------------------------------------------------- menu and orders


CreateProduct = Callable[..., Awaitable[ProductPublic]]


@pytest.fixture
def create_product(app: FastAPI) -> CreateProduct:
    """Factory: `await create_product(name=..., price_cents=..., is_available=False)`."""
    counter = 0

    async def factory(
        *,
        name: str | None = None,
        price_cents: int = 1000,
        description: str = "",
        is_available: bool = True,
    ) -> ProductPublic:
        nonlocal counter
        counter += 1
        async with app.state.db.write_sessions() as session:
            product = Product(
                name=name or f"Product {counter}",
                description=description,
                price_cents=price_cents,
                is_available=is_available,
            )
            session.add(product)
            await session.commit()
            return ProductPublic.model_validate(product)

    return factory


@pytest.fixture
async def product(create_product: CreateProduct) -> ProductPublic:
    return await create_product(name="Margherita", price_cents=900)


async def open_order(
    client: httpx.AsyncClient, account: Account, *lines: tuple[int, int]
) -> dict[str, Any]:
    """`POST /orders` as `account` with `(product_id, quantity)` lines; the created order."""
    body = {"items": [{"product_id": pid, "quantity": qty} for pid, qty in lines]}
    response = await client.post("/orders", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


@pytest.fixture
def sent_to_asyncpg(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements sent with asyncpg's `Connection.fetch`, the call of the direct path
    of `app.db.read_rows` and `write_rows` (SQLAlchemy's adapter runs prepared statements
    instead)."""
    sent: list[str] = []
    fetch = asyncpg.Connection.fetch

    async def record_and_fetch(self: asyncpg.Connection, query: str, *args: Any) -> Any:
        sent.append(query)
        return await fetch(self, query, *args)

    monkeypatch.setattr(asyncpg.Connection, "fetch", record_and_fetch)
    return sent


@contextmanager
def count_statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app sends to the database inside the `with` block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
