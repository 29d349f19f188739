"""SQLite specifics: where the one-trip dialect runs statements (on the event loop's
thread, but for what can wait: BEGIN IMMEDIATE, COMMIT and ROLLBACK go to aiosqlite's),
how writers wait for the lock, and how timestamps are read back.

These tests open a SQLite database of their own (in both passes of the suite: the
PostgreSQL pass included), since the behaviour is SQLite's alone.
"""

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, event, select, text

from app.config import Settings
from app.db import Database
from app.sqlite_tuning import SQLITE_BUSY_TIMEOUT_MS
from app.timestamps import UTCDateTime

THREAD_OF_STATEMENT = text("SELECT thread_of_statement()")
ADD_NOTE = text("INSERT INTO notes (id) VALUES (1)")
COUNT_NOTES = text("SELECT count(*) FROM notes")
BUSY_TIMEOUT = text("PRAGMA busy_timeout")


async def own_sqlite(settings: Settings, path: Path, fast_paths: bool) -> Database:
    database = Database.from_settings(
        settings.model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{path}", "fast_paths": fast_paths}
        )
    )

    @event.listens_for(database.engine.sync_engine, "connect")
    def add_thread_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(
            lambda driver: driver.create_function("thread_of_statement", 0, threading.get_ident)
        )

    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    return database


@pytest.fixture
async def sqlite(settings: Settings, tmp_path: Path) -> AsyncIterator[Database]:
    """With the fast paths as the suite runs them (FAST_PATHS)."""
    database = await own_sqlite(settings, tmp_path / "own.db", settings.fast_paths)
    yield database
    await database.dispose()


@pytest.fixture
async def one_trip_sqlite(settings: Settings, tmp_path: Path) -> AsyncIterator[Database]:
    """With the one-trip dialect, whatever FAST_PATHS says: where statements run is its doing."""
    database = await own_sqlite(settings, tmp_path / "own.db", fast_paths=True)
    yield database
    await database.dispose()


@pytest.fixture
def other_process(sqlite: Database) -> Iterator[sqlite3.Connection]:
    """A connection of its own (as another process's would be) that holds the write lock
    until the test ends it with ROLLBACK, and is closed in any case."""
    holder = sqlite3.connect(str(sqlite.engine.url.database), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


async def test_a_read_session_runs_its_selects_on_the_event_loops_thread(
    one_trip_sqlite: Database,
) -> None:
    async with one_trip_sqlite.read_sessions() as session:
        assert await session.scalar(THREAD_OF_STATEMENT) == threading.get_ident()


async def test_statements_inside_a_write_transaction_run_on_the_event_loops_thread(
    one_trip_sqlite: Database,
) -> None:
    async with one_trip_sqlite.write_sessions() as session:
        assert await session.scalar(THREAD_OF_STATEMENT) == threading.get_ident()


async def test_a_writer_waiting_for_another_connections_lock_leaves_the_event_loop_free(
    sqlite: Database, other_process: sqlite3.Connection
) -> None:
    async def write() -> None:
        async with sqlite.write_sessions() as session:
            await session.execute(ADD_NOTE)
            await session.commit()

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.2)  # the writer's BEGIN IMMEDIATE is waiting for the lock
    async with sqlite.read_sessions() as reader:
        assert await reader.scalar(COUNT_NOTES) == 0
    assert not writer.done()
    other_process.execute("ROLLBACK")
    await writer
    async with sqlite.read_sessions() as reader:
        assert await reader.scalar(COUNT_NOTES) == 1


async def test_a_read_neither_waits_for_nor_sees_a_write_in_progress(sqlite: Database) -> None:
    async with sqlite.write_sessions() as writer:
        await writer.execute(ADD_NOTE)  # holds the write lock
        async with sqlite.read_sessions() as reader:
            assert await reader.scalar(COUNT_NOTES) == 0
        await writer.commit()
    async with sqlite.read_sessions() as reader:
        assert await reader.scalar(COUNT_NOTES) == 1


async def test_a_write_that_began_at_once_keeps_its_connections_busy_timeout(
    sqlite: Database,
) -> None:
    async with sqlite.write_sessions() as session:
        await session.execute(ADD_NOTE)
        assert await session.scalar(BUSY_TIMEOUT) == SQLITE_BUSY_TIMEOUT_MS


async def test_a_write_that_waited_for_the_lock_keeps_its_connections_busy_timeout(
    sqlite: Database, other_process: sqlite3.Connection
) -> None:
    async with sqlite.write_sessions() as session:
        waiting = asyncio.create_task(session.execute(ADD_NOTE))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        other_process.execute("ROLLBACK")
        await waiting
        assert await session.scalar(BUSY_TIMEOUT) == SQLITE_BUSY_TIMEOUT_MS


STAMPS = Table(
    "stamps",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
)


@pytest.mark.parametrize(
    "stored",
    [
        "2026-07-31 14:13:00.880180",  # as SQLAlchemy writes it: UTC, no offset
        "2026-07-31T14:13:00.880180Z",
        "2026-07-31 16:13:00.880180+02:00",
    ],
)
async def test_a_timestamp_is_read_back_from_sqlite_as_an_aware_utc_datetime(
    sqlite: Database, stored: str
) -> None:
    async with sqlite.engine.begin() as connection:
        await connection.run_sync(STAMPS.metadata.create_all)
        await connection.execute(
            text("INSERT INTO stamps (id, at) VALUES (1, :at)"), {"at": stored}
        )
    async with sqlite.read_sessions() as session:
        read = await session.scalar(select(STAMPS.c.at))
    assert read == datetime(2026, 7, 31, 14, 13, 0, 880180, tzinfo=UTC)
    assert read is not None
    assert read.tzinfo is UTC


async def test_a_timestamp_written_to_sqlite_reads_back_the_same(sqlite: Database) -> None:
    written = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    async with sqlite.engine.begin() as connection:
        await connection.run_sync(STAMPS.metadata.create_all)
        await connection.execute(STAMPS.insert().values(id=1, at=written))
    async with sqlite.read_sessions() as session:
        assert await session.scalar(select(STAMPS.c.at)) == written


async def test_a_timestamp_read_again_from_sqlite_is_the_memos_object(sqlite: Database) -> None:
    async with sqlite.engine.begin() as connection:
        await connection.run_sync(STAMPS.metadata.create_all)
        await connection.execute(STAMPS.insert().values(id=1, at=datetime(2026, 1, 2, tzinfo=UTC)))
    async with sqlite.read_sessions() as session:
        first = await session.scalar(select(STAMPS.c.at))
        again = await session.scalar(select(STAMPS.c.at))

    assert first is not None
    assert again is first  # parsed once, not once per read


async def test_a_timestamp_reads_back_from_the_database_as_an_aware_utc_datetime(
    app: FastAPI,
) -> None:
    """On either database (the suite's), whatever offset it was written with."""
    written = datetime(2026, 7, 31, 16, 13, 0, 880180, tzinfo=timezone(timedelta(hours=2)))
    async with app.state.db.read_sessions() as session:
        read = await session.scalar(select(bindparam("at", written, type_=UTCDateTime())))
    assert read == written
    assert read is not None
    assert read.tzinfo is UTC
