"""Login, the failed-login throttle and refresh-token rotation.

Nothing here commits: the routes do, between the steps of a login, and before raising the
refusals whose writes must be kept (`AccountDeactivated`, `RefreshTokenReplayed`).
"""

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth_tables import LoginFailure, RefreshToken
from app.config import Settings
from app.errors import (
    AccountDeactivated,
    HashingQueueFull,
    IncorrectLogin,
    LoginThrottled,
    RefreshTokenReplayed,
    Unauthorized,
    UnknownRefreshToken,
    UserGone,
)
from app.logging_setup import log_security_event
from app.metrics import count_login
from app.schemas import TokenPair
from app.security import (
    InvalidTokenError,
    decode_token,
    encode_token,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.tables import User
from app.timestamps import utcnow

# Failures per email from every address that lock the email out: ten times those of one
# address, so that one address cannot lock a customer out of their own account.
EMAIL_CEILING_FACTOR = 10


async def login_retry_after(
    session: AsyncSession, email: str, client_address: str, settings: Settings
) -> int | None:
    """Seconds until this email may try again from this address, or None when it may now.

    Blocked while the window holds `login_max_failures` failures of the email from this
    address, or ten times as many from all addresses together; free again when the oldest
    of those failures leaves the window.
    """
    window = timedelta(minutes=settings.login_failure_window_minutes)
    now = utcnow()
    of_email = col(LoginFailure.email) == email
    of_address = col(LoginFailure.client_address) == client_address
    limits = (
        (settings.login_max_failures, of_email & of_address),
        (settings.login_max_failures * EMAIL_CEILING_FACTOR, of_email),
    )
    waits = []
    for max_failures, failures in limits:
        blocking_failure_at: datetime | None = await session.scalar(
            select(col(LoginFailure.created_at))
            .where(failures, col(LoginFailure.created_at) > now - window)
            .order_by(col(LoginFailure.created_at).desc())
            .offset(max_failures - 1)
            .limit(1)
        )
        if blocking_failure_at is not None:
            waits.append(math.ceil((blocking_failure_at + window - now).total_seconds()))
    return max(1, *waits) if waits else None


@dataclass(frozen=True)
class LoginAttempt:
    """An attempt counted as a failure before its password is checked, and the user with
    its email, if any."""

    failure: LoginFailure
    user: User | None


async def reserve_login_attempt(
    session: AsyncSession, email: str, client_address: str, settings: Settings
) -> LoginAttempt:
    """Count this attempt as a failure before its password is checked (`LoginThrottled`
    when the email is locked out for this address), with the user with this email, if any.

    The check and the record are one transaction, serialized per email (SQLite's write
    lock; an advisory lock on PostgreSQL), so a burst of concurrent attempts cannot all
    pass the check before any of them is recorded. A correct password clears the failures
    of its address; a check the full hashing queue turns away (503) clears its own record.
    The caller commits the record before the password is checked, so that no lock or
    connection is held for bcrypt's ~0.25 s.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(email, 0))))
    retry_after = await login_retry_after(session, email, client_address, settings)
    if retry_after is not None:
        log_security_event("login.throttled", email=email, retry_after=retry_after)
        count_login("throttled")
        raise LoginThrottled(retry_after)
    # Forget every email's failures that have left the window, so the table stays small;
    # rows another login is already deleting are skipped, not waited for (no deadlocks).
    window = timedelta(minutes=settings.login_failure_window_minutes)
    expired = (
        select(col(LoginFailure.id))
        .where(col(LoginFailure.created_at) <= utcnow() - window)
        .with_for_update(skip_locked=True)
    )
    await session.execute(delete(LoginFailure).where(col(LoginFailure.id).in_(expired)))
    failure = LoginFailure(email=email, client_address=client_address)
    session.add(failure)
    await session.flush()
    user: User | None = await session.scalar(select(User).where(col(User.email) == email))
    return LoginAttempt(failure, user)


async def authenticate(
    session: AsyncSession, attempt: LoginAttempt, password: str, settings: Settings
) -> User:
    """The user whose credentials these are (as `reserve_login_attempt` found them), or the
    domain error that explains why not. With the right password the failures of the
    email from this address are cleared, even when the account is deactivated; a check
    the full hashing queue turns away (`HashingQueueFull`) is no failure."""
    user, failure = attempt.user, attempt.failure
    # Always check a hash (a dummy one for an unknown email): both failures take as long.
    hashed = user.hashed_password if user else None
    try:
        password_matches = await verify_password(password, hashed, settings.bcrypt_rounds)
    except HashingQueueFull:
        await session.execute(delete(LoginFailure).where(col(LoginFailure.id) == failure.id))
        raise
    if user is None or not password_matches:
        log_security_event("login.failed", email=failure.email, known_email=user is not None)
        count_login("failure")
        raise IncorrectLogin
    if user.is_active and needs_rehash(user.hashed_password, settings.bcrypt_rounds):
        # Hashed at another cost (BCRYPT_ROUNDS changed since): store it at the current one.
        user.hashed_password = await hash_password(password, settings.bcrypt_rounds)
    # This address's failures only: a customer's login must not reopen the throttle for
    # an attacker at another address.
    await session.execute(
        delete(LoginFailure).where(
            col(LoginFailure.email) == failure.email,
            col(LoginFailure.client_address) == failure.client_address,
        )
    )
    # Expired refresh tokens can no longer be presented: keep the table to the live ones.
    await session.execute(
        delete(RefreshToken).where(
            col(RefreshToken.user_id) == user.id, col(RefreshToken.expires_at) <= utcnow()
        )
    )
    if not user.is_active:
        log_security_event("login.failed", email=failure.email, user_id=user.id, deactivated=True)
        count_login("failure")
        raise AccountDeactivated
    count_login("success")
    return user


def issue_token_pair(
    session: AsyncSession, user_id: int, settings: Settings, family_id: str | None = None
) -> TokenPair:
    """Make an access + refresh pair and record the refresh token."""
    access_ttl = timedelta(minutes=settings.access_token_expire_minutes)
    access_token, _ = encode_token(user_id, "access", access_ttl, settings)
    jti = uuid.uuid4().hex
    refresh_ttl = timedelta(days=settings.refresh_token_expire_days)
    refresh_token, expires_at = encode_token(user_id, "refresh", refresh_ttl, settings, jti=jti)
    session.add(
        RefreshToken(jti=jti, family_id=family_id or jti, user_id=user_id, expires_at=expires_at)
    )
    return TokenPair(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=int(access_ttl.total_seconds()),
    )


async def retire_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.retired_at).is_(None))
        .values(retired_at=utcnow())
    )


def _refresh_claims_jti(token: str, settings: Settings) -> str:
    try:
        jti: str = decode_token(token, "refresh", settings)["jti"]
    except InvalidTokenError as exc:
        raise Unauthorized(str(exc)) from exc
    return jti


async def rotate_refresh_token(session: AsyncSession, token: str, settings: Settings) -> TokenPair:
    """Retire the presented refresh token and issue a new pair in the same family.

    The retirement is one conditional UPDATE, so of two requests presenting the same token
    exactly one succeeds. A token that was already retired is being replayed, perhaps by a
    thief: the whole family is revoked, the legitimate holder included, and
    `RefreshTokenReplayed` tells the route to keep that revocation.
    """
    jti = _refresh_claims_jti(token, settings)
    retired = await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.jti) == jti, col(RefreshToken.retired_at).is_(None))
        .values(retired_at=utcnow())
        .returning(col(RefreshToken.family_id), col(RefreshToken.user_id))
    )
    row = retired.first()
    if row is None:
        stored = await session.get(RefreshToken, jti)
        if stored is None:
            raise UnknownRefreshToken
        await retire_family(session, stored.family_id)
        log_security_event("refresh.reuse_detected", user_id=stored.user_id)
        raise RefreshTokenReplayed
    family_id, user_id = row
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise UserGone
    return issue_token_pair(session, user_id, settings, family_id=family_id)


async def revoke_refresh_token(session: AsyncSession, token: str, settings: Settings) -> None:
    """Log out: end the login chain the token belongs to."""
    jti = _refresh_claims_jti(token, settings)
    stored = await session.get(RefreshToken, jti)
    if stored is None:
        raise UnknownRefreshToken
    await retire_family(session, stored.family_id)
