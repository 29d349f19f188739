"""The caller's own account: name, email, password and closing it. Nothing here commits:
the routes do.

A password check counts as a failed login until it succeeds (the throttle of
`app.services.auth`), so a stolen access token cannot be used to guess the password.
"""

from email.message import EmailMessage

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.auth_tables import LoginFailure, PasswordResetToken
from app.config import Settings
from app.errors import EmailTaken, WrongCurrentPassword
from app.mail import compose
from app.security import verify_password
from app.services.auth import reserve_login_attempt
from app.services.users import revoke_refresh_tokens
from app.tables import User, UserSelfUpdate
from app.timestamps import utcnow

# ---------------------------------------------------------------- passwords


async def count_password_attempt(
    session: AsyncSession, user: User, client_address: str, settings: Settings
) -> None:
    """Record a check of `user`'s password as a failed login until it succeeds
    (`LoginThrottled` once the email is throttled). The route commits this before the
    password is checked, so no transaction stays open while bcrypt runs."""
    await reserve_login_attempt(session, user.email, client_address, settings)


async def check_password(
    session: AsyncSession, user: User, password: str | None, settings: Settings, client_address: str
) -> None:
    """`WrongCurrentPassword` unless `password` is the user's; a right one clears the
    email's failed logins from this address, as a successful login does."""
    if password is None or not await verify_password(
        password, user.hashed_password, settings.bcrypt_rounds
    ):
        raise WrongCurrentPassword
    await session.execute(
        delete(LoginFailure).where(
            col(LoginFailure.email) == user.email,
            col(LoginFailure.client_address) == client_address,
        )
    )


async def set_password(session: AsyncSession, user: User, hashed_password: str) -> None:
    """Store a new password hash, and log every device out: every refresh token of the user
    is revoked, every reset link they were mailed stops working, and the email's failed
    logins are forgotten."""
    assert user.id is not None
    user.hashed_password = hashed_password
    session.add(user)
    await revoke_refresh_tokens(session, user.id)
    await retire_reset_tokens(session, user.id)
    await session.execute(delete(LoginFailure).where(col(LoginFailure.email) == user.email))


async def retire_reset_tokens(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(PasswordResetToken)
        .where(
            col(PasswordResetToken.user_id) == user_id,
            col(PasswordResetToken.retired_at).is_(None),
        )
        .values(retired_at=utcnow())
    )


# ---------------------------------------------------------------- name and email


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
