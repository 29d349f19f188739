"""GET /health: 200 while the database answers, 503 when it does not."""

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import make_url, text

from app.config import Settings
from app.main import create_app
from tests.schema_conformance import SchemaCheckedClient


def closed_port() -> int:
    """A local TCP port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_health_is_200_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"Authorization": "Bearer garbage"})

    assert response.status_code == 200


async def test_health_is_503_when_the_sqlite_file_cannot_be_opened(
    tmp_path: Path, settings: Settings
) -> None:
    """The database path is a directory: SQLite cannot open it."""
    broken = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path}"})

    response = await get_health(create_app(broken))

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "detail": "The database does not answer"}
    assert response.headers["Retry-After"] == "5"


async def test_health_is_503_when_postgresql_is_not_listening(settings: Settings) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/orders"
    broken = settings.model_copy(update={"database_url": url})

    response = await get_health(create_app(broken))

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "detail": "The database does not answer"}
    assert response.headers["Retry-After"] == "5"


async def test_a_protected_route_is_503_not_500_when_the_database_is_down(
    tmp_path: Path, settings: Settings
) -> None:
    broken = create_app(
        settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path}"})
    )
    async with SchemaCheckedClient(broken) as client:
        response = await client.post(
            "/auth/login", json={"email": "carla@example.com", "password": "whatever1"}
        )
    await broken.state.db.dispose()

    assert response.status_code == 503


async def get_health(application: FastAPI, path: str = "/health") -> httpx.Response:
    try:
        async with SchemaCheckedClient(application) as client:
            return await client.get(path)
    finally:
        await application.state.db.dispose()


def test_openapi_declares_the_503_of_health(app: FastAPI) -> None:
    responses = app.openapi()["paths"]["/health"]["get"]["responses"]

    assert set(responses) == {"200", "503"}
    assert responses["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Unavailable"
    }


async def test_live_is_200_without_asking_the_database(tmp_path: Path, settings: Settings) -> None:
    broken = create_app(
        settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path}"})
    )
    async with SchemaCheckedClient(broken) as client:
        response = await client.get("/health/live")
    await broken.state.db.dispose()

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_is_200_when_the_database_reads_and_writes(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_is_503_when_the_database_refuses_writes(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    """The database answers reads, but not the write probe."""
    async with read_only(app, settings, tmp_path) as read_only_settings:
        response = await get_health(create_app(read_only_settings), "/health/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "detail": "The database refuses writes"}
    assert response.headers["Retry-After"] == "5"


@asynccontextmanager
async def read_only(app: FastAPI, settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings whose database refuses writes: PostgreSQL's test database set read-only
    for new sessions (as a standby is), or a SQLite file opened read-only."""
    if not settings.is_sqlite:
        name = make_url(settings.database_url).database
        async with app.state.db.engine.connect() as connection:
            await connection.exec_driver_sql(
                f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'
            )
        try:
            yield settings
        finally:
            async with app.state.db.engine.connect() as connection:
                await connection.exec_driver_sql(
                    f'ALTER DATABASE "{name}" RESET default_transaction_read_only'
                )
        return
    path = make_url(settings.database_url).database
    url = f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true"
    yield settings.model_copy(update={"database_url": url})


async def test_the_write_probe_leaves_no_trace(client: httpx.AsyncClient, app: FastAPI) -> None:
    await client.get("/health/ready")

    async with app.state.db.read_sessions() as session:
        users = await session.scalar(text("SELECT count(*) FROM users"))
    assert users == 0
