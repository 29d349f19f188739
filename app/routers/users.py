"""The caller's own account, and user management for admins."""

from typing import Annotated, Any

from fastapi import HTTPException, Request, status

from app.db import SessionDep
from app.logging_setup import log_security_event
from app.openapi import BEARER_TOKEN_REQUIRED
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
from app.services import users
from app.tables import Page, User, UserPublic, UserUpdate
from app.unit_of_work import commit

router = PrefixedRouter(prefix="/users", tags=["users"])


@router.get(
    "/me",
    response_model=UserPublic,
    operation_id="read_me",
    summary="The logged-in user",
    responses=error_responses(401),
    openapi_extra=BEARER_TOKEN_REQUIRED,
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
    openapi_extra=BEARER_TOKEN_REQUIRED,
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
    return await users.list_users(
        session, request.app.state.cursors, limit=limit, offset=offset, cursor=cursor
    )


@router.patch(
    "/{user_id}",
    response_model=UserPublic,
    operation_id="update_user",
    summary="Activate, deactivate, promote or demote a user (admin)",
    # 409: the database refused the change (the user changed meanwhile).
    responses=error_responses(401, 403, 404, 409, 413, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def update_user(
    user_id: Annotated[int, id_path("user")],
    body: UserUpdate,
    admin: AdminUser,
    session: SessionDep,
) -> User:
    """A deactivated user's tokens stop working at once, and they can no longer log in."""
    user = await users.update_user(session, user_id, body)
    await commit(session)
    log_security_event(
        "user.updated", user_id=user_id, by=admin.id, changes=sorted(body.model_fields_set)
    )
    return user
