"""The bookkeeping tables of accounts: refresh tokens, password reset tokens, failed logins
and the auth routes' rate counters. No request or response schema is made from them."""

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from app.metadata import core_table
from app.timestamps import UTCDateTime, timestamp_field, utcnow


class RefreshToken(SQLModel, table=True):
    """An issued refresh token. A login starts a family; each refresh retires one and adds one."""

    __tablename__: ClassVar[str] = "refresh_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    family_id: str = Field(max_length=64, index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    # Indexed for the purge, which deletes the expired ones a batch at a time.
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = timestamp_field()


class PasswordResetToken(SQLModel, table=True):
    """A password reset link that was mailed. Only the token's SHA-256 is kept, so the
    table cannot be used to reset anyone's password. Retired when it is used, when a newer
    one is requested or when the password changes; the rows also count the mails sent to
    an address in the last hour."""

    __tablename__: ClassVar[str] = "password_reset_tokens"
    __table_args__ = (Index("ix_password_reset_tokens_email_created_at", "email", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, description="SHA-256, hex")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    email: str = Field(max_length=254, description="The address the link was mailed to")
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = timestamp_field()


CLIENT_ADDRESS_MAX_LENGTH = 64  # an IPv6 address with a zone is at most 45 characters


class LoginFailure(SQLModel, table=True):
    """One failed login, kept in the database so the throttle holds across workers: counted
    per email and client address, and per email from every address (§4, §11)."""

    __tablename__: ClassVar[str] = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    client_address: str = Field(
        default="", max_length=CLIENT_ADDRESS_MAX_LENGTH, sa_column_kwargs={"server_default": ""}
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class AuthRateCounter(SQLModel, table=True):
    """The requests one client address made to one auth route in one fixed window
    (`AUTH_RATE_LIMIT`), shared by every worker and instance. Rows of ended windows are
    deleted by the purge."""

    __tablename__: ClassVar[str] = "auth_rate_counters"

    route: str = Field(primary_key=True, max_length=100)
    client_address: str = Field(primary_key=True, max_length=CLIENT_ADDRESS_MAX_LENGTH)
    window_start: int = Field(
        primary_key=True, sa_type=BigInteger, description="Unix time the window began"
    )
    requests: int = Field(default=1)
    expires_at: int = Field(sa_type=BigInteger, index=True, description="Unix time it ends")


REFRESH_TOKENS = core_table(RefreshToken)
RESET_TOKENS = core_table(PasswordResetToken)
LOGIN_FAILURES = core_table(LoginFailure)
AUTH_RATE_COUNTERS = core_table(AuthRateCounter)
