"""User management for admins: the list of users, and changes to an account."""

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.errors import UserNotFound
from app.services.counting import count_of
from app.tables import USERS, Page, User, UserUpdate

COUNT_USERS = count_of(USERS)
NEWEST_FIRST = (col(User.created_at).desc(), col(User.id).desc())


async def list_users(session: AsyncSession, *, limit: int, offset: int) -> Page[User]:
    """A page of every user, newest first, with the count over all pages."""
    count = await session.scalar(COUNT_USERS) or 0
    users = await session.scalars(select(User).order_by(*NEWEST_FIRST).limit(limit).offset(offset))
    return Page(data=list(users), count=count, limit=limit, offset=offset)


async def update_user(session: AsyncSession, user_id: int, body: UserUpdate) -> User:
    """The user with the fields that `body` sets changed; `UserNotFound` for none."""
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound
    user.sqlmodel_update(body.model_dump(exclude_unset=True))
    return user
