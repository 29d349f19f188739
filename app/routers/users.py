"""The caller's own account, and user management for admins."""

from typing import Annotated, Any

from fastapi import Request, status
from fastapi.responses import Response

from app.config import Settings
from app.db import SessionDep
from app.errors import LAST_ACTIVE_ADMIN, EmailTaken
from app.limits import client_address
from app.logging_setup import log_security_event
from app.openapi import BEARER_TOKEN_REQUIRED
from app.routers.common import (
    DEFAULT_LIMIT,
    TOKEN_PAIR_EXAMPLE,
    USER_EXAMPLE,
    Cursor,
    Limit,
    MailerDep,
    Offset,
    PrefixedRouter,
    error_responses,
    id_path,
    success_response,
)
from app.schemas import AccountDeletion, ErrorDetail, Page, PasswordChange, TokenPair
from app.security import AdminUser, CurrentUser, SettingsDep, hash_password
from app.services import accounts, auth, users
from app.tables import User, UserPublic, UserSelfUpdate, UserUpdate
from app.unit_of_work import commit

router = PrefixedRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, id_path("user")]


def _documented(code: int, description: str) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorDetail, "description": description}}


WRONG_PASSWORD = _documented(403, "Current password is incorrect")
PASSWORD_THROTTLED = _documented(
    429, "Too many wrong passwords for this email (they count as failed logins)"
)
LAST_ADMIN = _documented(409, LAST_ACTIVE_ADMIN)
A_USER = success_response(200, USER_EXAMPLE)


async def _check_current_password(
    request: Request, session: SessionDep, user: User, password: str | None, settings: Settings
) -> None:
    """Check the caller's password as a login would: the attempt is recorded (and
    committed) as a failure first, so a wrong one counts towards the throttle of the email
    (429 once throttled), and no transaction stays open while bcrypt runs. A right one
    clears the email's failures from this address, committed too, whatever the request
    does next."""
    address = client_address(request)
    if password is None:
        await accounts.check_password(session, user, None, settings, address)
    await accounts.count_password_attempt(session, user, address, settings)
    await commit(session)
    await accounts.check_password(session, user, password, settings, address)
    await commit(session)


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


@router.patch(
    "/me",
    response_model=UserPublic,
    operation_id="update_me",
    summary="Change your name or email",
    response_description="Your account as it is now",
    responses=A_USER
    | error_responses(401, 413, 422)
    | WRONG_PASSWORD
    | _documented(409, "An account with this email already exists")
    | PASSWORD_THROTTLED,
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def update_me(
    request: Request,
    body: UserSelfUpdate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
) -> User:
    """The name changes at once. A new email needs `current_password` (403 without it or
    when it is wrong; a wrong one counts as a failed login, 429 once throttled) and is 409
    when another account has it; a notice goes to the *old* address, and reset links
    mailed before stop working."""
    if accounts.changes_email(user, body):
        await _check_current_password(request, session, user, body.current_password, settings)
    notice = await accounts.update_own_account(session, user, body, settings)
    await commit(session, EmailTaken)
    if notice is not None:
        mailer.send_later(notice)
    changed = sorted(body.model_dump(exclude_unset=True).keys() - {"current_password"})
    log_security_event("user.updated", user_id=user.id, by=user.id, changes=changed)
    return user


@router.post(
    "/me/password",
    operation_id="change_password",
    summary="Change your password",
    response_description="A fresh token pair for this device; every other device is logged out",
    responses=success_response(200, TOKEN_PAIR_EXAMPLE)
    | error_responses(401, 413, 422)
    | WRONG_PASSWORD
    | PASSWORD_THROTTLED,
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def change_password(
    request: Request,
    body: PasswordChange,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> TokenPair:
    """Checks `current_password` (a wrong one is 403 and counts as a failed login; 429 once
    throttled), stores the new one, logs every device out (every refresh token of the
    account is revoked, reset links stop working) and returns a fresh token pair for this
    device."""
    await _check_current_password(request, session, user, body.current_password, settings)
    hashed = await hash_password(body.new_password, settings.bcrypt_rounds)
    await accounts.set_password(session, user, hashed)
    assert user.id is not None
    pair = auth.issue_token_pair(session, user.id, settings)
    await commit(session)
    log_security_event("password.changed", user_id=user.id)
    return pair


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="delete_me",
    summary="Close your account",
    response_description="The account and everything of it is deleted",
    responses=error_responses(401, 413, 422) | WRONG_PASSWORD | LAST_ADMIN | PASSWORD_THROTTLED,
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def delete_me(
    request: Request,
    body: AccountDeletion,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    """With the right `password` (a wrong one is 403 and counts as a failed login), deletes
    the account with its orders, refresh tokens and idempotency keys; its access tokens
    stop working at once. 409 for the last active admin."""
    await _check_current_password(request, session, user, body.password, settings)
    assert user.id is not None
    await users.delete_user(session, user.id)
    await commit(session)
    log_security_event("user.deleted", user_id=user.id, by=user.id)


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


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    operation_id="read_user",
    summary="One user (admin)",
    response_description="The user",
    responses=A_USER | error_responses(401, 403, 404, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def read_user(user_id: UserId, _admin: AdminUser, session: SessionDep) -> User:
    """Any account, by id."""
    return await users.get_user(session, user_id)


@router.patch(
    "/{user_id}",
    response_model=UserPublic,
    operation_id="update_user",
    summary="Rename, activate, deactivate, promote or demote a user (admin)",
    response_description="The user as it is now",
    responses=A_USER | error_responses(401, 403, 404, 413, 422) | LAST_ADMIN,
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def update_user(
    user_id: UserId,
    body: UserUpdate,
    admin: AdminUser,
    session: SessionDep,
) -> User:
    """A deactivated user's tokens stop working at once: their refresh tokens are revoked
    (reactivating does not bring them back) and they can no longer log in. Demoting or
    deactivating the last active admin, yourself included, is 409."""
    user = await users.update_user(session, user_id, body)
    await commit(session)
    log_security_event(
        "user.updated", user_id=user_id, by=admin.id, changes=sorted(body.model_fields_set)
    )
    return user


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="delete_user",
    summary="Delete a user and their orders (admin)",
    response_description="The user and everything of theirs is deleted",
    responses=error_responses(401, 403, 404, 422) | LAST_ADMIN,
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def delete_user(user_id: UserId, admin: AdminUser, session: SessionDep) -> None:
    """Deletes the account with its orders, refresh tokens and idempotency keys; its
    access tokens stop working at once. Deleting the last active admin, yourself
    included, is 409."""
    await users.delete_user(session, user_id)
    await commit(session)
    log_security_event("user.deleted", user_id=user_id, by=admin.id)
