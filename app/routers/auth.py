"""Sign-up, login (JSON and the OAuth2 password form), refresh-token rotation, logout and
password reset by email."""

from typing import Annotated, Any

from fastapi import Depends, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError

from app.db import SessionDep
from app.errors import AccountDeactivated, EmailTaken, HashingQueueFull, RefreshTokenReplayed
from app.limits import AUTH_RATE_LIMITED, client_address
from app.logging_setup import log_security_event
from app.routers.common import MailerDep, PrefixedRouter, error_responses, success_response
from app.schemas import (
    ErrorDetail,
    LoginRequest,
    Notice,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    TokenPair,
)
from app.security import SettingsDep, hash_password
from app.services import auth, password_reset
from app.tables import User, UserCreate, UserPublic
from app.unit_of_work import commit

router = PrefixedRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    operation_id="signup",
    summary="Create a customer account",
    responses=error_responses(409, 413, 422, 429),
    dependencies=[AUTH_RATE_LIMITED],
)
async def signup(body: UserCreate, session: SessionDep, settings: SettingsDep) -> User:
    """Create a customer (never an admin). The email is stored lower-cased and must be unique."""
    hashed = await hash_password(body.password, settings.bcrypt_rounds)
    user = User.model_validate(body, update={"hashed_password": hashed})
    session.add(user)
    await commit(session, EmailTaken)
    return user


async def _login(
    request: Request, email: str, password: str, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    attempt = await auth.reserve_login_attempt(session, email, client_address(request), settings)
    # The attempt is recorded, and the transaction ended, before bcrypt checks the password.
    await commit(session)
    try:
        user = await auth.authenticate(session, attempt, password, settings)
    except (AccountDeactivated, HashingQueueFull):
        # The right password still clears the failures; an unchecked one is no failure.
        await commit(session)
        raise
    assert user.id is not None
    pair = auth.issue_token_pair(session, user.id, settings)
    await commit(session)
    return pair


LOGIN_RESPONSES = error_responses(401, 403, 413, 422, 429)
FORM_FIELDS = {"email": "username", "password": "password"}


@router.post(
    "/login",
    operation_id="login",
    summary="Log in with email and password",
    responses=LOGIN_RESPONSES,
    dependencies=[AUTH_RATE_LIMITED],
)
async def login(
    request: Request, body: LoginRequest, session: SessionDep, settings: SettingsDep
) -> TokenPair:
    """Returns an access token and a refresh token.

    A wrong password and an unknown email get the same 401. After `LOGIN_MAX_FAILURES`
    failures within `LOGIN_FAILURE_WINDOW_MINUTES` from one client address (or ten times
    as many from all addresses together) the email is locked out for that address with 429
    and a `Retry-After` header, even for the right password, until the window passes.
    """
    return await _login(request, body.email, body.password, session, settings)


async def reject_empty_grant_type(request: Request) -> None:
    """FastAPI reads an empty form field as a missing one, but `grant_type=` is neither
    absent nor `password`: it is refused like any other grant type."""
    if (await request.form()).get("grant_type") == "":
        raise RequestValidationError(
            [
                {
                    "type": "string_pattern_mismatch",
                    "loc": ("body", "grant_type"),
                    "msg": "String should match pattern '^password$'",
                    "input": "",
                }
            ]
        )


@router.post(
    "/token",
    operation_id="login_form",
    summary="Log in with the OAuth2 password form (Swagger's Authorize)",
    responses=LOGIN_RESPONSES,
    dependencies=[AUTH_RATE_LIMITED, Depends(reject_empty_grant_type)],
)
async def login_form(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenPair:
    """The OAuth2 password flow: `username` is the email. Same rules as `/auth/login`."""
    try:
        credentials = LoginRequest(email=form.username, password=form.password)
    except ValidationError as exc:
        raise RequestValidationError(
            [
                {**error, "loc": ("body", FORM_FIELDS[str(error["loc"][0])])}
                for error in exc.errors(include_url=False)
            ]
        ) from exc
    return await _login(request, credentials.email, credentials.password, session, settings)


@router.post(
    "/refresh",
    operation_id="refresh_tokens",
    summary="Exchange a refresh token for a new pair",
    responses=error_responses(401, 413, 422, 429),
    dependencies=[AUTH_RATE_LIMITED],
)
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    """Rotates the refresh token: the presented one is retired. Presenting a retired token
    again is treated as theft: every refresh token of that login is revoked (401)."""
    try:
        pair = await auth.rotate_refresh_token(session, body.refresh_token, settings)
    except RefreshTokenReplayed:
        await commit(session)  # the family stays revoked
        raise
    await commit(session)
    return pair


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="logout",
    summary="Revoke a refresh token",
    responses=error_responses(401, 413, 422),
)
async def logout(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> None:
    """Revokes the refresh token and every token rotated from the same login.
    Access tokens already issued stay valid until they expire (15 minutes by default)."""
    await auth.revoke_refresh_token(session, body.refresh_token, settings)
    await commit(session)


RESET_REQUESTED = "If that email has an account, a reset link is on its way"
INVALID_RESET_TOKEN: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorDetail,
        "description": "Invalid or expired reset token (or a body that cannot be decoded)",
    }
}


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="request_password_reset",
    summary="Mail a password reset link",
    response_description="Accepted, whatever the email (a link goes to an active account)",
    responses=success_response(202, {"detail": RESET_REQUESTED}) | error_responses(413, 422, 429),
    dependencies=[AUTH_RATE_LIMITED],
)
async def request_password_reset(
    body: PasswordResetRequest, session: SessionDep, settings: SettingsDep, mailer: MailerDep
) -> Notice:
    """Always 202 with the same answer, in about the same time, whether or not the email
    has an account. For an active account, mails a link to `PASSWORD_RESET_URL` with
    `?token=...`, good once for `PASSWORD_RESET_EXPIRE_MINUTES`; a newer request voids the
    earlier links. At most 3 mails per address per hour: past that, nothing is sent."""
    user, mail = await password_reset.request_reset(session, body.email, settings)
    await commit(session)
    if mail is not None:
        mailer.send_later(mail)
    log_security_event(
        "password.reset_requested",
        user_id=None if user is None else user.id,
        mailed=mail is not None,
    )
    return Notice(detail=RESET_REQUESTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="confirm_password_reset",
    summary="Set a new password with a reset token",
    response_description="The password is set: log in with it",
    responses=error_responses(413, 422, 429) | INVALID_RESET_TOKEN,
    dependencies=[AUTH_RATE_LIMITED],
)
async def confirm_password_reset(
    body: PasswordResetConfirm, session: SessionDep, settings: SettingsDep
) -> None:
    """Sets the password of the token's account; the token is spent. Every refresh token
    of the account is revoked and the email's failed logins are cleared. An unknown,
    expired, spent or voided token is 400."""
    await password_reset.check_token(session, body.token)
    await commit(session)  # no transaction open while the new password is hashed
    hashed = await hash_password(body.new_password, settings.bcrypt_rounds)
    user = await password_reset.reset_password(session, body.token, hashed)
    await commit(session)
    log_security_event("password.reset", user_id=user.id)
