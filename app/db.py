"""Engine, SQLite pragmas, PostgreSQL's timestamp codec, the hot reads' direct path to
asyncpg (`read_rows`), session factories and the one session dependency.

Requests with a safe method (GET, HEAD, OPTIONS) get a read-only session that runs
without an explicit transaction (no BEGIN/ROLLBACK round trips). Every other request
gets a write session: on PostgreSQL a READ COMMITTED transaction; on SQLite its
transaction starts with `BEGIN IMMEDIATE`, so
concurrent writers wait their turn instead of failing with "database is locked" (in arrival
order within a process, on the busy timeout between processes).
Writes commit inside the route, before the response is built: FastAPI runs the code after
a dependency's `yield` too late for a failed commit to change the response.
"""

import asyncio
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any

import aiosqlite
from fastapi import Depends, Request
from sqlalchemy import Select, event, make_url
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.engine import URL, Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection, PoolResetState
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import EMPTY_DICT, await_

from app.config import Settings
from app.database_trouble import discard_connections_after_trouble
from app.tables import DECODED_TIMESTAMPS_KEPT

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_BUSY_TIMEOUT_MS = 30_000
BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"
READ_ONLY_OPTION = "orders_read_only"
WRITE_ISOLATION_LEVEL = "READ COMMITTED"


# ---------------------------------------------------------------- SQLite through aiosqlite
#
# aiosqlite runs each connection on a thread of its own, and every call to it is a round
# trip to that thread: a hand-off the event loop pays for in wake-ups and context switches,
# and, on a busy machine, in waiting for the thread to be scheduled. SQLAlchemy's adapter
# makes four per statement (open a cursor, execute, fetch, close) and rolls back twice
# after each read, with nothing to undo. The adapter below makes one round trip per
# statement and the dialect skips the empty ROLLBACKs: a read of one statement goes from
# six round trips to one.
#
# Most statements make none: they run right on the event loop's thread. On the
# connection's thread a statement waits for the GIL once per row (Python's sqlite3
# releases it around each step), behind an event loop that holds it, and every hand-off
# makes a write transaction, which other writers queue behind, last longer. Only what can
# wait goes to the thread: `BEGIN IMMEDIATE` (for another process's write lock, up to the
# busy timeout), COMMIT and ROLLBACK (for the disk, when a commit checkpoints the WAL), and
# anything sent while the thread is busy. `BEGIN IMMEDIATE` is tried in place first, with
# the busy handler off: it only goes to the thread when another process holds the lock
# (this process's writers take turns before they begin, see `_WriterQueue`).
# What runs in place waits for nothing:
# - a SELECT outside a transaction (every statement of a read session): in WAL mode a
#   reader never waits for a lock;
# - any statement inside a transaction: every transaction here began with BEGIN IMMEDIATE,
#   so it holds the write lock already.
# Each is an indexed lookup or write, or a page of at most 100 rows from the page cache
# (0.1 to 0.4 ms for the benchmark's pages). Measured: 1.5 to 4 times the requests per
# second on the read paths; 1.3 times on `POST /orders/{id}/items`, and 1.1 times more
# with `BEGIN IMMEDIATE` in place (4 to 5 times with two workers on one file).


@dataclass(frozen=True)
class _StatementOutcome:
    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


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
        # Unlike the base class, do not open a driver cursor here (a round trip).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = deque()
        self._outcome = _StatementOutcome(None, -1, None, [])
        self._arraysize = 1

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
            # aiosqlite's own hand-off (SQLAlchemy's adapter uses its internals too).
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
            # the loop reading its sockets: yield once, so requests take turns (measured:
            # p99 of the read paths a third of what it is without, at 32 connections).
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


# `sqlite+aiosqlite` URLs are served by the dialect above, under a driver name of its own.
registry.register("sqlite.aiosqlite_orders", __name__, "SQLiteDialect")


def _sqlite_url(database_url: str) -> URL:
    url = make_url(database_url)
    return (
        url.set(drivername="sqlite+aiosqlite_orders")
        if url.drivername == "sqlite+aiosqlite"
        else url
    )


class _WriterQueue:
    """Writers of one process take SQLite's write lock one at a time, in arrival order.

    SQLite has one writer at a time. Left to `BEGIN IMMEDIATE` alone, every writer that
    finds the lock taken sleeps in SQLite's busy handler (1 ms, 2 ms, ... up to 100 ms)
    and polls again: the lock sits idle while they sleep, and an unlucky writer can lose
    every round (seconds at p99 under load). Writers of this process queue on an asyncio
    lock instead, held from the BEGIN until the connection goes back to the pool; the busy
    timeout still arbitrates between processes.
    """

    HOLDS_LOCK = "orders_holds_write_lock"

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    def enter(self, connection: Connection) -> None:
        info = connection.connection.info
        if info.get(self.HOLDS_LOCK):  # a second transaction before the connection returned
            return
        await_(asyncio.wait_for(self._lock.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000))
        info[self.HOLDS_LOCK] = True

    def leave(self, record: Any) -> None:
        if record.info.pop(self.HOLDS_LOCK, False):
            self._lock.release()


def _configure_sqlite(engine: AsyncEngine) -> None:
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


# ---------------------------------------------------------------- PostgreSQL through asyncpg
#
# asyncpg decodes every `timestamptz` of every row to a datetime (the server's
# microseconds since 2000 plus a `timedelta`): 6,500 instructions each, a third of the
# cost of a menu row, and two of every row of a page of orders. Yet the same values come
# back again and again: an order's timestamps on each row of its items, the menu's at
# every read. The connections decode them through a memo of the last values instead
# (as SQLite's timestamps are, see `app.tables`), giving what asyncpg gives
# (`tests/test_timestamptz_codec.py` compares the two). Measured in instructions per
# request: a page of orders -19 %, the menu -6 %, an order -2 %.

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PG_INFINITY = 2**63 - 1
PG_NEGATIVE_INFINITY = -(2**63)
ONE_MICROSECOND = timedelta(microseconds=1)
# The instants of `datetime.max` and `datetime.min` in UTC, which asyncpg sends as infinities.
INFINITIES = {252_455_615_999_999_999: PG_INFINITY, -63_082_281_600_000_000: PG_NEGATIVE_INFINITY}


@lru_cache(maxsize=DECODED_TIMESTAMPS_KEPT)
def decode_timestamptz(value: tuple[int]) -> datetime:
    """A `timestamptz` in asyncpg's tuple format (microseconds since 2000-01-01 UTC) as
    asyncpg decodes it: an aware UTC datetime; the infinities as naive `datetime.max`
    and `datetime.min`."""
    (microseconds,) = value
    if microseconds == PG_INFINITY:
        return datetime.max
    if microseconds == PG_NEGATIVE_INFINITY:
        return datetime.min
    return PG_EPOCH + timedelta(microseconds=microseconds)


def encode_timestamptz(value: date) -> tuple[int]:
    """A datetime in asyncpg's tuple format, by asyncpg's rules: a naive one is local
    time; a date is its midnight at the current local offset; `datetime.max` and
    `datetime.min` (naive, or as instants) are the infinities."""
    if value == datetime.max:
        return (PG_INFINITY,)
    if value == datetime.min:
        return (PG_NEGATIVE_INFINITY,)
    if not isinstance(value, datetime):
        local = datetime.now(UTC).astimezone().tzinfo
        value = datetime(value.year, value.month, value.day, tzinfo=local)
    microseconds = (value.astimezone(UTC) - PG_EPOCH) // ONE_MICROSECOND
    return (INFINITIES.get(microseconds, microseconds),)


async def _decode_timestamps_through_the_memo(driver_connection: Any) -> None:
    """On a new `asyncpg.Connection` (asyncpg has no type hints)."""
    await driver_connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=encode_timestamptz,
        decoder=decode_timestamptz,
        format="tuple",
    )


def _configure_postgresql(engine: AsyncEngine) -> None:
    if engine.dialect.driver != "asyncpg":  # the codec is made for asyncpg; others keep theirs
        return

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(_decode_timestamps_through_the_memo)


# ---------------------------------------------------------------- reading rows
#
# A SELECT executed through the session passes SQLAlchemy's layers on the way: the
# session's bookkeeping, the compiled-statement cache, an execution context, the driver
# adapter (in a greenlet), a cursor result and a `Row` per row. On asyncpg, measured
# with 16 concurrent readers, that is 50 to 90 µs of CPU per statement on top of
# asyncpg's own 30: a sixth of a read of the menu or of an order. The hot reads need none
# of it: their statements are built once, select plain columns that need no conversion,
# and run outside any transaction. `read_rows` sends such a statement, compiled by
# SQLAlchemy for the session's own dialect, straight to asyncpg on the session's own
# connection (checked out and returned by the session as always). Anything else goes the
# usual way: other drivers (SQLite's adapter here already makes one round trip), a
# connection in a transaction (a write session), a statement whose values need converting,
# and every statement while something listens for them (SQLAlchemy's cursor events:
# tracing, statement counts in the tests), so that it sees them all.


@dataclass(frozen=True)
class _DriverQuery:
    """A statement as asyncpg takes it: compiled (its SQL), and how to turn named values into
    positional arguments (with SQLAlchemy's conversion of each, where its type has one)."""

    compiled: SQLCompiler
    converters: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = self.compiled.construct_params(params)  # with the statement's own literals
        assert values is not None
        return [
            values[name] if convert is None else convert(values[name])
            for name, convert in self.converters
        ]


@lru_cache(maxsize=256)
def _driver_query(statement: Select[Any], dialect: Dialect) -> _DriverQuery | None:
    """`statement` ready for the driver, or None when it must go through SQLAlchemy."""
    if dialect.driver != "asyncpg":
        return None
    if any(
        column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
        for column in statement.selected_columns
    ):
        return None  # a column SQLAlchemy converts (an enum, JSON): keep its rows as they are
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    binds = compiled.binds
    if any(bind.expanding or bind.literal_execute for bind in binds.values()):
        return None  # rendered per execution (`IN` lists)
    converters = tuple(
        (name, binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in compiled.positiontup or ()
    )
    return _DriverQuery(compiled, converters)


def _driver_connection_of(session: Session) -> PoolProxiedConnection:
    # In one hop to SQLAlchemy's greenlet (rather than `session.connection()`, then
    # `get_raw_connection()`): the session's connection, checked out on first use.
    return session.connection().connection


def _statements_watched(bind: Engine | Connection) -> bool:
    events = bind.dispatch
    return bool(events.before_cursor_execute or events.after_cursor_execute)


async def _fetch_or_none(
    driver: Any, query: _DriverQuery, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]] | None:
    """The rows from asyncpg, or None when it fails: the read then runs again the usual
    way, so that SQLAlchemy reports the error as it reports every database error (a lost
    connection: the pool renewed, then a 503). Outside a transaction, a failed SELECT
    leaves nothing behind. Not after a timeout (the database too slow, or gone silent):
    running it again would only make the caller wait as long again (a 503 either way)."""
    try:
        records: Sequence[Sequence[Any]] = await driver.fetch(
            query.compiled.string, *query.arguments(params)
        )
    except TimeoutError:
        raise
    except Exception:
        return None
    return records


async def read_rows(
    session: AsyncSession, statement: Select[Any], params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Every row of `statement` run with `params` in `session`, each a sequence of its
    columns' values in order (read them by position: asyncpg's records have no
    attributes for the columns). The same rows `session.execute(...).all()` gives.

    For statements built once (module constants, or cached builders): each is compiled
    for the driver once per dialect, and remembered by identity."""
    bind = session.get_bind()
    query = _driver_query(statement, bind.dialect)
    if query is not None and not _statements_watched(bind):
        raw = await session.run_sync(_driver_connection_of)
        driver, adapter = raw.driver_connection, raw.dbapi_connection
        if driver is not None and adapter is not None and adapter.autocommit:
            records = await _fetch_or_none(driver, query, params)
            if records is not None:
                return records
    rows: Sequence[Sequence[Any]] = (await session.execute(statement, params)).all()
    return rows


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        engine = create_async_engine(
            _sqlite_url(settings.database_url),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            # Opened on aiosqlite's thread, also used from the event loop's (see above):
            # never by both at once, as the pool lends a connection to one session.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        discard_connections_after_trouble(engine)
        return engine
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # Concurrent writers on one order wait for each other (SPEC §5), holding a
        # connection or waiting for one: as long as SQLite's writers wait for the lock.
        pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        connect_args={"timeout": 5, "command_timeout": 30},
        # Set once per connection; write sessions ask for a transaction (see `_for_writes`).
        isolation_level="AUTOCOMMIT",
    )
    _configure_postgresql(engine)
    discard_connections_after_trouble(engine)
    return engine


# PostgreSQL connections are opened in autocommit mode, which is what a read wants, and
# write sessions set READ COMMITTED (the server's default) for as long as they hold a
# connection. The other way round, every read would set autocommit on its connection and
# set it back on return: measured, 30 µs of a read's 700 (writes now pay it, 2 to 3 %).


def _for_reads(engine: AsyncEngine) -> AsyncEngine:
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{READ_ONLY_OPTION: True})
    return engine


def _for_writes(engine: AsyncEngine) -> AsyncEngine:
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level=WRITE_ISOLATION_LEVEL)


class IdleSessions:
    """Closed sessions of one factory, handed out again before new ones are made.

    A closed `Session` may be used again: closing ends its transaction, gives its
    connection back and forgets its objects (`close_resets_only`, the factories' setting),
    and making a new one costs more than that: 6 % of the instructions of
    `GET /orders/{id}`. At most `keep` wait here, as many as can hold a connection at once.
    """

    def __init__(self, factory: async_sessionmaker[AsyncSession], keep: int) -> None:
        self._factory = factory
        self._keep = keep
        self._idle: list[AsyncSession] = []

    def take(self) -> AsyncSession:
        return self._idle.pop() if self._idle else self._factory()

    def give_back(self, session: AsyncSession) -> None:
        """`session`, closed, for a later request."""
        if len(self._idle) < self._keep:
            self._idle.append(session)


@dataclass(frozen=True)
class Database:
    """The engine of one app instance, the two session factories drawn from its pool, and
    the closed sessions of each, kept for the next requests.

    On PostgreSQL the engine's own connections are in autocommit mode: a transaction
    needs a write session (or `engine.execution_options(isolation_level=...)`).
    """

    engine: AsyncEngine
    write_sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    idle_writes: IdleSessions
    idle_reads: IdleSessions

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        engine = create_engine(settings)
        writes, reads = (
            async_sessionmaker(bind, expire_on_commit=False, close_resets_only=True)
            for bind in (_for_writes(engine), _for_reads(engine))
        )
        keep = settings.db_pool_size + settings.db_max_overflow
        return cls(
            engine=engine,
            write_sessions=writes,
            read_sessions=reads,
            idle_writes=IdleSessions(writes, keep),
            idle_reads=IdleSessions(reads, keep),
        )

    async def dispose(self) -> None:
        await self.engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session, closed (its connection back in the pool) once it is done,
    then kept for a later request.

    Closed with a plain `close()` rather than `async with`: on exit, `AsyncSession` closes
    in an asyncio task of its own, so that a cancellation cannot cut the close short, and
    that task costs about 40 µs, some 5 % of a read of the menu. FastAPI already runs this
    exit inside a shielded cancel scope; and the close of a read, or of a write that
    committed, sends nothing to the database, so there is nothing for a cancellation to
    interrupt. A session whose close fails is not kept.
    """
    database: Database = request.app.state.db
    sessions = database.idle_reads if request.method in SAFE_METHODS else database.idle_writes
    session = sessions.take()
    try:
        yield session
    finally:
        await session.close()
        sessions.give_back(session)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
