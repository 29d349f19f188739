"""The order life cycle: every rule that spans rows lives here, and routers call it.

Writes. Every change to an existing order starts in `_lock_pending_order`, which locks the
order row (PostgreSQL: `SELECT ... FOR UPDATE`; SQLite: the write lock that each write
transaction takes up front with `BEGIN IMMEDIATE`), checks that the caller may see the
order and that it is still pending. Changes to one order therefore run one at a time:
concurrent item edits all land, one after the other, and whatever races a cancel or a
complete either lands before it or finds the new status and gets 409. The order's total is
then recomputed from its lines in SQL, in the same transaction, so it always equals their
sum. The caller commits.

Reads select columns straight into the `...Public` models, and fold the caller check
(the token's user exists, is active, and owns the order or is an admin) into the query
that fetches the order: one statement for an order with its items, three for a page.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from fastapi import HTTPException, status
from sqlalchemy import ColumnElement, Row, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.security import unauthorized
from app.tables import (
    MAX_QUANTITY,
    IdempotencyKey,
    Order,
    OrderCreate,
    OrderItem,
    OrderItemCreate,
    OrderPublic,
    OrderStatus,
    Page,
    Product,
    User,
    utcnow,
)

USER_GONE = "User is inactive or no longer exists"

ORDER_COLUMNS = (
    col(Order.id),
    col(Order.user_id),
    col(Order.status),
    col(Order.total_cents),
    col(Order.created_at),
    col(Order.updated_at),
)
ITEM_COLUMNS: tuple[Any, ...] = (
    col(OrderItem.id).label("item_id"),
    col(OrderItem.product_id),
    col(OrderItem.product_name),
    col(OrderItem.unit_price_cents),
    col(OrderItem.quantity),
    col(OrderItem.line_total_cents),
)


def order_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="Order not found")


def conflict(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail=detail)


# ---------------------------------------------------------------- reading


def _orders_from_rows(rows: Iterable[Row[Any]]) -> list[dict[str, Any]]:
    """Group rows of `ORDER_COLUMNS + ITEM_COLUMNS` (sorted by order, then item) into orders."""
    orders: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for row in rows:
        if not orders or current["id"] != row.id:
            current = {
                "id": row.id,
                "user_id": row.user_id,
                "status": row.status,
                "total_cents": row.total_cents,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
                "items": [],
            }
            orders.append(current)
        if row.item_id is not None:
            current["items"].append(
                {
                    "id": row.item_id,
                    "order_id": row.id,
                    "product_id": row.product_id,
                    "product_name": row.product_name,
                    "unit_price_cents": row.unit_price_cents,
                    "quantity": row.quantity,
                    "line_total_cents": row.line_total_cents,
                }
            )
    return orders


def _visible_to_caller(caller_id: int) -> ColumnElement[bool]:
    """Join condition from orders to the caller: active, and the owner or an admin."""
    return and_(
        col(User.id) == caller_id,
        col(User.is_active),
        or_(col(User.is_admin), col(Order.user_id) == col(User.id)),
    )


async def _raise_missing_order(session: AsyncSession, caller_id: int) -> NoReturn:
    """The order query found nothing: 401 when the caller is gone, else 404."""
    if await session.scalar(_active_user(caller_id)) is None:
        raise unauthorized(USER_GONE)
    raise order_not_found()


def _active_user(caller_id: int) -> Any:
    return select(col(User.is_admin)).where(col(User.id) == caller_id, col(User.is_active))


async def read_order(session: AsyncSession, caller_id: int, order_id: int) -> OrderPublic:
    """The order with its items, in one statement that also checks the caller."""
    rows = (
        await session.execute(
            select(*ORDER_COLUMNS, *ITEM_COLUMNS)
            .select_from(User)
            .outerjoin(
                Order,
                and_(
                    col(Order.id) == order_id,
                    or_(col(User.is_admin), col(Order.user_id) == col(User.id)),
                ),
            )
            .outerjoin(OrderItem, col(OrderItem.order_id) == col(Order.id))
            .where(col(User.id) == caller_id, col(User.is_active))
            .order_by(col(OrderItem.id))
        )
    ).all()
    if not rows:
        raise unauthorized(USER_GONE)
    if rows[0].id is None:
        raise order_not_found()
    return OrderPublic.model_validate(_orders_from_rows(rows)[0])


async def _fetch_order(session: AsyncSession, order_id: int) -> OrderPublic:
    """The order as it is now in this transaction (the caller was checked already)."""
    rows = await session.execute(
        select(*ORDER_COLUMNS, *ITEM_COLUMNS)
        .outerjoin(OrderItem, col(OrderItem.order_id) == col(Order.id))
        .where(col(Order.id) == order_id)
        .order_by(col(OrderItem.id))
    )
    return OrderPublic.model_validate(_orders_from_rows(rows)[0])


async def list_orders(
    session: AsyncSession,
    caller_id: int,
    *,
    limit: int,
    offset: int,
    status_filter: OrderStatus | None = None,
    user_id: int | None = None,
) -> Page[OrderPublic]:
    """A page of the orders the caller may see, newest first, with their items.

    Three statements whatever the page size or the number of items: the caller, the count,
    and the page joined to its items. Filters narrow what the caller may see, never widen
    it: a customer's `user_id` filter naming someone else matches nothing.
    """
    is_admin = await session.scalar(_active_user(caller_id))
    if is_admin is None:
        raise unauthorized(USER_GONE)
    conditions: list[ColumnElement[bool]] = []
    if not is_admin:
        conditions.append(col(Order.user_id) == caller_id)
    if user_id is not None:
        conditions.append(col(Order.user_id) == user_id)
    if status_filter is not None:
        conditions.append(col(Order.status) == status_filter)

    count = await session.scalar(select(func.count()).select_from(Order).where(*conditions)) or 0
    orders: list[dict[str, Any]] = []
    if offset < count:
        newest = (
            select(*ORDER_COLUMNS)
            .where(*conditions)
            .order_by(col(Order.created_at).desc(), col(Order.id).desc())
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
        rows = await session.execute(
            select(newest, *ITEM_COLUMNS)
            .outerjoin(OrderItem, col(OrderItem.order_id) == newest.c.id)
            .order_by(newest.c.created_at.desc(), newest.c.id.desc(), col(OrderItem.id))
        )
        orders = _orders_from_rows(rows)
    return Page[OrderPublic].model_validate(
        {"data": orders, "count": count, "limit": limit, "offset": offset}
    )


# ---------------------------------------------------------------- changing an order


async def _lock_pending_order(
    session: AsyncSession, caller_id: int, order_id: int, action: str
) -> None:
    """Lock the order for the rest of the transaction; 401/404/409 unless it may change."""
    current_status = await session.scalar(
        select(col(Order.status))
        .join(User, _visible_to_caller(caller_id))
        .where(col(Order.id) == order_id)
        .with_for_update(of=Order)
    )
    if current_status is None:
        await _raise_missing_order(session, caller_id)
    if current_status is not OrderStatus.PENDING:
        raise conflict(f"The order is {current_status}; only a pending order can {action}")


async def _refresh_total(session: AsyncSession, order_id: int, now: datetime) -> None:
    """Set the order's total to the sum of its lines, computed by the database."""
    lines_total = (
        select(func.coalesce(func.sum(col(OrderItem.line_total_cents)), 0))
        .where(col(OrderItem.order_id) == order_id)
        .scalar_subquery()
    )
    await session.execute(
        update(Order)
        .where(col(Order.id) == order_id)
        .values(total_cents=lines_total, updated_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class OrderableProduct:
    id: int
    name: str
    price_cents: int


async def _orderable_products(
    session: AsyncSession, product_ids: Sequence[int]
) -> dict[int, OrderableProduct]:
    """The products by id; 404 for one that does not exist, 409 for one not available."""
    rows = await session.execute(
        select(
            col(Product.id), col(Product.name), col(Product.price_cents), col(Product.is_available)
        ).where(col(Product.id).in_(product_ids))
    )
    found = {row.id: row for row in rows}
    products: dict[int, OrderableProduct] = {}
    for product_id in product_ids:
        row = found.get(product_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Product {product_id} not found")
        if not row.is_available:
            raise conflict(f"Product {product_id} is not available")
        products[product_id] = OrderableProduct(row.id, row.name, row.price_cents)
    return products


def _merge_lines(lines: Sequence[OrderItemCreate]) -> dict[int, int]:
    """Quantity per product, the same product's lines added up; 409 past the line maximum."""
    quantities: dict[int, int] = {}
    for line in lines:
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    for product_id, quantity in quantities.items():
        if quantity > MAX_QUANTITY:
            raise conflict(
                f"Product {product_id} adds up to {quantity} in this order; "
                f"a line holds at most {MAX_QUANTITY}"
            )
    return quantities


def _add_to_line(session: AsyncSession, values: dict[str, Any]) -> Any:
    """INSERT the line, or raise the quantity of the order's line for that product, as one
    statement; RETURNING nothing when the sum would pass the maximum (the line is kept)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OrderItem).values(values)
    quantity = col(OrderItem.quantity) + statement.excluded.quantity
    return statement.on_conflict_do_update(
        index_elements=[col(OrderItem.order_id), col(OrderItem.product_id)],
        set_={
            "quantity": quantity,
            "line_total_cents": quantity * col(OrderItem.unit_price_cents),
        },
        where=quantity <= MAX_QUANTITY,
    ).returning(col(OrderItem.id))


async def add_item(
    session: AsyncSession, caller_id: int, order_id: int, line: OrderItemCreate
) -> OrderPublic:
    """Add a product to a pending order, copying its name and price; an existing line for
    the product grows instead (409 past the maximum, the line left as it was)."""
    await _lock_pending_order(session, caller_id, order_id, "have items added")
    product = (await _orderable_products(session, [line.product_id]))[line.product_id]
    added = await session.execute(
        _add_to_line(
            session,
            {
                "order_id": order_id,
                "product_id": product.id,
                "product_name": product.name,
                "unit_price_cents": product.price_cents,
                "quantity": line.quantity,
                "line_total_cents": line.quantity * product.price_cents,
            },
        )
    )
    if added.first() is None:
        raise conflict(
            f"Product {product.id} would pass {MAX_QUANTITY} in this order; "
            "its line was left as it was"
        )
    await _refresh_total(session, order_id, utcnow())
    return await _fetch_order(session, order_id)


async def update_item(
    session: AsyncSession, caller_id: int, order_id: int, item_id: int, quantity: int
) -> OrderPublic:
    """Set a line's quantity. Raising it needs the product to be still available; lowering
    it is always allowed (the price stays the one copied when the line was added)."""
    await _lock_pending_order(session, caller_id, order_id, "have its items changed")
    line = (
        await session.execute(
            select(col(OrderItem.product_id), col(OrderItem.quantity)).where(
                col(OrderItem.id) == item_id, col(OrderItem.order_id) == order_id
            )
        )
    ).first()
    if line is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found in this order")
    if quantity > line.quantity:
        await _orderable_products(session, [line.product_id])
    await session.execute(
        update(OrderItem)
        .where(col(OrderItem.id) == item_id)
        .values(quantity=quantity, line_total_cents=quantity * col(OrderItem.unit_price_cents))
        .execution_options(synchronize_session=False)
    )
    await _refresh_total(session, order_id, utcnow())
    return await _fetch_order(session, order_id)


async def remove_item(
    session: AsyncSession, caller_id: int, order_id: int, item_id: int
) -> OrderPublic:
    """Remove a line from a pending order (the order may end up empty)."""
    await _lock_pending_order(session, caller_id, order_id, "have its items changed")
    removed = await session.execute(
        delete(OrderItem)
        .where(col(OrderItem.id) == item_id, col(OrderItem.order_id) == order_id)
        .returning(col(OrderItem.id))
        .execution_options(synchronize_session=False)
    )
    if removed.first() is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found in this order")
    await _refresh_total(session, order_id, utcnow())
    return await _fetch_order(session, order_id)


async def change_status(
    session: AsyncSession, caller_id: int, order_id: int, new_status: OrderStatus
) -> OrderPublic:
    """pending → cancelled, or pending with at least one item → completed.

    The UPDATE itself is conditional on the order being pending (and, to complete it, having
    an item), on top of the lock: a state change is never a read-then-write in Python.
    """
    verb = "be completed" if new_status is OrderStatus.COMPLETED else "be cancelled"
    await _lock_pending_order(session, caller_id, order_id, verb)
    change = update(Order).where(
        col(Order.id) == order_id, col(Order.status) == OrderStatus.PENDING
    )
    if new_status is OrderStatus.COMPLETED:
        change = change.where(exists().where(col(OrderItem.order_id) == col(Order.id)))
    changed = await session.execute(
        change.values(status=new_status, updated_at=utcnow())
        .returning(col(Order.id))
        .execution_options(synchronize_session=False)
    )
    if changed.first() is None:
        # The order is locked and pending, so only the item condition can have failed.
        raise conflict("An order needs at least one item to be completed")
    return await _fetch_order(session, order_id)


# ---------------------------------------------------------------- opening an order


@dataclass(frozen=True)
class CreatedOrder:
    """The response to `POST /orders`: its JSON body, and whether it is a replay."""

    status_code: int
    body: str
    replayed: bool = False


def request_fingerprint(body: OrderCreate) -> str:
    """SHA-256 of the validated body as canonical JSON: equal requests, equal fingerprints."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _stored_response(
    session: AsyncSession, caller_id: int, key: str, fingerprint: str
) -> CreatedOrder | None:
    stored = (
        await session.execute(
            select(
                col(IdempotencyKey.request_fingerprint),
                col(IdempotencyKey.response_status),
                col(IdempotencyKey.response_body),
            ).where(col(IdempotencyKey.user_id) == caller_id, col(IdempotencyKey.key) == key)
        )
    ).first()
    if stored is None:
        return None
    if stored.request_fingerprint != fingerprint:
        raise conflict("This Idempotency-Key was already used with a different request body")
    return CreatedOrder(stored.response_status, stored.response_body, replayed=True)


async def create_order(
    session: AsyncSession, caller_id: int, body: OrderCreate, idempotency_key: str | None
) -> CreatedOrder:
    """Open a pending order for the caller, with the body's lines (merged per product).

    With an idempotency key, the first successful response is stored with the key, in the
    same transaction as the order; a retry with the same key and body gets that response
    back, with another body a 409. Of concurrent requests with one key, one inserts the key
    and the others, blocked on its unique index until that commits, replay it.
    """
    if await session.scalar(_active_user(caller_id)) is None:
        raise unauthorized(USER_GONE)
    fingerprint = request_fingerprint(body)
    if idempotency_key is not None:
        stored = await _stored_response(session, caller_id, idempotency_key, fingerprint)
        if stored is not None:
            return stored

    quantities = _merge_lines(body.items)
    products = await _orderable_products(session, list(quantities)) if quantities else {}
    now = utcnow()
    order = Order(
        user_id=caller_id,
        created_at=now,
        updated_at=now,
        items=[
            OrderItem(
                product_id=product.id,
                product_name=product.name,
                unit_price_cents=product.price_cents,
                quantity=quantities[product.id],
                line_total_cents=quantities[product.id] * product.price_cents,
            )
            for product in products.values()
        ],
    )
    session.add(order)
    await session.flush()
    assert order.id is not None
    await _refresh_total(session, order.id, now)
    created = CreatedOrder(
        status.HTTP_201_CREATED, (await _fetch_order(session, order.id)).model_dump_json()
    )
    if idempotency_key is None:
        return created

    session.add(
        IdempotencyKey(
            user_id=caller_id,
            key=idempotency_key,
            request_fingerprint=fingerprint,
            order_id=order.id,
            response_status=created.status_code,
            response_body=created.body,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent request with this key won; its order is the one to return.
        await session.rollback()
        stored = await _stored_response(session, caller_id, idempotency_key, fingerprint)
        if stored is None:
            raise
        return stored
    return created
