"""`read_rows` and `write_rows`: the rows of a hot statement, and their fast path straight
to asyncpg.

A statement executed through the session passes SQLAlchemy's layers on the way: the
session's bookkeeping, the compiled-statement cache, an execution context, the driver
adapter (in a greenlet), a cursor result and a `Row` per row, several times asyncpg's own
work per statement (245,000 instructions more than asyncpg's own call, for an insert).
The hot statements need none of it: they are built once, and read or return plain
columns that need no conversion. `read_rows` (a SELECT) and `write_rows` (an INSERT,
UPDATE or DELETE, its RETURNING rows if any) send such a statement, compiled by
SQLAlchemy for the session's own dialect, straight to asyncpg on the session's own
connection (checked out and returned by the session as always): outside a transaction
(a read session), or inside the transaction the session's first statement began through
SQLAlchemy (a write session), whose changes it then sees and which commits or rolls back
with them. Anything else goes the usual way: an engine whose direct statements are off
(another driver, `FAST_PATHS=false`, or libraries this module is not tested with, see
`app.fast_paths`), the first statement of a write session (SQLAlchemy begins its
transaction), a statement whose values need converting, and every statement while
something listens for them (SQLAlchemy's cursor events: tracing, statement counts in the
tests), so that it sees them all.

A statement runs once, whichever way it goes. When asyncpg raises, the error is
translated as SQLAlchemy's asyncpg adapter translates it and reported through the
session's connection as SQLAlchemy reports every database error: a `DBAPIError`
subclass (an `IntegrityError` for a broken constraint), and on a lost connection the
pool invalidated, so that the next request gets a fresh connection.

The direct path reads SQLAlchemy internals (the compiled statement's bind names, the
engine's event lists, the adapter's transaction and error translation, the connection's
error handling): `missing_internals` names those the installed SQLAlchemy lacks.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn
from weakref import WeakSet

import sqlalchemy.dialects.postgresql.asyncpg as sqlalchemy_asyncpg
from sqlalchemy import Delete, Insert, Select, Update, bindparam, literal_column, select
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
        (adapter, "_transaction"),
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


def send_directly(engine: AsyncEngine) -> None:
    """Send `engine`'s hot statements straight to asyncpg (once `app.fast_paths` checked)."""
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


Statement = Select[Any] | Insert | Update | Delete


@lru_cache(maxsize=256)
def _driver_query(statement: Statement, dialect: Dialect) -> _DriverQuery | None:
    """`statement` ready for the driver, or None when it must go through SQLAlchemy."""
    if dialect not in _direct_dialects:
        return None
    if any(
        column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
        for column in statement.exported_columns
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


async def _direct_rows(
    session: AsyncSession, statement: Statement, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]] | None:
    """The statement's rows from asyncpg, or None when it must go through SQLAlchemy."""
    bind = session.get_bind()
    query = _driver_query(statement, bind.dialect)
    if query is None or _statements_watched(bind):
        return None
    raw = await session.run_sync(_driver_connection_of)
    driver, adapter = raw.driver_connection, raw.dbapi_connection
    # Outside a transaction (a read session), or in the one SQLAlchemy began (a write
    # session's statements after its first).
    if driver is None or adapter is None:
        return None
    if not (adapter.autocommit or adapter._transaction is not None):
        return None
    arguments = query.arguments(params)
    try:
        records: Sequence[Sequence[Any]] = await driver.fetch(query.compiled.string, *arguments)
    except Exception as error:
        await session.run_sync(_report, error, query.compiled.string, arguments)
    return records


async def read_rows(
    session: AsyncSession, statement: Select[Any], params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Every row of `statement` run with `params` in `session`, each a sequence of its
    columns' values in order (read them by position: asyncpg's records have no
    attributes for the columns). The same rows `session.execute(...).all()` gives.

    For statements built once (module constants, or cached builders): each is compiled
    for the driver once per dialect, and remembered by identity."""
    rows = await _direct_rows(session, statement, params)
    if rows is None:
        rows = (await session.execute(statement, params)).all()
    return rows


async def write_rows(
    session: AsyncSession, statement: Insert | Update | Delete, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Run the INSERT, UPDATE or DELETE `statement` with `params` in the session's
    transaction: the rows of its RETURNING (none without one), as `read_rows` gives
    rows. The statement names every value it takes (no `insert(table)` that takes its
    columns from the parameters)."""
    rows = await _direct_rows(session, statement, params)
    if rows is None:
        result = await session.execute(statement, params)
        rows = result.all() if statement.exported_columns else []
    return rows
