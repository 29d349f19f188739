"""Database trouble is a 503 with `Retry-After`, never a 500, and the app heals by itself.

Every cause of SPEC §11 that a test can bring about is brought about for real: on
PostgreSQL a database dropped under the running app, a role at its connection limit, a
read-only database, and a server stopped and started again (a throwaway server of the
test's own: the other tests share the main one); on SQLite a file whose mode is read-only
(served by an ordinary user: root writes through file modes). The causes a test cannot
make (a full disk, a crash) are checked by their codes, through the same one mapping
(`app.database_trouble`).
"""

import asyncio
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.main import create_app
from app.tables import metadata
from tests.conftest import PASSWORD, TEST_DATABASE_URL
from tests.live_server import free_port, live_server
from tests.schema_conformance import SchemaCheckedClient

UNAVAILABLE = "The database is unavailable; try again shortly"


def signup_body() -> dict[str, str]:
    return {
        "name": "Dora",
        "email": f"dora-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
    }


HEALTH_REASONS = frozenset(
    {
        "The SQLite database file is read-only",
        "The database does not answer",
        "The database refuses writes",
    }
)


def assert_unavailable(response: httpx.Response) -> None:
    """A clean 503 and a `Retry-After`: the one detail of every route (no SQL, no driver
    message), or the health check's status with its own short reason."""
    assert response.status_code == 503, response.text
    if response.request.url.path.startswith("/health"):
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["detail"] in HEALTH_REASONS
    else:
        assert response.json() == {"detail": UNAVAILABLE}
    assert int(response.headers["Retry-After"]) > 0


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with SchemaCheckedClient(app) as http:
        yield http


async def create_tables(app: FastAPI) -> None:
    async with app.state.db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


# ---------------------------------------------------------------- by code, on both databases


class DriverError(Exception):
    """A driver's error as asyncpg (`sqlstate`) or sqlite3 (`sqlite_errorcode`) has it."""

    def __init__(self, sqlstate: str | None = None, sqlite_errorcode: int | None = None) -> None:
        super().__init__("INSERT INTO users (email) VALUES ('secret@example.com')")
        if sqlstate is not None:
            self.sqlstate = sqlstate
        if sqlite_errorcode is not None:
            self.sqlite_errorcode = sqlite_errorcode


@pytest.fixture
def failing_execute(monkeypatch: pytest.MonkeyPatch) -> Callable[[BaseException], None]:
    """Call it with an error to make every later statement and commit raise it."""

    def arm(error: BaseException) -> None:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            raise error

        monkeypatch.setattr(AsyncSession, "execute", fail)
        monkeypatch.setattr(AsyncSession, "commit", fail)

    return arm


def driver_error(**code: Any) -> DBAPIError:
    return DBAPIError("INSERT INTO users ...", {"email": "secret"}, DriverError(**code))


POSTGRESQL_TROUBLE = {
    "08006": "connection failure",
    "08001": "cannot establish a connection",
    "53300": "too many connections",
    "53100": "disk full",
    "53200": "out of memory",
    "57P01": "admin shutdown",
    "57P02": "crash shutdown",
    "57P03": "cannot connect now (starting up, shutting down)",
    "3D000": "database does not exist",
    "25006": "read-only transaction",
}
SQLITE_TROUBLE = {
    sqlite3.SQLITE_READONLY: "read-only",
    sqlite3.SQLITE_READONLY_DBMOVED: "read-only, extended code",
    sqlite3.SQLITE_FULL: "disk full",
    sqlite3.SQLITE_CANTOPEN: "cannot open the file",
    sqlite3.SQLITE_IOERR: "I/O error",
    sqlite3.SQLITE_IOERR_WRITE: "I/O error, extended code",
}


@pytest.mark.parametrize("sqlstate", POSTGRESQL_TROUBLE, ids=POSTGRESQL_TROUBLE.values())
async def test_each_postgresql_trouble_code_is_a_503(
    app: FastAPI, failing_execute: Callable[[BaseException], None], sqlstate: str
) -> None:
    failing_execute(driver_error(sqlstate=sqlstate))
    async with client_of(app) as client:
        assert_unavailable(await client.get("/health"))


@pytest.mark.parametrize("code", SQLITE_TROUBLE, ids=SQLITE_TROUBLE.values())
async def test_each_sqlite_trouble_code_is_a_503(
    app: FastAPI, failing_execute: Callable[[BaseException], None], code: int
) -> None:
    failing_execute(driver_error(sqlite_errorcode=code))
    async with client_of(app) as client:
        assert_unavailable(await client.get("/health"))


@pytest.mark.parametrize(
    "error",
    [
        driver_error(sqlstate="42601"),
        driver_error(sqlstate="23505"),
        driver_error(sqlite_errorcode=sqlite3.SQLITE_ERROR),
        PermissionError(13, "Permission denied: 'static/swagger.js'"),
    ],
    ids=["syntax error", "unique violation", "sqlite error", "a file of the app"],
)
async def test_an_error_that_is_not_database_trouble_is_a_500(
    app: FastAPI, failing_execute: Callable[[BaseException], None], error: BaseException
) -> None:
    failing_execute(error)
    # A 500 is in no schema: the client that checks responses against it would refuse it.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/auth/signup", json=signup_body())

    assert response.status_code == 500


async def test_a_503_never_shows_the_statement_or_its_values(
    app: FastAPI, failing_execute: Callable[[BaseException], None]
) -> None:
    failing_execute(driver_error(sqlstate="25006"))
    async with client_of(app) as client:
        response = await client.post("/auth/signup", json=signup_body())

    assert_unavailable(response)
    assert "INSERT" not in response.text
    assert "secret" not in response.text


# ---------------------------------------------------------------- SQLite, for real

if TEST_DATABASE_URL is None:

    @pytest.fixture
    def shared_workdir() -> Iterator[Path]:
        """A directory an ordinary user may write to (pytest's own are root's alone)."""
        workdir = Path(tempfile.mkdtemp(prefix="orders-trouble-"))
        workdir.chmod(0o777)
        yield workdir
        shutil.rmtree(workdir, ignore_errors=True)

    def set_mode(database: Path, mode: int) -> None:
        """The mode of the database file and of its write-ahead log and shared memory."""
        for path in database.parent.glob(f"{database.name}*"):
            path.chmod(mode)

    def test_a_read_only_sqlite_file_is_503_and_served_again_once_writable(
        shared_workdir: Path,
    ) -> None:
        database = shared_workdir / "orders.db"
        url = f"sqlite+aiosqlite:///{database}"
        with live_server(url, shared_workdir / "first"):
            pass  # migrated: the file exists, with every table
        set_mode(database, 0o444)

        with live_server(
            url, shared_workdir / "read-only", unprivileged=True, wait_for_health=False
        ) as server:
            down = httpx.post(f"{server.base_url}/auth/signup", json=signup_body())
            set_mode(database, 0o666)
            # The request that meets a connection opened read-only renews the pool.
            back = [
                httpx.post(f"{server.base_url}/auth/signup", json=signup_body()) for _ in range(2)
            ]

        assert_unavailable(down)
        assert back[-1].status_code == 201, back[-1].text


# ---------------------------------------------------------------- PostgreSQL, for real

if TEST_DATABASE_URL is not None:
    SERVER = make_url(TEST_DATABASE_URL)

    async def on_server(statement: str) -> None:
        """Run one statement on the test server's `postgres` database, as its superuser."""
        connection = await asyncpg.connect(
            host=SERVER.host, port=SERVER.port, user=SERVER.username, database="postgres"
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    @dataclass
    class ScratchDatabase:
        name: str
        role: str | None = None

        def url(self) -> str:
            server = SERVER.set(database=self.name)
            if self.role is not None:
                server = server.set(username=self.role)
            return server.render_as_string(hide_password=False)

    @pytest.fixture
    async def scratch() -> AsyncIterator[ScratchDatabase]:
        """A database of its own (dropped by the tests), and a role a test may create."""
        database = ScratchDatabase(name=f"{SERVER.database}_trouble_{uuid.uuid4().hex[:8]}")
        await on_server(f'CREATE DATABASE "{database.name}"')
        yield database
        await on_server(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
        if database.role is not None:
            await on_server(f'DROP ROLE IF EXISTS "{database.role}"')

    @asynccontextmanager
    async def app_on(url: str, settings: Settings) -> AsyncIterator[FastAPI]:
        application = create_app(settings.model_copy(update={"database_url": url}))
        try:
            yield application
        finally:
            await application.state.db.dispose()

    async def test_a_database_dropped_under_the_running_app_is_503_until_it_is_back(
        scratch: ScratchDatabase, settings: Settings
    ) -> None:
        async with app_on(scratch.url(), settings) as app, client_of(app) as client:
            await create_tables(app)
            assert (await client.post("/auth/signup", json=signup_body())).status_code == 201

            await on_server(f'DROP DATABASE "{scratch.name}" WITH (FORCE)')
            down = [
                await client.get("/health"),
                await client.get("/products"),
                await client.post("/auth/signup", json=signup_body()),
            ]
            await on_server(f'CREATE DATABASE "{scratch.name}"')
            await create_tables(app)
            back = [
                await client.get("/health"),
                await client.post("/auth/signup", json=signup_body()),
            ]

        for response in down:
            assert_unavailable(response)
        assert [response.status_code for response in back] == [200, 201]

    async def test_a_role_at_its_connection_limit_is_503_until_a_connection_frees(
        scratch: ScratchDatabase, settings: Settings
    ) -> None:
        scratch.role = f"orders_limited_{uuid.uuid4().hex[:8]}"
        await on_server(f'CREATE ROLE "{scratch.role}" LOGIN CONNECTION LIMIT 1')
        await on_server(f'ALTER DATABASE "{scratch.name}" OWNER TO "{scratch.role}"')
        async with app_on(scratch.url(), settings) as app, client_of(app) as client:
            await create_tables(app)
            await app.state.db.engine.dispose()  # the app holds no connection now
            held = await asyncpg.connect(
                host=SERVER.host, port=SERVER.port, user=scratch.role, database=scratch.name
            )
            try:
                down = await client.get("/products")
            finally:
                await held.close()
            back = await served_within(client, "/products", seconds=10)

        assert_unavailable(down)
        assert back.status_code == 200

    async def served_within(client: httpx.AsyncClient, path: str, seconds: float) -> httpx.Response:
        """The first answer to GET `path` that is not a 503 (the server takes a moment to
        count a closed connection out), or the last 503."""
        for _ in range(int(seconds * 10)):
            response = await client.get(path)
            if response.status_code != 503:
                return response
            await asyncio.sleep(0.1)
        return response

    async def test_a_read_only_database_is_503_on_writes_and_takes_writes_once_writable(
        scratch: ScratchDatabase, settings: Settings
    ) -> None:
        async with app_on(scratch.url(), settings) as app, client_of(app) as client:
            await create_tables(app)
            await on_server(
                f'ALTER DATABASE "{scratch.name}" SET default_transaction_read_only = on'
            )
            await app.state.db.engine.dispose()  # new sessions take the database's default
            read = await client.get("/products")
            write = await client.post("/auth/signup", json=signup_body())
            await on_server(
                f'ALTER DATABASE "{scratch.name}" SET default_transaction_read_only = off'
            )
            back = await client.post("/auth/signup", json=signup_body())

        assert read.status_code == 200
        assert_unavailable(write)
        assert back.status_code == 201, back.text

    # -------------------------------------------------------- a server of the test's own

    @dataclass
    class ThrowawayServer:
        """A PostgreSQL server in a temporary directory, on a free port: started, stopped
        and started again by the test alone."""

        datadir: Path
        port: int
        as_postgres: list[str]
        pg_ctl: str

        def url(self) -> str:
            return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

        def control(self, *args: str) -> None:
            subprocess.run(  # noqa: S603 - PostgreSQL's own tool, fixed arguments
                [*self.as_postgres, self.pg_ctl, "-D", str(self.datadir), "-w", *args],
                check=True,
                capture_output=True,
                timeout=60,
            )

        def start(self) -> None:
            options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
            self.control("-l", str(self.datadir / "server.log"), "-o", options, "start")

        def stop(self) -> None:
            """As an operator does (`fast`): the server ends every session, then exits."""
            self.control("-m", "fast", "stop")

    def postgresql_bin(tool: str) -> str:
        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}")) or [shutil.which(tool)]
        if found[-1] is None:
            raise RuntimeError(f"PostgreSQL's {tool} is not installed (postgresql package)")
        return str(found[-1])

    @contextmanager
    def throwaway_server() -> Iterator[ThrowawayServer]:
        """initdb and start a server; PostgreSQL refuses to run as root, so as root the
        server runs as the `postgres` user (the `postgresql` package creates it)."""
        datadir = Path(tempfile.mkdtemp(prefix="orders-throwaway-pg-"))
        as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(datadir, "postgres", "postgres")
            as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run(  # noqa: S603 - PostgreSQL's own tool, fixed arguments
            [
                *as_postgres,
                postgresql_bin("initdb"),
                "-D",
                str(datadir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        server = ThrowawayServer(datadir, free_port(), as_postgres, postgresql_bin("pg_ctl"))
        server.start()
        try:
            yield server
        finally:
            subprocess.run(  # noqa: S603 - PostgreSQL's own tool, fixed arguments
                [*as_postgres, server.pg_ctl, "-D", str(datadir), "-m", "immediate", "stop"],
                check=False,
                capture_output=True,
                timeout=60,
            )
            shutil.rmtree(datadir, ignore_errors=True)

    async def test_postgresql_stopped_is_503_and_served_again_once_started(
        settings: Settings,
    ) -> None:
        with throwaway_server() as server:
            async with app_on(server.url(), settings) as app, client_of(app) as client:
                await create_tables(app)
                assert (await client.post("/auth/signup", json=signup_body())).status_code == 201

                server.stop()
                down = [
                    await client.get("/health"),
                    await client.get("/products"),
                    await client.post("/auth/signup", json=signup_body()),
                ]
                server.start()
                back = [
                    await client.get("/health"),
                    await client.post("/auth/signup", json=signup_body()),
                ]

        for response in down:
            assert_unavailable(response)
        assert [response.status_code for response in back] == [200, 201]
