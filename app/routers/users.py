"""The caller's own account, and user management for admins."""

from functools import cache
from typing import Annotated, Any

from fastapi import HTTPException, Request, status
from sqlalchemy import Integer, bindparam
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.db import SessionDep
from app.paging import (
    CursorCodec,
    PagedList,
    Position,
    after_position,
    check_offset,
    count_at_most,
    page,
    position_params,
)
from app.routers.common import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Offset,
    PrefixedRouter,
    error_responses,
    id_path,
)
from app.security import AdminUser, CurrentUser
from app.tables import Page, User, UserPublic, UserUpdate, table_of

router = PrefixedRouter(prefix="/users", tags=["users"])
USERS = table_of(User)


@cache
def users_page(*, by_cursor: bool) -> SelectOfScalar[User]:
    """A page of users, newest first (after the cursor's position when there is one), one
    more than the page when there is one: it tells that another page follows."""
    after = [after_position(USERS.c.created_at, USERS.c.id)] if by_cursor else []
    return (
        select(User)
        .where(*after)
        .order_by(col(User.created_at).desc(), col(User.id).desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


USER_COUNT = select(count_at_most(USERS))


@router.get(
    "/me",
    response_model=UserPublic,
    operation_id="read_me",
    summary="The logged-in user",
    responses=error_responses(401),
)
async def read_me(user: CurrentUser) -> User:
    """The account the bearer token belongs to (never its password hash)."""
    return user


@router.patch("/me", include_in_schema=False)
async def patch_me() -> None:
    """`me` is not a user id: without this route `PATCH /users/me` would reach
    `PATCH /users/{user_id}` and get a 422 about the id instead of the 405 it is."""
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED)


@router.get(
    "",
    response_model=Page[UserPublic],
    operation_id="list_users",
    summary="List users (admin)",
    responses=error_responses(401, 403, 422),
)
async def list_users(
    request: Request,
    _admin: AdminUser,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Every user, newest first. Page through with `next_cursor` (pass it as `cursor`)
    until it is null; `offset` serves the first pages (at most 10,000)."""
    skip = check_offset(offset, cursor)
    cursors: CursorCodec = request.app.state.cursors
    position = None if cursor is None else cursors.decode(PagedList.USERS, cursor)
    found = await session.scalars(
        users_page(by_cursor=position is not None),
        {"limit": limit + 1, "offset": skip, **position_params(position)},
    )
    users = list(found)
    matching = await session.scalar(USER_COUNT)
    next_cursor = None
    if len(users) > limit:
        last = users[limit - 1]
        assert last.id is not None
        next_cursor = cursors.encode(PagedList.USERS, Position(last.created_at, last.id))
    return page(
        users[:limit], limit=limit, offset=skip, matching=matching or 0, next_cursor=next_cursor
    )


@router.patch(
    "/{user_id}",
    response_model=UserPublic,
    operation_id="update_user",
    summary="Activate, deactivate, promote or demote a user (admin)",
    responses=error_responses(401, 403, 404, 413, 422),
)
async def update_user(
    user_id: Annotated[int, id_path("user")],
    body: UserUpdate,
    _admin: AdminUser,
    session: SessionDep,
) -> User:
    """A deactivated user's tokens stop working at once, and they can no longer log in."""
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="User not found")
    user.sqlmodel_update(body.model_dump(exclude_unset=True))
    await session.commit()
    return user
