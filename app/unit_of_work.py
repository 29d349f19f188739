"""The one owner of a request's commit.

Services flush and return; the route commits with `commit`, inside the route, before the
response is built (FastAPI runs the code after a dependency's `yield` too late for a
failed commit to change the response). A constraint that the commit finds broken becomes
the route's `Conflict`; a lost connection stays a database error, which the app answers
with 503.
"""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, DataChanged


async def commit(session: AsyncSession, conflict: type[Conflict] = DataChanged) -> None:
    """Commit the request's transaction; `conflict` when it breaks a constraint."""
    try:
        await session.commit()
    except IntegrityError as exc:
        raise conflict() from exc
