"""`read_rows`: the rows of a hot read, and its fast path straight to asyncpg.

A SELECT executed through the session passes SQLAlchemy's layers on the way: the
session's bookkeeping, the compiled-statement cache, an execution context, the driver
adapter (in a greenlet), a cursor result and a `Row` per row, several times asyncpg's own
work per statement. The hot reads need none of it: their statements are built once,
select plain columns that need no conversion, and run outside any transaction.
`read_rows` sends such a statement, compiled by SQLAlchemy for the session's own
dialect, straight to asyncpg on the session's own connection (checked out and returned
by the session as always). Anything else goes the usual way: an engine whose direct
reads are off (another driver, `FAST_PATHS=false`, or libraries this module is not
tested with, see `app.fast_paths`), a connection in a transaction (a write session), a
statement whose values need converting, and every statement while something listens for
them (SQLAlchemy's cursor events: tracing, statement counts in the tests), so that it
sees them all.

A statement runs once, whichever way it goes. When asyncpg raises, the error is
translated as SQLAlchemy's asyncpg adapter translates it and reported through the
session's connection as SQLAlchemy reports every database error: a `DBAPIError`
subclass, and on a lost connection the pool invalidated, so that the next request
gets a fresh connection.

The direct path reads SQLAlchemy internals (the compiled statement's bind names, the
engine's event lists, the adapter's error translation, the connection's error
handling): `missing_internals` names those the installed SQLAlchemy lacks.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn
from weakref import WeakSet

import sqlalchemy.dialects.postgresql.asyncpg as sqlalchemy_asyncpg
from sqlalchemy import Select, bindparam, literal_column, select
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

# The releases the direct path is tested with: from the first, up to (not including) the second.
TESTED_WITH = {"sqlalchemy": ((2, 1, 9), (2, 2)), "asyncpg": ((0, 32, 0), (0, 33))}

_direct_dialects: "WeakSet[Dialect]" = WeakSet()


def missing_internals() -> list[str]:
    """The SQLAlchemy internals the direct path uses that the installed release lacks."""
    adapter = getattr(sqlalchemy_asyncpg, "AsyncAdapt_asyncpg_connection", None)
    compiled = (
        select(literal_column("1"))
        .where(bindparam("one") == 1)
        .compile(
            dialect=sqlalchemy_asyncpg.dialect()  # type: ignore[no-untyped-call]
        )
    )
    wanted: list[tuple[Any, str]] = [
        (sqlalchemy_asyncpg, "AsyncAdapt_asyncpg_connection"),
        (adapter, "_handle_exception"),
        (adapter, "autocommit"),
        (Connection, "_handle_dbapi_exception"),
        (Engine.dispatch, "before_cursor_execute"),
        (Engine.dispatch, "after_cursor_execute"),
        (compiled, "binds"),
        (compiled, "positiontup"),
    ]
    return [
        f"{getattr(owner, '__name__', type(owner).__name__)}.{name}"
        for owner, name in wanted
        if not hasattr(owner, name)
    ]


def read_directly(engine: AsyncEngine) -> None:
    """Send `engine`'s hot reads straight to asyncpg (once `app.fast_paths` checked)."""
    _direct_dialects.add(engine.sync_engine.dialect)


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
    if dialect not in _direct_dialects:
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


def _report(session: Session, error: Exception, sql: str, arguments: Sequence[Any]) -> NoReturn:
    """Raise `error` (asyncpg's) as SQLAlchemy raises it for a statement of its own."""
    connection = session.connection()
    adapter: Any = connection.connection.dbapi_connection
    try:
        adapter._handle_exception(error)  # the driver's error as the adapter's DBAPI error
    except connection.dialect.loaded_dbapi.Error as translated:
        # Wrapped in a DBAPIError subclass; on a lost connection the pool is invalidated.
        connection._handle_dbapi_exception(translated, sql, tuple(arguments), None, None)
    raise AssertionError("unreachable: both calls above raise")  # pragma: no cover


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
            arguments = query.arguments(params)
            try:
                records: Sequence[Sequence[Any]] = await driver.fetch(
                    query.compiled.string, *arguments
                )
            except Exception as error:
                await session.run_sync(_report, error, query.compiled.string, arguments)
            return records
    rows: Sequence[Sequence[Any]] = (await session.execute(statement, params)).all()
    return rows
