"""SQLModel classes: the tables and the request/response schemas derived from them.

Each entity has one family: a `...Base` with the shared, validated fields, the table
class (`table=True`), and `...Create`, `...Update`, `...Public` schemas. Request schemas
reject unknown fields, so a client cannot set what the contract does not let it set.
"""

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import ConfigDict, StrictBool
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Text as SAText
from sqlmodel import Field, Relationship, SQLModel

# Every table is in `metadata` once this module is imported, the ones defined beside it
# too (the bookkeeping of accounts, the order counts, the order events' trigger): import
# `metadata` from here.
from app import auth_tables, order_counts, order_event_triggers  # noqa: F401 - for their DDL
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
from app.metadata import core_table
from app.metadata import metadata as metadata
from app.timestamps import UTCDateTime, timestamp_field, utcnow

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


class UserPublic(UserBase):
    id: int
    is_active: bool
    is_admin: bool
    created_at: datetime


# ---------------------------------------------------------------- menu and orders


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


# The Core tables behind the table models. Statements on the hot paths select their
# columns rather than the models' attributes: the rows are the same, without the ORM's
# bookkeeping for each statement.
USERS = core_table(User)
PRODUCTS = core_table(Product)
ORDERS = core_table(Order)
ITEMS = core_table(OrderItem)
KEYS = core_table(IdempotencyKey)
EVENTS = core_table(OrderEvent)
