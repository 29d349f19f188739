"""Password reset by email: a single-use link to the account's address.

The token in the link is 32 random bytes (43 URL-safe characters); only its SHA-256 is
stored, so a copy of the database resets nobody's password. A token is good for
`PASSWORD_RESET_EXPIRE_MINUTES`, once, and only while it is the user's newest: a newer
request, a password change or a completed reset retires the earlier ones. An address gets
at most `MAILS_PER_ADDRESS_PER_HOUR` reset mails an hour; past that, requests are answered
the same and send nothing. Nothing here commits: the routes do.
"""

import hashlib
import secrets
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth_tables import PasswordResetToken
from app.config import Settings
from app.errors import InvalidResetToken
from app.mail import compose
from app.services.accounts import retire_reset_tokens, set_password
from app.tables import User
from app.timestamps import utcnow

TOKEN_BYTES = 32
MAILS_PER_ADDRESS_PER_HOUR = 3
ONE_HOUR = timedelta(hours=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def request_reset(
    session: AsyncSession, email: str, settings: Settings
) -> tuple[User | None, EmailMessage | None]:
    """The account with this email, and the reset mail to send it once committed: no mail
    for an unknown or deactivated account, nor past the hourly limit of the address.

    Both outcomes make the same reads, so they take about the same time. Requests for one
    address are serialized (SQLite's write lock; an advisory lock on PostgreSQL), so a
    burst cannot pass the hourly limit."""
    if session.get_bind().dialect.name == "postgresql":
        lock_key = func.hashtextextended(f"password-reset:{email}", 0)
        await session.execute(select(func.pg_advisory_xact_lock(lock_key)))
    user = await session.scalar(select(User).where(col(User.email) == email))
    mailed_this_hour = await session.scalar(
        select(func.count())
        .select_from(PasswordResetToken)
        .where(
            col(PasswordResetToken.email) == email,
            col(PasswordResetToken.created_at) > utcnow() - ONE_HOUR,
        )
    )
    if user is None or not user.is_active or (mailed_this_hour or 0) >= MAILS_PER_ADDRESS_PER_HOUR:
        return user, None
    assert user.id is not None
    await retire_reset_tokens(session, user.id)
    await _forget_old_tokens(session, user.id)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expire_minutes = settings.password_reset_expire_minutes
    session.add(
        PasswordResetToken(
            token_hash=token_hash(token),
            user_id=user.id,
            email=email,
            expires_at=utcnow() + timedelta(minutes=expire_minutes),
        )
    )
    return user, reset_mail(settings, email, token)


async def _forget_old_tokens(session: AsyncSession, user_id: int) -> None:
    """Delete the user's unusable tokens once they no longer count towards the hourly
    limit, so the table holds about three rows per address at most."""
    now = utcnow()
    await session.execute(
        delete(PasswordResetToken).where(
            col(PasswordResetToken.user_id) == user_id,
            col(PasswordResetToken.created_at) <= now - ONE_HOUR,
            or_(
                col(PasswordResetToken.retired_at).is_not(None),
                col(PasswordResetToken.expires_at) <= now,
            ),
        )
    )


def reset_link(settings: Settings, token: str) -> str:
    return f"{settings.password_reset_url}?token={token}"


def reset_mail(settings: Settings, email: str, token: str) -> EmailMessage:
    minutes = settings.password_reset_expire_minutes
    text = (
        "Hello,\n\n"
        "Someone (hopefully you) asked to reset the password of your Orders API account.\n"
        "To choose a new password, open this link:\n\n"
        f"{reset_link(settings, token)}\n\n"
        f"The link works once, for {minutes} minutes. If you did not ask for it, ignore\n"
        "this message: your password stays as it is.\n"
    )
    return compose(settings, email, "Reset your password", text)


async def check_token(session: AsyncSession, token: str) -> None:
    """`InvalidResetToken` unless the token is unspent, unexpired and still its user's
    newest (a read, so the route can end the transaction before hashing the password)."""
    found = await session.scalar(
        select(col(PasswordResetToken.id)).where(
            col(PasswordResetToken.token_hash) == token_hash(token),
            col(PasswordResetToken.retired_at).is_(None),
            col(PasswordResetToken.expires_at) > utcnow(),
        )
    )
    if found is None:
        raise InvalidResetToken


async def reset_password(session: AsyncSession, token: str, hashed_password: str) -> User:
    """Spend the token and set the password of its user: every refresh token revoked, every
    other reset token retired, the email's failed logins cleared. The token is spent by one
    conditional UPDATE, so of two requests with the same token only one succeeds."""
    spent = await session.execute(
        update(PasswordResetToken)
        .where(
            col(PasswordResetToken.token_hash) == token_hash(token),
            col(PasswordResetToken.retired_at).is_(None),
            col(PasswordResetToken.expires_at) > utcnow(),
        )
        .values(retired_at=utcnow())
        .returning(col(PasswordResetToken.user_id))
    )
    user_id = spent.scalar()
    user = None if user_id is None else await session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidResetToken
    await set_password(session, user, hashed_password)
    return user
