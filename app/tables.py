"""SQLModel classes: the tables and the request/response schemas derived from them.

Each entity has one family: a `...Base` with the shared, validated fields, the table
class (`table=True`), and `...Create`, `...Update`, `...Public` schemas. Request schemas
reject unknown fields, so a client cannot set what the contract does not let it set.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
)
from pydantic import Field as PydanticField
from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    UniqueConstraint,
    event,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Text as SAText
from sqlmodel import Field, Relationship, SQLModel

from app.fields import (
    MAX_ITEMS_PER_REQUEST,
    MAX_PRICE_CENTS,
    MAX_QUANTITY,
    PASSWORD_MAX_BYTES,
    PASSWORD_MIN_BYTES,
    Email,
    Name,
    Password,
    PatchSchema,
    PriceCents,
    Quantity,
    RequestSchema,
    ResponseSchema,
    StrictId,
    Text,
)
from app.timestamps import UTCDateTime, timestamp_field, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


# ---------------------------------------------------------------- users


class UserBase(SQLModel):
    # Examples, or Swagger UI would show a string made up from the pattern.
    name: Name = Field(min_length=1, max_length=100, schema_extra={"examples": ["Carla Customer"]})
    email: Email = Field(max_length=254, unique=True)


class User(UserBase, table=True):
    __tablename__: ClassVar[str] = "users"
    __table_args__ = (
        # The list of users, newest first, with the id as its tie-breaker and cursor.
        Index("ix_users_created_at", "created_at", "id"),
        # Never reuse a deleted user's id (SQLite would reuse the largest): a token issued
        # to that user names them by id, and must never stand for a later account.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str = Field(max_length=100)
    is_active: bool = True
    is_admin: bool = False
    created_at: datetime = timestamp_field()


class UserCreate(UserBase, RequestSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Carla Customer", "email": "carla@example.com", "password": "pepperoni-42"}
            ]
        }
    )

    password: Password = Field(
        description=f"{PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes of UTF-8"
    )


class UserUpdate(PatchSchema):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [{"is_active": False}, {"is_admin": True}, {"name": "Carla Cook"}]
        }
    )

    name: Name | None = Field(default=None, min_length=1, max_length=100)
    is_active: bool | None = None
    is_admin: bool | None = None


CURRENT_PASSWORD_FIELD = Field(max_length=1024, description="The password the account has now")
NEW_PASSWORD_DESCRIPTION = (
    f"{PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes of UTF-8 (after Unicode NFKC)"
)


class UserSelfUpdate(PatchSchema):
    """The caller's own name and email: a new email needs the current password."""

    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {"name": "Carla Cook"},
                {"email": "carla.cook@example.com", "current_password": "pepperoni-42"},
            ]
        }
    )

    name: Name | None = Field(default=None, min_length=1, max_length=100)
    email: Email | None = Field(default=None, max_length=254)
    current_password: Text | None = Field(
        default=None, max_length=1024, description="Required to change the email"
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
    (`AUTH_RATE_LIMIT`), shared by every worker and instance. Rows of past windows are
    purged as new windows begin."""

    __tablename__: ClassVar[str] = "auth_rate_counters"

    route: str = Field(primary_key=True, max_length=100)
    client_address: str = Field(primary_key=True, max_length=CLIENT_ADDRESS_MAX_LENGTH)
    window_start: int = Field(
        primary_key=True, sa_type=BigInteger, description="Unix time the window began"
    )
    requests: int = Field(default=1)
    expires_at: int = Field(sa_type=BigInteger, index=True, description="Unix time it ends")


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
    detail: Any = PydanticField(description="What went wrong, in words a client can act on")


# ---------------------------------------------------------------- menu and orders


def public_json(content: Any) -> bytes:
    """`content`, rows already in the shape of a `...Public` model, as JSON: the bytes the
    model itself would write (UTC timestamps end in `Z`), written by orjson, which is
    faster at plain dicts than pydantic-core."""
    return orjson.dumps(content, option=orjson.OPT_UTC_Z)


class ProductBase(SQLModel):
    name: Name = Field(
        min_length=1, max_length=100, unique=True, schema_extra={"examples": ["Margherita"]}
    )
    description: Text = Field(
        default="", max_length=500, schema_extra={"examples": ["Tomato, fior di latte, basil"]}
    )
    price_cents: PriceCents = Field(description="Price in cents, 1 to 10,000,000")
    is_available: StrictBool = Field(default=True, description="Shown on the public menu")


class Product(ProductBase, table=True):
    __tablename__: ClassVar[str] = "products"
    __table_args__ = (
        # The public menu, newest first, and its count: read in order, no sort per request;
        # the whole menu (admins) likewise.
        Index("ix_products_is_available_created_at", "is_available", "created_at", "id"),
        Index("ix_products_created_at", "created_at", "id"),
        CheckConstraint(f"price_cents BETWEEN 1 AND {MAX_PRICE_CENTS}", name="price_cents_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp_field()


class ProductCreate(ProductBase, RequestSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Margherita",
                    "description": "Tomato, fior di latte, basil",
                    "price_cents": 900,
                }
            ]
        }
    )


class ProductUpdate(PatchSchema):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={"examples": [{"price_cents": 950}, {"is_available": False}]}
    )

    name: Name | None = Field(
        default=None, min_length=1, max_length=100, schema_extra={"examples": ["Margherita"]}
    )
    description: Text | None = Field(
        default=None, max_length=500, schema_extra={"examples": ["Tomato, fior di latte, basil"]}
    )
    price_cents: PriceCents | None = None
    is_available: StrictBool | None = None


class ProductPublic(ProductBase, ResponseSchema):
    id: int
    created_at: datetime


class OrderStatus(StrEnum):
    PENDING = "pending"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class OrderItemBase(SQLModel):
    product_id: StrictId
    quantity: Quantity = Field(description=f"1 to {MAX_QUANTITY}")


class OrderItem(OrderItemBase, table=True):
    """One line of an order: the product's name and price are copied when it is added."""

    __tablename__: ClassVar[str] = "order_items"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id", name="uq_order_items_order_id_product_id"),
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_QUANTITY}", name="quantity_range"),
        CheckConstraint(
            f"unit_price_cents BETWEEN 1 AND {MAX_PRICE_CENTS}", name="unit_price_cents_range"
        ),
        CheckConstraint("line_total_cents = quantity * unit_price_cents", name="line_total"),
        # Never reuse the id of a removed line: a client may still hold it.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    # Optional only until the unit of work fills it in from the `order` relationship.
    order_id: int | None = Field(
        default=None, foreign_key="orders.id", ondelete="CASCADE", nullable=False
    )
    # RESTRICT: a product that was ever ordered is made unavailable, never deleted.
    product_id: int = Field(foreign_key="products.id", ondelete="RESTRICT", index=True)
    product_name: str = Field(max_length=100)
    unit_price_cents: int
    line_total_cents: int

    order: "Order" = Relationship(back_populates="items", sa_relationship_kwargs={"lazy": "raise"})


class OrderItemCreate(OrderItemBase, RequestSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"product_id": 1, "quantity": 2}]})


class OrderItemUpdate(RequestSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"quantity": 3}]})

    quantity: Quantity = Field(description=f"The line's new quantity, 1 to {MAX_QUANTITY}")


class OrderItemPublic(OrderItemBase, ResponseSchema):
    id: int
    order_id: int
    product_name: str = Field(description="The product's name when it was added")
    unit_price_cents: int = Field(description="The product's price when it was added")
    line_total_cents: int = Field(description="quantity * unit_price_cents")


class OrderBase(SQLModel):
    status: OrderStatus = Field(
        default=OrderStatus.PENDING,
        sa_type=SAEnum(
            OrderStatus,
            name="order_status",
            native_enum=False,
            length=16,
            create_constraint=True,
            validate_strings=True,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
    )
    total_cents: int = Field(
        default=0, sa_type=BigInteger, description="The sum of the lines' totals, in cents"
    )


class Order(OrderBase, table=True):
    __tablename__: ClassVar[str] = "orders"
    __table_args__ = (
        # A customer's orders, newest first; everyone's orders (admins), newest first; the
        # status filter, alone and with a user's. Each ends with the id, the listing's
        # tie-breaker: a page, at any cursor, is one range of one of them.
        Index("ix_orders_user_id_created_at", "user_id", "created_at", "id"),
        Index("ix_orders_created_at", "created_at", "id"),
        Index("ix_orders_status_created_at", "status", "created_at", "id"),
        Index("ix_orders_user_id_status_created_at", "user_id", "status", "created_at", "id"),
        CheckConstraint("total_cents >= 0", name="total_cents_not_negative"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()

    items: list[OrderItem] = Relationship(
        back_populates="order",
        sa_relationship_kwargs={"lazy": "raise", "order_by": "OrderItem.id"},
    )


class OrderCreate(RequestSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]},
                {},
            ]
        }
    )

    items: list[OrderItemCreate] = Field(
        default_factory=list,
        max_length=MAX_ITEMS_PER_REQUEST,
        description="Lines to start with; the same product twice is merged into one line",
    )


class OrderPublic(OrderBase, ResponseSchema):
    id: int
    user_id: int
    created_at: datetime
    updated_at: datetime
    items: list[OrderItemPublic]


class IdempotencyKey(SQLModel, table=True):
    """The first response to a `POST /orders` with an `Idempotency-Key`, replayed on retries."""

    __tablename__: ClassVar[str] = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    key: str = Field(max_length=255)
    request_fingerprint: str = Field(max_length=64, description="SHA-256 of the canonical body")
    order_id: int = Field(foreign_key="orders.id", ondelete="CASCADE", index=True)
    response_status: int
    response_body: str = Field(sa_type=SAText)
    # Indexed for the purge, which deletes the expired ones a batch at a time.
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )


EVERYONE = 0
"""`order_counts.user_id` of the counts over every user's orders."""
ANY_STATUS = ""
"""`order_counts.status` of the counts over every status."""
EVERYONES_COUNT_SLOTS = 32
"""The rows each count over every user's orders is spread over (by order id)."""


class OrderCount(SQLModel, table=True):
    """How many orders there are per user and status, per user, per status and in all:
    a page of orders tells its count with one lookup here instead of counting rows.

    Kept by triggers on `orders` (see `ORDER_COUNT_TRIGGERS`), in the transaction of every
    change: whatever inserts, deletes (a user's deletion cascading included) or changes an
    order's status, the counts change with it. A count is the sum of its rows' `orders`.
    The counts over every user's orders are spread over `EVERYONES_COUNT_SLOTS` rows each,
    an order counted in the slot of its id: on PostgreSQL a transaction that counts an
    order holds its count rows locked until it commits, and with one row per count every
    order created anywhere would wait for the one before to commit. A user's own counts
    keep one row each (slot 0): only that user's own concurrent orders wait on them.
    """

    __tablename__: ClassVar[str] = "order_counts"

    user_id: int = Field(primary_key=True, description=f"{EVERYONE}: every user")
    status: str = Field(primary_key=True, max_length=16, description="empty: every status")
    slot: int = Field(primary_key=True, sa_type=SmallInteger, description="0 for a user's")
    orders: int = Field(sa_type=BigInteger)


def _count_keys(row: str, change: int | None = None) -> str:
    """The four counts an order of `row` (NEW, OLD or a transition table) is in, as SQL
    row values (user, status, slot), each with `change` when given."""
    slot = f"{row}.id % {EVERYONES_COUNT_SLOTS}"
    keys = (
        f"{EVERYONE}, '{ANY_STATUS}', {slot}",
        f"{EVERYONE}, {row}.status, {slot}",
        f"{row}.user_id, '{ANY_STATUS}', 0",
        f"{row}.user_id, {row}.status, 0",
    )
    with_change = "" if change is None else f", {change}"
    return ", ".join(f"({key}{with_change})" for key in keys)


def _sqlite_count_change(row: str, change: int) -> str:
    return (
        f"INSERT INTO order_counts (user_id, status, slot, orders) VALUES {_count_keys(row, change)} "  # noqa: S608, E501 - constants only
        "ON CONFLICT (user_id, status, slot) DO UPDATE SET orders = orders + excluded.orders;"
    )


def _postgresql_statement_count(function: str, rows: str, sign: str) -> str:
    """A function for a statement-level trigger: the counts of the statement's rows (the
    transition table `rows`), added (`sign` empty) or taken away (`-`), in one upsert. Its
    rows are sorted, so concurrent transactions lock the counts in one order: no deadlock."""
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (user_id, status, slot, orders)
  SELECT key.user_id, key.status, key.slot, {sign}count(*)
  FROM {rows} CROSS JOIN LATERAL (VALUES {_count_keys(rows)}) AS key (user_id, status, slot)
  GROUP BY key.user_id, key.status, key.slot
  ORDER BY key.user_id, key.status, key.slot
  ON CONFLICT (user_id, status, slot)
  DO UPDATE SET orders = order_counts.orders + excluded.orders;
  RETURN NULL;
END $$"""  # noqa: S608 - built from constants only


POSTGRESQL_STATUS_CHANGE = f"""
CREATE OR REPLACE FUNCTION order_counts_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_counts (user_id, status, slot, orders)
  SELECT key.user_id, key.status, key.slot, sum(key.change)
  FROM (VALUES {_count_keys("OLD", -1)}, {_count_keys("NEW", 1)})
    AS key (user_id, status, slot, change)
  GROUP BY key.user_id, key.status, key.slot
  HAVING sum(key.change) <> 0
  ORDER BY key.user_id, key.status, key.slot
  ON CONFLICT (user_id, status, slot)
  DO UPDATE SET orders = order_counts.orders + excluded.orders;
  RETURN NULL;
END $$"""  # noqa: S608 - built from constants only

COUNTED_CHANGE = "AFTER UPDATE OF status, user_id ON orders FOR EACH ROW WHEN"
ORDER_COUNT_TRIGGERS: dict[str, tuple[str, ...]] = {
    "postgresql": (
        _postgresql_statement_count("order_counts_on_insert", "added", ""),
        _postgresql_statement_count("order_counts_on_delete", "removed", "-"),
        POSTGRESQL_STATUS_CHANGE,
        "CREATE TRIGGER orders_counted_on_insert AFTER INSERT ON orders "
        "REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
        "EXECUTE FUNCTION order_counts_on_insert()",
        "CREATE TRIGGER orders_counted_on_delete AFTER DELETE ON orders "
        "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
        "EXECUTE FUNCTION order_counts_on_delete()",
        f"CREATE TRIGGER orders_counted_on_update {COUNTED_CHANGE} "
        "(OLD.status IS DISTINCT FROM NEW.status OR OLD.user_id IS DISTINCT FROM NEW.user_id) "
        "EXECUTE FUNCTION order_counts_on_update()",
    ),
    "sqlite": (
        "CREATE TRIGGER orders_counted_on_insert AFTER INSERT ON orders BEGIN "
        f"{_sqlite_count_change('NEW', 1)} END",
        "CREATE TRIGGER orders_counted_on_delete AFTER DELETE ON orders BEGIN "
        f"{_sqlite_count_change('OLD', -1)} END",
        f"CREATE TRIGGER orders_counted_on_update {COUNTED_CHANGE} "
        "OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id BEGIN "
        f"{_sqlite_count_change('OLD', -1)} {_sqlite_count_change('NEW', 1)} END",
    ),
}
"""The triggers that keep `order_counts`, per dialect (the migration that made them holds
the same SQL). Created with the tables by `metadata.create_all` too."""


def _core_table(model: type[SQLModel]) -> Table:
    return metadata.tables[str(model.__tablename__)]


class OrderEvent(SQLModel, table=True):
    """One change to an order, written in the transaction of the change: the log that
    `GET /orders/events` streams and replays (see `app.events`)."""

    __tablename__: ClassVar[str] = "order_events"
    # Never reuse the id of a purged event: a client may still resume from it.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=BigInteger().with_variant(Integer, "sqlite"),  # SQLite: the rowid itself
    )
    kind: str = Field(max_length=32)
    order_id: int
    user_id: int = Field(description="The order's owner: who may see the event")
    data: str = Field(sa_type=SAText, description="The order as JSON, right after the change")
    created_at: datetime = timestamp_field()


ORDER_EVENTS_CHANNEL = "order_events"
"""The PostgreSQL channel notified when order events commit (see `app.events.log`)."""
# The two-key form of the advisory locks: a key space apart from the one-key locks taken
# elsewhere (the login throttle locks per email hash), so they can never collide.
COMMIT_ORDER_LOCK = (0x6F726465, 0x76656E74)  # "orde", "vent"

ORDER_EVENT_TRIGGERS: dict[str, tuple[str, ...]] = {
    "postgresql": (
        f"""
CREATE OR REPLACE FUNCTION order_events_in_commit_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock({COMMIT_ORDER_LOCK[0]}, {COMMIT_ORDER_LOCK[1]});
  UPDATE order_events SET id = nextval('order_events_id_seq') WHERE id = NEW.id;
  PERFORM pg_notify('{ORDER_EVENTS_CHANNEL}', '');
  RETURN NULL;
END $$""",  # noqa: S608 - built from constants only
        "CREATE CONSTRAINT TRIGGER order_events_in_commit_order AFTER INSERT ON order_events "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION order_events_in_commit_order()",
    ),
}
"""PostgreSQL numbers each order event at its transaction's commit, in commit order (see
`app.events.log`); the migration that made the trigger holds the same SQL. Created with
the tables by `metadata.create_all` too."""

for _triggers in (ORDER_COUNT_TRIGGERS, ORDER_EVENT_TRIGGERS):
    for _dialect, _statements in _triggers.items():
        for _statement in _statements:
            # DDL formats its text with `%`: the modulo of the counts' slots is written `%%`.
            _trigger = DDL(_statement.replace("%", "%%"))  # type: ignore[no-untyped-call]
            event.listen(metadata, "after_create", _trigger.execute_if(dialect=_dialect))


# The Core tables behind the table models. Statements on the hot paths select their
# columns rather than the models' attributes: the rows are the same, without the ORM's
# bookkeeping for each statement.
USERS = _core_table(User)
PRODUCTS = _core_table(Product)
ORDERS = _core_table(Order)
ITEMS = _core_table(OrderItem)
KEYS = _core_table(IdempotencyKey)
EVENTS = _core_table(OrderEvent)
RESET_TOKENS = _core_table(PasswordResetToken)
COUNTS = _core_table(OrderCount)
REFRESH_TOKENS = _core_table(RefreshToken)
LOGIN_FAILURES = _core_table(LoginFailure)
AUTH_RATE_COUNTERS = _core_table(AuthRateCounter)
