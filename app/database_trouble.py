"""Which errors mean "the database cannot serve right now" (a 503) rather than a bug (a 500).

One mapping for every route, the health checks included: `unavailable_reason` names the
trouble, or returns None when the error is not one of these. The reason goes to the log,
never to the client (a driver's message can hold SQL and its parameters).

- PostgreSQL, by SQLSTATE: class 08 (the connection failed or was cut), class 53
  (insufficient resources: too many connections, a full disk, out of memory), 57P01-57P03
  (an administrator's shutdown, a crash, a server starting up or shutting down), 3D000 (the
  database does not exist, e.g. dropped) and 25006 (the database is read-only).
- SQLite, by result code: SQLITE_READONLY, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_IOERR, and
  SQLITE_BUSY / SQLITE_LOCKED (another process held the write lock past the busy timeout).
- A driver error with no code, of DB-API's class OperationalError.
- An `OSError` raised on the way to the database (a connection refused, reset or timed
  out, a name that does not resolve), SQLAlchemy's lost connections, and a pool with no
  free connection in time.
"""

import sqlite3
from contextlib import suppress

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

POSTGRESQL_UNAVAILABLE_CLASSES = {
    "08": "connection exception",
    "53": "insufficient resources",
}
POSTGRESQL_UNAVAILABLE_STATES = {
    "57P01": "admin shutdown",
    "57P02": "crash shutdown",
    "57P03": "cannot connect now",
    "3D000": "database does not exist",
    "25006": "read-only database",
}
SQLITE_UNAVAILABLE_CODES = {
    sqlite3.SQLITE_READONLY: "read-only database file",
    sqlite3.SQLITE_FULL: "disk full",
    sqlite3.SQLITE_CANTOPEN: "cannot open the database file",
    sqlite3.SQLITE_IOERR: "disk I/O error",
    sqlite3.SQLITE_BUSY: "database locked by another process",
    sqlite3.SQLITE_LOCKED: "database table locked",
}
SQLITE_PRIMARY_CODE_MASK = 0xFF  # extended result codes keep the primary code in the low byte
DATABASE_PACKAGES = frozenset({"sqlalchemy", "asyncpg", "aiosqlite"})
"""Where an `OSError` comes from when the database is out of reach: SQLAlchemy passes on,
unwrapped, what the driver raises while the pool opens a connection (a refused or timed-out
connect, a name that does not resolve)."""

# Trouble a connection keeps after the database is fine again: SQLite's connection to a file
# it opened read-only (or could not use) stays so; a PostgreSQL session keeps the
# `default_transaction_read_only` it started with; a shut-down server has closed it.
STALE_CONNECTION_SQLSTATES = frozenset({"25006", "57P01", "57P02", "57P03"})
STALE_CONNECTION_SQLITE_CODES = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR}
)

UNAVAILABLE_ERRORS = (
    sa_exc.DBAPIError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    sqlite3.Error,
    OSError,
)
"""Every exception class `unavailable_reason` can say yes to (for exception handlers)."""


def unavailable_reason(error: BaseException) -> str | None:
    """Why the database cannot serve, when `error` says so; None for any other error."""
    if isinstance(error, sa_exc.TimeoutError):
        return "no free connection in the pool"
    if isinstance(error, sa_exc.DisconnectionError):
        return "connection lost"
    if isinstance(error, sa_exc.DBAPIError):
        return _dbapi_reason(error)
    return _driver_reason(error)


def _dbapi_reason(error: sa_exc.DBAPIError) -> str | None:
    reason = _driver_reason(error.orig)
    if reason is not None:
        return reason
    if error.connection_invalidated:
        return "connection lost"
    if _has_result_code(error.orig):
        return None  # the driver says what went wrong, and it is not the database's state
    # No code to go by: DB-API's OperationalError is, by definition, trouble of the
    # database's operation (an unexpected disconnect, a database not found).
    return "operational error" if isinstance(error, sa_exc.OperationalError) else None


def _has_result_code(error: BaseException | None) -> bool:
    return isinstance(getattr(error, "sqlstate", None), str) or _is_sqlite_error(error)


def _driver_reason(error: BaseException | None) -> str | None:
    if error is None:
        return None
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return _postgresql_reason(sqlstate)
    if _is_sqlite_error(error):
        return _sqlite_reason(error)
    if isinstance(error, OSError) and _raised_by_the_database_client(error):
        return f"cannot reach the database ({type(error).__name__})"
    return None


def _raised_by_the_database_client(error: BaseException) -> bool:
    """Whether the error came from the database's client libraries (a socket error on the
    way to the database), not from elsewhere (a file the app fails to read: a 500)."""
    frame = error.__traceback__
    while frame is not None:
        module: str = frame.tb_frame.f_globals.get("__name__", "")
        if module.partition(".")[0] in DATABASE_PACKAGES:
            return True
        frame = frame.tb_next
    return False


def _postgresql_reason(sqlstate: str) -> str | None:
    if sqlstate in POSTGRESQL_UNAVAILABLE_STATES:
        return f"{POSTGRESQL_UNAVAILABLE_STATES[sqlstate]} ({sqlstate})"
    error_class = POSTGRESQL_UNAVAILABLE_CLASSES.get(sqlstate[:2])
    return None if error_class is None else f"{error_class} ({sqlstate})"


def _sqlite_reason(error: BaseException) -> str | None:
    code: int = getattr(error, "sqlite_errorcode", 0)
    reason = SQLITE_UNAVAILABLE_CODES.get(code & SQLITE_PRIMARY_CODE_MASK)
    return None if reason is None else f"{reason} ({getattr(error, 'sqlite_errorname', code)})"


def discard_connections_after_trouble(engine: AsyncEngine) -> None:
    """Make the pool drop its connections when one meets trouble it would keep (see
    `STALE_CONNECTION_SQLSTATES`): the next requests open fresh ones, so the app serves
    again by itself once the database is back, without a restart."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def on_error(context: ExceptionContext) -> None:
        if _leaves_connection_stale(context.original_exception):
            context.is_disconnect = True
            _close_sqlite_cursor(context)


def _close_sqlite_cursor(context: ExceptionContext) -> None:
    """Close the failed statement's cursor, which SQLAlchemy leaves open on a disconnect.

    A SQLite connection closed while a cursor still holds a statement stays open behind
    the scenes until that cursor is garbage collected, and with it the file's shared
    memory as it was opened: read-only, for the fresh connections too (SQLite shares it
    between the connections of a process). Then the app would not take writes again.
    """
    # The execution context's: SQLAlchemy 2.1 leaves `ExceptionContext.cursor` unset, and
    # a context whose cursor could not be made has none.
    cursor = getattr(context.execution_context, "cursor", None)
    if cursor is None or not _is_sqlite_error(context.original_exception):
        return
    with suppress(sqlite3.Error, ValueError):  # gone with its connection: nothing held
        cursor.close()


def _is_sqlite_error(error: BaseException | None) -> bool:
    return isinstance(getattr(error, "sqlite_errorcode", None), int)


def _leaves_connection_stale(error: BaseException) -> bool:
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate in STALE_CONNECTION_SQLSTATES or sqlstate.startswith("08")
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & SQLITE_PRIMARY_CODE_MASK in (
        STALE_CONNECTION_SQLITE_CODES
    )
