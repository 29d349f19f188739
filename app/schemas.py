"""The API's shapes that are no table's: credentials and tokens, the account requests that
carry a password, pages, messages and the error bodies."""

from typing import Any, Generic, Literal, NotRequired, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here before 3.12

from app.fields import (
    PASSWORD_MAX_BYTES,
    PASSWORD_MIN_BYTES,
    Email,
    Password,
    RequestSchema,
    Text,
)

# ---------------------------------------------------------------- accounts and passwords

CURRENT_PASSWORD_FIELD = Field(max_length=1024, description="The password the account has now")
NEW_PASSWORD_DESCRIPTION = (
    f"{PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes of UTF-8 (after Unicode NFKC)"
)


class PasswordChange(RequestSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"current_password": "pepperoni-42", "new_password": "quattro-formaggi-7"}]
        }
    )

    current_password: Text = CURRENT_PASSWORD_FIELD
    new_password: Password = Field(description=NEW_PASSWORD_DESCRIPTION)


class AccountDeletion(RequestSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"password": "pepperoni-42"}]})

    password: Text = CURRENT_PASSWORD_FIELD


class PasswordResetRequest(RequestSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "carla@example.com"}]})

    email: Email = Field(max_length=254)


RESET_TOKEN_MAX_LENGTH = 256


class PasswordResetConfirm(RequestSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "Xq3u9mF1c2Vh8T0aLr5pW7yN4eK6dJ2bQ1sZ8vH3gA0",
                    "new_password": "quattro-formaggi-7",
                }
            ]
        }
    )

    token: Text = Field(
        min_length=1, max_length=RESET_TOKEN_MAX_LENGTH, description="The token from the link"
    )
    new_password: Password = Field(description=NEW_PASSWORD_DESCRIPTION)


class Notice(SQLModel):
    detail: str = Field(description="What happens next")


# ---------------------------------------------------------------- authentication


class LoginRequest(RequestSchema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "carla@example.com", "password": "pepperoni-42"}]}
    )

    email: Email
    password: Text = Field(max_length=1024)


class RefreshRequest(RequestSchema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"refresh_token": "eyJhbGciOiJIUzI1NiJ9.e30.signature"}]}
    )

    refresh_token: Text = Field(max_length=4096)


class TokenPair(SQLModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")


# ---------------------------------------------------------------- shared shapes

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first. Read on with `next_cursor`: pass it as `cursor`
    for the page after this one."""

    data: list[T]
    count: int = PydanticField(
        description="How many items match, over all pages: exact up to 10,000; when more "
        "match, 10,000 (and `count_exact` is false)"
    )
    count_exact: bool = PydanticField(
        description="Whether `count` is exact: false when more than 10,000 items match"
    )
    limit: int
    offset: int = PydanticField(description="Items skipped: the request's `offset`, 0 by cursor")
    next_cursor: str | None = PydanticField(
        description="The page after this one: pass it as `cursor`, with the same filters. "
        "null on the last page. Opaque: use it exactly as it is"
    )


class Message(SQLModel):
    status: str


class ErrorDetail(BaseModel):
    """The body of every error but the 422s."""

    detail: str = PydanticField(description="What went wrong, in words a client can act on")


class ValidationIssue(TypedDict):
    """One problem with the input: where it is, what is wrong, and of which kind."""

    loc: list[str | int]
    msg: str
    type: str
    input: NotRequired[Any]
    ctx: NotRequired[dict[str, Any]]


class ValidationErrorDetail(BaseModel):
    """The body of a 422: every problem found with the input."""

    detail: list[ValidationIssue]


class Unavailable(BaseModel):
    """Readiness refused: the database cannot serve reads and writes now."""

    status: Literal["unavailable"]
    detail: str = PydanticField(description="Why the database cannot serve")


def public_json(content: Any) -> bytes:
    """`content`, rows already in the shape of a `...Public` model, as JSON: the bytes the
    model itself would write (UTC timestamps end in `Z`), written by orjson, which is
    faster at plain dicts than pydantic-core."""
    return orjson.dumps(content, option=orjson.OPT_UTC_Z)
