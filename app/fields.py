"""The validated field types of the schemas, and the base classes of request and
response schemas: what `app.tables` builds its model families from.

The JSON Schema of each type says what its validators check, so clients (and fuzzers)
know it up front.
"""

import unicodedata
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    Strict,
    field_validator,
)
from pydantic import Field as PydanticField
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError
from sqlmodel import SQLModel

MAX_ID = 2**31 - 1
PASSWORD_MIN_BYTES = 8
PASSWORD_MAX_BYTES = 72  # bcrypt ignores anything past 72 bytes
MAX_PRICE_CENTS = 10_000_000
MAX_QUANTITY = 100
MAX_ITEMS_PER_REQUEST = 100


def reject_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def normalize_email(value: str) -> str:
    """A well-formed address, lower-cased. Addresses in the reserved `.test` domain are
    well-formed too (and used by test suites and fuzzers): nothing is ever sent to them."""
    try:
        address = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc
    return address.normalized.lower()


# Unicode's White_Space characters: what a name may not consist of alone, and what is
# stripped from around it. One list, so the schema's pattern says exactly what is checked.
WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
WHITESPACE_PATTERN = "".join(f"\\u{ord(character):04x}" for character in WHITESPACE)


def strip_name(value: str) -> str:
    """A name's length limits apply to what is sent; surrounding whitespace is then removed,
    and a name of nothing but whitespace is refused like an empty one."""
    stripped = value.strip(WHITESPACE)
    if not stripped:
        raise PydanticCustomError(
            "string_too_short",
            "String should have at least 1 character besides whitespace",
            {"min_length": 1},
        )
    return stripped


def normalize_password(value: str) -> str:
    """The form a password is hashed and checked in: Unicode NFKC, so that the same
    password typed on another keyboard or OS (composed or decomposed accents, full-width
    forms) is the same password."""
    return unicodedata.normalize("NFKC", value)


def check_password_length(value: str) -> str:
    """The byte limits apply to the normalized form, which is what bcrypt is given."""
    size = len(normalize_password(value).encode())
    if not PASSWORD_MIN_BYTES <= size <= PASSWORD_MAX_BYTES:
        raise ValueError(
            f"must be {PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes of UTF-8 (got {size})"
        )
    return value


# The schema says what the validators check, so clients (and fuzzers) know it up front.
NO_NUL = PydanticField(json_schema_extra={"pattern": "^[^\\x00]*$"})
PASSWORD_SCHEMA = PydanticField(
    json_schema_extra={
        "pattern": "^[^\\x00]*$",
        # JSON Schema counts characters, not bytes: exact for ASCII; 8 characters always
        # make 8 bytes or more, and the 72-byte ceiling for other text is in the description.
        "minLength": PASSWORD_MIN_BYTES,
        "maxLength": PASSWORD_MAX_BYTES,
    }
)

Text = Annotated[str, AfterValidator(reject_nul), NO_NUL]
"""Any client-supplied string: PostgreSQL cannot store NUL characters."""
Name = Annotated[
    str,
    AfterValidator(reject_nul),
    AfterValidator(strip_name),
    PydanticField(
        json_schema_extra={"pattern": f"^[^\\x00]*[^\\x00{WHITESPACE_PATTERN}][^\\x00]*$"}
    ),
]
"""A display name: no NUL, not blank, stored without surrounding whitespace."""
Password = Annotated[
    str, AfterValidator(reject_nul), AfterValidator(check_password_length), PASSWORD_SCHEMA
]
Email = Annotated[
    str, AfterValidator(normalize_email), PydanticField(json_schema_extra={"format": "email"})
]


def integral_number(value: object) -> object:
    """`5.0` is the integer 5 in JSON Schema (and so in the OpenAPI schema): read it as 5."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Strict integers: JSON `true`, `"5"` and `5.5` are 422, not silently coerced to 1 or 5.
READ_INTEGRAL_NUMBERS = BeforeValidator(integral_number)
StrictId = Annotated[int, Strict(), PydanticField(ge=1, le=MAX_ID), READ_INTEGRAL_NUMBERS]
PriceCents = Annotated[
    int, Strict(), PydanticField(ge=1, le=MAX_PRICE_CENTS), READ_INTEGRAL_NUMBERS
]
Quantity = Annotated[int, Strict(), PydanticField(ge=1, le=MAX_QUANTITY), READ_INTEGRAL_NUMBERS]


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

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Say so in the schema too: drop the `null` that `X | None` fields would advertise."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        for field in schema.get("properties", {}).values():
            alternatives = [a for a in field.pop("anyOf", []) if a != {"type": "null"}]
            if len(alternatives) == 1:
                field.update(alternatives[0])
            elif alternatives:
                field["anyOf"] = alternatives
            if field.get("default", ...) is None:
                del field["default"]
        return schema


class ResponseSchema(SQLModel):
    """Base of the response models: validated by pydantic-core alone.

    SQLModel's `__init__` exists to set up SQLAlchemy state on table models, and pydantic
    calls it for every nested instance it validates; a response model has no such state,
    and skipping the detour makes a page of orders with their items several times faster
    to build. pydantic's own `__init__` validates exactly the same way.
    """

    __init__ = BaseModel.__init__
