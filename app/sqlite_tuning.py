"""SQLite's settings for a web app: WAL, a busy timeout, foreign keys, write transactions
that begin with `BEGIN IMMEDIATE`, one queue of writers per process, and a rollback of
what a refused COMMIT leaves open.

Write sessions begin with `BEGIN IMMEDIATE`, so that concurrent writers wait their turn
instead of failing with "database is locked": in arrival order within a process (see
`_WriterQueue`), on the busy timeout between processes. Read sessions carry
`READ_ONLY_OPTION` and run without a transaction: in WAL mode a reader never waits.
"""

import asyncio
import sqlite3
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import AdaptedConnection, Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolResetState

SQLITE_BUSY_TIMEOUT_MS = 30_000
BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"
READ_ONLY_OPTION = "orders_read_only"

# The driver's arguments: its busy timeout, and a connection that the event loop's thread
# may use as well as aiosqlite's (the one-trip dialect runs statements on both, never at
# once: the pool lends a connection to one session at a time).
CONNECT_ARGS = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}


class _WriterQueue:
    """Writers of one process take SQLite's write lock one at a time, in arrival order.

    SQLite has one writer at a time. Left to `BEGIN IMMEDIATE` alone, every writer that
    finds the lock taken sleeps in SQLite's busy handler (1 ms, 2 ms, ... up to 100 ms)
    and polls again: the lock sits idle while they sleep, and an unlucky writer can lose
    every round. Writers of this process queue on an asyncio lock instead, held from the
    BEGIN until the connection goes back to the pool; the busy timeout still arbitrates
    between processes.
    """

    HOLDS_LOCK = "orders_holds_write_lock"

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    def enter(self, connection: Connection) -> None:
        record = connection.connection
        if record.info.get(self.HOLDS_LOCK):  # a second transaction before it returned
            return
        # The "begin" event is synchronous: wait for the lock through the adapted
        # connection's `run_async`, SQLAlchemy's way to await inside an event.
        adapted = cast(AdaptedConnection, record.dbapi_connection)
        adapted.run_async(
            lambda _driver: asyncio.wait_for(self._lock.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000)
        )
        record.info[self.HOLDS_LOCK] = True

    def leave(self, record: Any) -> None:
        if record.info.pop(self.HOLDS_LOCK, False):
            self._lock.release()


def configure_sqlite(engine: AsyncEngine) -> None:
    """Listen on `engine` for new connections, transactions and returns to the pool."""
    writers = _WriterQueue()

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        if not connection.get_execution_options().get(READ_ONLY_OPTION):
            writers.enter(connection)
            connection.exec_driver_sql(BEGIN_IMMEDIATE)

    @event.listens_for(engine.sync_engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        writers.leave(record)

    @event.listens_for(engine.sync_engine, "reset")
    def on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        # A COMMIT that SQLite refuses (a deferred constraint) leaves its transaction open,
        # yet SQLAlchemy counts it as ended and skips the rollback on return to the pool:
        # the next request on this connection would see, and could commit, the failed write.
        if not state.asyncio_safe:
            return
        try:
            open_transaction = dbapi_connection.driver_connection.in_transaction
        except (ValueError, sqlite3.Error):  # closed already: nothing left to undo
            return
        if open_transaction:
            dbapi_connection.rollback()
