"""Where SQLite statements run: reads on the event loop's thread, writes on aiosqlite's.

These tests open a SQLite database of their own (in both passes of the suite: the
PostgreSQL pass included), since the behaviour is SQLite's alone.
"""

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from app.config import Settings
from app.db import Database
from tests.conftest import TEST_SECRET_KEY

THREAD_OF_STATEMENT = text("SELECT thread_of_statement()")


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.from_settings(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'threads.db'}",
            secret_key=TEST_SECRET_KEY,
        )
    )

    @event.listens_for(database.engine.sync_engine, "connect")
    def add_thread_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(
            lambda driver: driver.create_function("thread_of_statement", 0, threading.get_ident)
        )

    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    yield database
    await database.dispose()


async def test_a_read_session_runs_its_selects_on_the_event_loops_thread(
    sqlite: Database,
) -> None:
    async with sqlite.read_sessions() as session:
        assert await session.scalar(THREAD_OF_STATEMENT) == threading.get_ident()


async def test_a_write_session_runs_its_statements_on_the_connections_own_thread(
    sqlite: Database,
) -> None:
    async with sqlite.write_sessions() as session:
        thread = await session.scalar(THREAD_OF_STATEMENT)
    assert thread is not None
    assert thread != threading.get_ident()


async def test_a_read_neither_waits_for_nor_sees_a_write_in_progress(sqlite: Database) -> None:
    async with sqlite.write_sessions() as writer:
        await writer.execute(text("INSERT INTO notes (id) VALUES (1)"))  # holds the write lock
        async with sqlite.read_sessions() as reader:
            assert await reader.scalar(text("SELECT count(*) FROM notes")) == 0
        await writer.commit()
    async with sqlite.read_sessions() as reader:
        assert await reader.scalar(text("SELECT count(*) FROM notes")) == 1
