"""SQLModel classes: the tables and the request/response schemas derived from them.

Each entity has one family: a `...Base` with the shared, validated fields, the table
class (`table=True`), and `...Create`, `...Update`, `...Public` schemas. Request schemas
reject unknown fields, so a client cannot set what the contract does not let it set.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    StringConstraints,
    field_validator,
)
from pydantic import Field as PydanticField
from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

MAX_ID = 2**31 - 1
PASSWORD_MIN_BYTES = 8
PASSWORD_MAX_BYTES = 72  # bcrypt ignores anything past 72 bytes


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def reject_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def check_password_length(value: str) -> str:
    size = len(value.encode())
    if not PASSWORD_MIN_BYTES <= size <= PASSWORD_MAX_BYTES:
        raise ValueError(
            f"must be {PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes of UTF-8 (got {size})"
        )
    return value


Text = Annotated[str, AfterValidator(reject_nul)]
"""Any client-supplied string: PostgreSQL cannot store NUL characters."""
Name = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(reject_nul)]
Password = Annotated[str, AfterValidator(reject_nul), AfterValidator(check_password_length)]
Email = Annotated[EmailStr, AfterValidator(str.lower)]
Id = Annotated[int, PydanticField(ge=1, le=MAX_ID)]


def timestamp_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RequestSchema(SQLModel):
    """Base of every request body: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class PatchSchema(RequestSchema):
    """A partial update: fields may be left out, but a field that is sent may not be null."""

    @field_validator("*", mode="before")
    @classmethod
    def reject_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


# ---------------------------------------------------------------- users


class UserBase(SQLModel):
    name: Name = Field(min_length=1, max_length=100)
    email: Email = Field(max_length=254, unique=True)


class User(UserBase, table=True):
    __tablename__: ClassVar[str] = "users"

    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str = Field(max_length=100)
    is_active: bool = True
    is_admin: bool = False
    created_at: datetime = timestamp_field()


class UserCreate(UserBase, RequestSchema):
    password: Password = Field(
        description=f"{PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes of UTF-8"
    )


class UserUpdate(PatchSchema):
    is_active: bool | None = None
    is_admin: bool | None = None


class UserPublic(UserBase):
    id: int
    is_active: bool
    is_admin: bool
    created_at: datetime


# ---------------------------------------------------------------- authentication


class RefreshToken(SQLModel, table=True):
    """An issued refresh token. A login starts a family; each refresh retires one and adds one."""

    __tablename__: ClassVar[str] = "refresh_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    family_id: str = Field(max_length=64, index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = timestamp_field()


class LoginFailure(SQLModel, table=True):
    """One failed login, kept in the database so the throttle holds across workers."""

    __tablename__: ClassVar[str] = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class LoginRequest(RequestSchema):
    email: Email
    password: Text = Field(max_length=1024)


class RefreshRequest(RequestSchema):
    refresh_token: Text = Field(max_length=4096)


class TokenPair(SQLModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")


# ---------------------------------------------------------------- shared shapes

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first."""

    data: list[T]
    count: int = PydanticField(description="How many items match, over all pages")
    limit: int
    offset: int


class Message(SQLModel):
    status: str


class ErrorDetail(BaseModel):
    detail: Any = PydanticField(description="What went wrong, in words a client can act on")
