"""Whether the database can serve: a read, and proof that it accepts writes (the readiness
check of `/health/ready`)."""

import asyncio
import os

from sqlalchemy import exc as sa_exc
from sqlalchemy import make_url, text

from app.config import Settings
from app.db import Database

CHECK_TIMEOUT_SECONDS = 5
READ_PROBE = text("SELECT 1")
# A write that changes no row, rolled back: still refused by a read-only or recovering
# PostgreSQL and by a SQLite database opened read-only, and it never blocks on a row lock.
WRITE_PROBE = text("UPDATE users SET id = id WHERE id = 0")
DATABASE_FAILURES = (sa_exc.SQLAlchemyError, OSError, TimeoutError)


async def database_problem(database: Database, settings: Settings) -> str | None:
    """Why the database cannot serve reads and writes now, or None when it can."""
    if settings.is_sqlite and not _sqlite_file_writable(settings.database_url):
        return "The SQLite database file is read-only"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with database.read_sessions() as session:
                await session.execute(READ_PROBE)
    except DATABASE_FAILURES:
        return "The database does not answer"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with database.write_sessions() as session:
                await session.execute(WRITE_PROBE)
                await session.rollback()
    except DATABASE_FAILURES:
        return "The database refuses writes"
    return None


def _sqlite_file_writable(database_url: str) -> bool:
    """A connection opened before the file was made read-only keeps writing to it; the
    file's mode says what the next connection will find."""
    path = make_url(database_url).database
    if not path or path == ":memory:" or not os.path.exists(path):
        return True
    return os.access(path, os.W_OK)
