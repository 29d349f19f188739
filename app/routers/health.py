"""Health: liveness of the process, and readiness, which proves the database reads and
accepts writes."""

import asyncio
import os

from fastapi import Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy import make_url, text

from app.config import Settings
from app.db import Database
from app.routers.common import PrefixedRouter
from app.schemas import Message, Unavailable

router = PrefixedRouter(prefix="/health", tags=["health"])

READY_TIMEOUT_SECONDS = 5
RETRY_AFTER_SECONDS = "5"
# A write that changes no row, rolled back: still refused by a read-only or recovering
# PostgreSQL and by a SQLite database opened read-only, and it never blocks on a row lock.
WRITE_PROBE = text("UPDATE users SET id = id WHERE id = 0")
DATABASE_FAILURES = (sa_exc.SQLAlchemyError, OSError, TimeoutError)


@router.get(
    "/live",
    response_model=Message,
    operation_id="health_live",
    summary="Is the process serving requests?",
)
async def live() -> Message:
    """200 `{"status": "ok"}` while the process answers; the database is not asked."""
    return Message(status="ok")


READY_DOC = """200 `{"status": "ok"}` when the database answers a read and accepts a write
(a write probe, rolled back); else 503 `{"status": "unavailable", "detail": <why>}` with
`Retry-After`. Load balancers send traffic only to a ready instance."""


async def ready(request: Request) -> Message | JSONResponse:
    problem = await database_problem(request.app.state.db, request.app.state.settings)
    if problem is None:
        return Message(status="ok")
    return JSONResponse(
        {"status": "unavailable", "detail": problem},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


for path, operation_id in (("/ready", "health_ready"), ("", "health")):
    router.add_api_route(
        path,
        ready,
        methods=["GET"],
        response_model=Message,
        operation_id=operation_id,
        summary="Can the service read and write its database?",
        description=READY_DOC,
        responses={
            status.HTTP_503_SERVICE_UNAVAILABLE: {
                "model": Unavailable,
                "description": "The database cannot serve reads and writes now",
            }
        },
    )


async def database_problem(database: Database, settings: Settings) -> str | None:
    """Why the database cannot serve reads and writes now, or None when it can."""
    if settings.is_sqlite and not _sqlite_file_writable(settings.database_url):
        return "The SQLite database file is read-only"
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with database.read_sessions() as session:
                await session.execute(text("SELECT 1"))
    except DATABASE_FAILURES:
        return "The database does not answer"
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
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
