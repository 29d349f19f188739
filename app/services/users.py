"""User management for admins: the list of users, one user, changes to an account and its
deletion, under one rule: there is always at least one active admin.

A change that could take away the last active admin (demoting, deactivating or deleting
one, through any route, the caller included) is decided under a lock that every such
change takes, so two admins demoting each other at the same moment cannot both succeed:
on PostgreSQL a transaction-level advisory lock, on SQLite the write lock that every write
transaction already holds from its start (`BEGIN IMMEDIATE`). Nothing here commits.
"""

from typing import Any

from sqlalchemy import Integer, bindparam, delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.auth_tables import RefreshToken
from app.errors import LastActiveAdmin, UserNotFound
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
from app.timestamps import utcnow

COUNT_USERS = count_of(USERS)
NEWEST_FIRST = (col(User.created_at).desc(), col(User.id).desc())
ADMINS_LOCK_ID = 7_261_017  # the advisory lock of changes to who is an active admin


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


async def get_user(session: AsyncSession, user_id: int) -> User:
    """The user with this id; `UserNotFound` for none."""
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound
    return user


async def update_user(session: AsyncSession, user_id: int, body: UserUpdate) -> User:
    """The user with the fields that `body` sets changed; `UserNotFound` for none,
    `LastActiveAdmin` when it would leave no active admin. Deactivating revokes every
    refresh token of the user (reactivating does not bring them back)."""
    if body.is_admin is False or body.is_active is False:
        user = await _lock_admins_and_read(session, user_id)
        await _keep_an_active_admin(session, user)
    else:
        user = await get_user(session, user_id)
    user.sqlmodel_update(body.model_dump(exclude_unset=True))
    session.add(user)
    if body.is_active is False:
        await revoke_refresh_tokens(session, user_id)
    return user


async def delete_user(session: AsyncSession, user_id: int) -> None:
    """Delete an account with its orders, refresh tokens, idempotency keys and reset
    tokens (the foreign keys cascade); `UserNotFound` for none, `LastActiveAdmin` for the
    last active admin."""
    user = await _lock_admins_and_read(session, user_id)
    await _keep_an_active_admin(session, user)
    await session.execute(
        delete(User).where(col(User.id) == user_id).execution_options(synchronize_session=False)
    )
    session.expunge(user)


async def revoke_refresh_tokens(session: AsyncSession, user_id: int) -> None:
    """Retire every live refresh token of the user: each of their devices must log in again."""
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.retired_at).is_(None))
        .values(retired_at=utcnow())
    )


async def _lock_admins_and_read(session: AsyncSession, user_id: int) -> User:
    """Take the lock of admin changes, then read the user afresh (the session may hold a
    copy read before the lock: the caller's own account)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(ADMINS_LOCK_ID)))
    user = await session.get(User, user_id, populate_existing=True)
    if user is None:
        raise UserNotFound
    return user


async def _keep_an_active_admin(session: AsyncSession, user: User) -> None:
    """`LastActiveAdmin` if `user` is an active admin and no other is (under the lock)."""
    if not (user.is_admin and user.is_active):
        return
    others = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(col(User.is_admin), col(User.is_active), col(User.id) != user.id)
    )
    if not others:
        raise LastActiveAdmin
