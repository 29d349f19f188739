"""Accounts: the caller's own (name, email, password, closing it) and admin management of
every account, under one rule: there is always at least one active admin.

Nothing here commits: the routes do. A change that could take away the last active admin
(demoting, deactivating or deleting one) is decided under a lock that every such change
takes, so two admins demoting each other at the same moment cannot both succeed: on
PostgreSQL a transaction-level advisory lock, on SQLite the write lock that every write
transaction already holds from its start (`BEGIN IMMEDIATE`).
"""

import logging
from email.message import EmailMessage

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.config import Settings
from app.errors import EmailTaken, LastActiveAdmin, UserNotFound, WrongCurrentPassword
from app.mail import compose
from app.security import verify_password
from app.services.auth import reserve_login_attempt
from app.tables import (
    LoginFailure,
    PasswordResetToken,
    RefreshToken,
    User,
    UserSelfUpdate,
    UserUpdate,
    utcnow,
)

logger = logging.getLogger("app.accounts")

ADMINS_LOCK_ID = 7_261_017  # the advisory lock of changes to who is an active admin


def security_event(event: str, **fields: object) -> None:
    """A security event in the log, under its stable `event` name."""
    logger.info("%s %s", event, fields, extra={"event": event, **fields})


# ---------------------------------------------------------------- passwords


async def count_password_attempt(session: AsyncSession, user: User, settings: Settings) -> None:
    """Count a check of `user`'s password as a failed login until it succeeds (429 once the
    email is throttled), as a login would: a stolen access token cannot be used to guess
    the password. The route commits this before the password is checked."""
    await reserve_login_attempt(session, user.email, settings)


async def check_password(
    session: AsyncSession, user: User, password: str | None, settings: Settings
) -> None:
    """`WrongCurrentPassword` unless `password` is the user's; a right one clears the
    email's failed logins, as a successful login does."""
    if password is None or not await verify_password(
        password, user.hashed_password, settings.bcrypt_rounds
    ):
        raise WrongCurrentPassword
    await session.execute(delete(LoginFailure).where(col(LoginFailure.email) == user.email))


async def set_password(session: AsyncSession, user: User, hashed_password: str) -> None:
    """Store a new password hash, and log every device out: every refresh token of the user
    is revoked and every reset link they were mailed stops working."""
    user.hashed_password = hashed_password
    session.add(user)
    assert user.id is not None
    await revoke_refresh_tokens(session, user.id)
    await retire_reset_tokens(session, user.id)
    await session.execute(delete(LoginFailure).where(col(LoginFailure.email) == user.email))


async def revoke_refresh_tokens(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.retired_at).is_(None))
        .values(retired_at=utcnow())
    )


async def retire_reset_tokens(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(PasswordResetToken)
        .where(
            col(PasswordResetToken.user_id) == user_id,
            col(PasswordResetToken.retired_at).is_(None),
        )
        .values(retired_at=utcnow())
    )


# ---------------------------------------------------------------- the caller's own account


def changes_email(user: User, changes: UserSelfUpdate) -> bool:
    return changes.email is not None and changes.email != user.email


async def update_own_account(
    session: AsyncSession, user: User, changes: UserSelfUpdate, settings: Settings
) -> EmailMessage | None:
    """Apply a name or email change (the route has checked the password for an email
    change); for an email change, the notice to mail to the old address once committed.
    `EmailTaken` when another account has that email."""
    if changes.name is not None:
        user.name = changes.name
    notice = None
    if changes.email is not None and changes_email(user, changes):
        taken = await session.scalar(select(col(User.id)).where(col(User.email) == changes.email))
        if taken is not None:
            raise EmailTaken
        notice = email_changed_notice(settings, user.email, changes.email)
        user.email = changes.email
        assert user.id is not None
        # Reset links went to the old address: whoever reads that mailbox now is not asked.
        await retire_reset_tokens(session, user.id)
    session.add(user)
    return notice


def email_changed_notice(settings: Settings, old_email: str, new_email: str) -> EmailMessage:
    text = (
        "Hello,\n\n"
        f"The email address of your Orders API account was changed to {new_email}.\n"
        "From now on you log in with that address, and mail about the account goes there.\n\n"
        "If you did not make this change, reply to this message or contact the restaurant\n"
        "at once: someone else may be using your account.\n"
    )
    return compose(settings, old_email, "Your email address was changed", text)


# ---------------------------------------------------------------- admin management


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound
    return user


async def update_user(session: AsyncSession, user_id: int, changes: UserUpdate) -> User:
    """An admin's change to an account: name, is_active, is_admin. Deactivating revokes
    every refresh token of the user (reactivating does not bring them back).
    `LastActiveAdmin` when it would leave no active admin."""
    if changes.is_admin is False or changes.is_active is False:
        user = await _lock_admins_and_read(session, user_id)
        await _keep_an_active_admin(session, user)
    else:
        user = await get_user(session, user_id)
    user.sqlmodel_update(changes.model_dump(exclude_unset=True))
    session.add(user)
    if changes.is_active is False:
        await revoke_refresh_tokens(session, user_id)
    return user


async def delete_user(session: AsyncSession, user_id: int) -> User:
    """Delete an account with its orders, refresh tokens, idempotency keys and reset tokens
    (the foreign keys cascade); `LastActiveAdmin` when it is the last active admin."""
    user = await _lock_admins_and_read(session, user_id)
    await _keep_an_active_admin(session, user)
    await session.execute(
        delete(User).where(col(User.id) == user_id).execution_options(synchronize_session=False)
    )
    session.expunge(user)
    return user


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
