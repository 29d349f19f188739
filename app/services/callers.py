"""The caller behind a valid token: still there, still active, and an admin or not.

A token is checked without the database; whether its user still exists and is active is
a question for the database, asked in the same statement as the request's own work
wherever a route can (`active_caller_condition`), or on its own (`active_caller_is_admin`).
"""

from sqlalchemy import ColumnElement, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import read_rows
from app.errors import UserGone
from app.tables import USERS


def active_caller_condition() -> ColumnElement[bool]:
    """The condition on `users` that picks the row of the user the `caller_id` parameter
    names, if that user is still active."""
    return and_(USERS.c.id == bindparam("caller_id"), USERS.c.is_active)


CALLER_IS_ADMIN = select(USERS.c.is_admin).where(active_caller_condition())
"""The caller's `is_admin`, or no row when the token's user is gone or deactivated."""


async def active_caller_is_admin(session: AsyncSession, caller_id: int) -> bool:
    """Whether the user a valid token names is an admin; `UserGone` when they no longer
    exist or are deactivated. One column of one row, read directly (`read_rows`)."""
    rows = await read_rows(session, CALLER_IS_ADMIN, {"caller_id": caller_id})
    if not rows:
        raise UserGone
    (is_admin,) = rows[0]
    return bool(is_admin)
