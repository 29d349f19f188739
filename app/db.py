"""The engine, the two session factories (read and write), and the session dependency.

Requests with a safe method (GET, HEAD, OPTIONS) get a read-only session that runs
without an explicit transaction (no BEGIN/ROLLBACK round trips). Every other request
gets a write session: on PostgreSQL a READ COMMITTED transaction; on SQLite one that
begins with `BEGIN IMMEDIATE` (see `app.sqlite_tuning`). Writes commit inside the route,
before the response is built: FastAPI runs the code after a dependency's `yield` too late
for a failed commit to change the response.

Beside it: `app.sqlite_tuning` (SQLite's settings and its writers' queue),
`app.pg_timestamp_codec` (asyncpg's timestamps through a memo), and the two fast paths,
`app.fast_sqlite_cursor` and `app.fast_asyncpg`, which `app.fast_paths` switches on
at engine creation. `read_rows` and `write_rows` are re-exported here for their callers.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app import fast_paths
from app.config import Settings
from app.database_trouble import discard_connections_after_trouble
from app.fast_asyncpg import read_rows, write_rows
from app.pg_timestamp_codec import use_timestamp_codec
from app.sqlite_tuning import (
    CONNECT_ARGS,
    READ_ONLY_OPTION,
    SQLITE_BUSY_TIMEOUT_MS,
    configure_sqlite,
)

__all__ = [
    "Database",
    "IdleSessions",
    "SessionDep",
    "create_engine",
    "get_session",
    "read_rows",
    "write_rows",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_ISOLATION_LEVEL = "READ COMMITTED"


def create_engine(settings: Settings) -> AsyncEngine:
    """The app's engine, its fast paths switched on when `settings.fast_paths` allows and
    the installed libraries pass their check (see `app.fast_paths`)."""
    if settings.is_sqlite:
        engine = create_async_engine(
            fast_paths.sqlite_url(make_url(settings.database_url), settings.fast_paths),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            connect_args=CONNECT_ARGS,
            hide_parameters=True,  # no log line or error message holds a value sent
        )
        configure_sqlite(engine)
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
        hide_parameters=True,
    )
    use_timestamp_codec(engine)
    fast_paths.use_direct_statements(engine, settings.fast_paths)
    discard_connections_after_trouble(engine)
    return engine


# PostgreSQL connections are opened in autocommit mode, which is what a read wants, and
# write sessions set READ COMMITTED (the server's default) for as long as they hold a
# connection: the other way round, every read would set autocommit on its connection and
# set it back on return, a cost on the hot path.


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
    and making a new one costs more than that. At most `keep` wait here, as many as can
    hold a connection at once.
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
    that task costs more than the rest of the close. FastAPI already runs this
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
