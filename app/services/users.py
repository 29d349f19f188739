"""User management for admins: the list of users, and changes to an account."""

from typing import Any

from sqlalchemy import Integer, bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import UserNotFound
from app.paging import (
    CursorCodec,
    PagedList,
    Position,
    after_position,
    check_offset,
    page,
    position_params,
)
from app.services.counting import count_of
from app.tables import USERS, User, UserUpdate

COUNT_USERS = count_of(USERS)
NEWEST_FIRST = (col(User.created_at).desc(), col(User.id).desc())


def _users_page(*, by_cursor: bool) -> SelectOfScalar[User]:
    """A page of users, newest first (after the cursor's position when there is one), one
    more than the page when there is one: it tells that another page follows."""
    after = [after_position(USERS.c.created_at, USERS.c.id)] if by_cursor else []
    return (
        select(User)
        .where(*after)
        .order_by(*NEWEST_FIRST)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


# Keyed by `by_cursor`: from an offset, or after a cursor's position.
USERS_PAGE = {by_cursor: _users_page(by_cursor=by_cursor) for by_cursor in (False, True)}


async def list_users(
    session: AsyncSession,
    codec: CursorCodec,
    *,
    limit: int,
    offset: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """A page of every user, newest first, with the count over all pages; from `offset`,
    or after the position `cursor` marks (`InvalidPage`, of its kinds, for bad ones)."""
    skip = check_offset(offset, cursor)
    position = None if cursor is None else codec.decode(PagedList.USERS, cursor)
    params = {"limit": limit + 1, "offset": skip, **position_params(position)}
    users = list(await session.scalars(USERS_PAGE[position is not None], params))
    matching = await session.scalar(COUNT_USERS) or 0
    next_cursor = None
    if len(users) > limit:
        last = users[limit - 1]
        assert last.id is not None
        next_cursor = codec.encode(PagedList.USERS, Position(last.created_at, last.id))
    return page(users[:limit], limit=limit, offset=skip, matching=matching, next_cursor=next_cursor)


async def update_user(session: AsyncSession, user_id: int, body: UserUpdate) -> User:
    """The user with the fields that `body` sets changed; `UserNotFound` for none."""
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound
    user.sqlmodel_update(body.model_dump(exclude_unset=True))
    return user
