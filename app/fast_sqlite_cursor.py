"""Fast path: aiosqlite with one round trip per statement, most statements run in place.

aiosqlite runs each connection on a thread of its own, and every call to it is a round
trip to that thread: a hand-off the event loop pays for in wake-ups and context switches,
and, on a busy machine, in waiting for the thread to be scheduled. SQLAlchemy's adapter
makes four per statement (open a cursor, execute, fetch, close) and rolls back twice
after each read, with nothing to undo. The dialect here makes at most one round trip per
statement and skips the empty ROLLBACKs.

Most statements make none: they run right on the event loop's thread. On the
connection's thread a statement waits for the GIL once per row (Python's sqlite3
releases it around each step), behind an event loop that holds it, and every hand-off
makes a write transaction, which other writers queue behind, last longer. Only what can
wait goes to the thread: `BEGIN IMMEDIATE` (for another process's write lock, up to the
busy timeout), COMMIT and ROLLBACK (for the disk, when a commit checkpoints the WAL), and
anything sent while the thread is busy. `BEGIN IMMEDIATE` is tried in place first, with
the busy handler off: it only goes to the thread when another process holds the lock
(this process's writers take turns before they begin, see `app.sqlite_tuning`).
What runs in place waits for nothing:
- a SELECT outside a transaction (every statement of a read session): in WAL mode a
  reader never waits for a lock;
- any statement inside a transaction: every transaction here began with BEGIN IMMEDIATE,
  so it holds the write lock already.
Each is an indexed lookup or write, or a page of at most 100 rows from the page cache.

This module subclasses SQLAlchemy's aiosqlite adapter and uses aiosqlite's hand-off to
its thread: internals of both. `app.fast_paths` checks them once, at engine creation,
against `TESTED_WITH` and `missing_internals()`, and only then serves `sqlite+aiosqlite`
URLs through `SQLiteDialect`; otherwise SQLAlchemy's own aiosqlite dialect does.
"""

import asyncio
import sqlite3
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection, AsyncAdapt_dbapi_cursor
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.engine import URL

from app.sqlite_tuning import BEGIN_IMMEDIATE, SQLITE_BUSY_TIMEOUT_MS

DRIVER_NAME = "aiosqlite_one_trip"

# The releases this module is tested with: from the first, up to (not including) the second.
TESTED_WITH = {"sqlalchemy": ((2, 1, 9), (2, 2)), "aiosqlite": ((0, 22, 1), (0, 23))}

# What it uses of the libraries beyond their public interfaces, by owner.
_INTERNALS: dict[Any, tuple[str, ...]] = {
    AsyncAdapt_dbapi_cursor: (
        "_make_new_cursor",
        "_aenter_cursor",
        "_awaitable_cursor_close",
        "_execute_async",
        "_executemany_async",
        "_adapt_connection",
        "_connection",
        "_rows",
    ),
    AsyncAdapt_dbapi_connection: ("_execute_mutex", "_connection", "_cursor_cls"),
    aiosqlite.Connection: ("_execute", "_conn"),
}


def missing_internals() -> list[str]:
    """The attributes this module relies on that the installed libraries lack."""
    return [
        f"{owner.__module__}.{owner.__qualname__}.{name}"
        for owner, names in _INTERNALS.items()
        for name in names
        if not hasattr(owner, name)
    ]


@dataclass(frozen=True)
class _StatementOutcome:
    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


_NOTHING_RUN = _StatementOutcome(None, -1, None, [])


def _run_statement(
    connection: sqlite3.Connection, operation: str, parameters: Any
) -> _StatementOutcome:
    """Execute, fetch every row and close, in one call (on the loop's or aiosqlite's thread)."""
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _StatementOutcome(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


def _begin_without_waiting(
    connection: sqlite3.Connection, operation: str, parameters: Any
) -> _StatementOutcome | None:
    """`BEGIN IMMEDIATE` at once if the write lock is free, else None (nothing begun)."""
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        outcome = _run_statement(connection, operation, parameters)
    except sqlite3.OperationalError:  # locked by another process: wait on the thread
        return None
    finally:
        connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    return outcome


def _run_many(connection: sqlite3.Connection, operation: str, parameters: Any) -> Any:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return _StatementOutcome(None, cursor.rowcount, cursor.lastrowid, [])
    finally:
        cursor.close()


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, one round trip per statement instead of four."""

    __slots__ = ("_arraysize", "_outcome")
    _awaitable_cursor_close = False  # nothing is left open on the driver's side

    def __init__(self, adapt_connection: Any) -> None:
        super().__init__(adapt_connection)
        self._outcome = _NOTHING_RUN
        self._arraysize = 1

    def _make_new_cursor(self, connection: Any) -> Any:
        return None  # statements run on the sqlite3 connection itself: no driver cursor

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    @property
    def description(self) -> Any:
        return self._outcome.description

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount

    @property
    def lastrowid(self) -> Any:
        return self._outcome.lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def _keep(self, outcome: _StatementOutcome) -> None:
        self._outcome = outcome
        self._rows = deque(outcome.rows)

    async def _run(self, function: Any, operation: Any, parameters: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            # aiosqlite's own hand-off to its thread (SQLAlchemy's adapter uses it too).
            driver = self._connection
            self._keep(await driver._execute(function, driver._conn, operation, parameters))

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        connection: sqlite3.Connection = self._connection._conn
        if self._adapt_connection._execute_mutex.locked():
            await self._run(_run_statement, operation, parameters)
        elif connection.in_transaction:
            # Holds the write lock: run at once, so that the lock is held for less time.
            self._keep(_run_statement(connection, operation, parameters))
        elif operation == BEGIN_IMMEDIATE:
            begun = _begin_without_waiting(connection, operation, parameters)
            if begun is None:
                await self._run(_run_statement, operation, parameters)
            else:
                self._keep(begun)
        elif operation.startswith("SELECT"):
            # A read in place never waits, so a request would run start to finish without
            # the loop reading its sockets: yield once, so that requests take turns.
            await asyncio.sleep(0)
            self._keep(_run_statement(connection, operation, parameters))
        else:
            await self._run(_run_statement, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(_run_many, operation, seq_of_parameters)


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _OneTripCursor


class _OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _OneTripConnection:
        connection = super().connect(*arg, **kw)
        return _OneTripConnection(self, connection._connection)


class SQLiteDialect(SQLiteDialect_aiosqlite):
    """aiosqlite with one round trip per statement, minus the ROLLBACKs with nothing to undo.

    A session rolls back when it closes, and the pool again when the connection returns,
    even when no transaction is open (every read session). On SQLite that ROLLBACK is a
    no-op, but through aiosqlite each one is a round trip to the connection's thread.
    SQLite knows exactly whether a transaction is open, so ask.
    """

    supports_statement_cache = True  # a subclass must say so, or SQL is compiled every time

    @classmethod
    def import_dbapi(cls) -> _OneTripDBAPI:
        return _OneTripDBAPI(aiosqlite, sqlite3)

    def do_rollback(self, dbapi_connection: Any) -> None:
        try:
            in_transaction = dbapi_connection.driver_connection.in_transaction
        except (ValueError, sqlite3.Error):  # closed: let the driver report it
            in_transaction = True
        if in_transaction:
            super().do_rollback(dbapi_connection)  # type: ignore[no-untyped-call]


def one_trip_url(url: URL) -> URL:
    """`url` (a `sqlite+aiosqlite` one) served by this module's dialect."""
    registry.register(f"sqlite.{DRIVER_NAME}", __name__, "SQLiteDialect")
    return url.set(drivername=f"sqlite+{DRIVER_NAME}")
