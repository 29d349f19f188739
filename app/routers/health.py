"""Liveness that includes the database."""

from sqlalchemy import text

from app.db import SessionDep
from app.routers.common import PrefixedRouter, error_responses
from app.tables import Message

router = PrefixedRouter(prefix="/health", tags=["health"])


@router.get(
    "",
    response_model=Message,
    operation_id="health",
    summary="Is the service up and its database reachable?",
    responses=error_responses(503),
)
async def health(session: SessionDep) -> Message:
    """200 `{"status": "ok"}` when the database answers a query, 503 when it does not
    (the app-wide database error handler turns the failure into the 503)."""
    await session.execute(text("SELECT 1"))
    return Message(status="ok")
