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
that fetches the order: one statement for an order with its items, two for a page.

Statements are built once, with bound parameters: SQLAlchemy then reuses their cache key
and compiled form, and a request only binds its values.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NoReturn

from fastapi import HTTPException, status
from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import read_rows
from app.paging import (
    CursorCodec,
    PagedList,
    Position,
    after_position,
    check_offset,
    page,
    position_params,
)
from app.security import USER_GONE, is_the_active_caller, require_active_caller, unauthorized
from app.tables import (
    ANY_STATUS,
    EVERYONE,
    MAX_QUANTITY,
    IdempotencyKey,
    Order,
    OrderCount,
    OrderCreate,
    OrderItem,
    OrderItemCreate,
    OrderStatus,
    Product,
    User,
    public_json,
    table_of,
    utcnow,
)

ORDERS = table_of(Order)
ITEMS = table_of(OrderItem)
USERS = table_of(User)
PRODUCTS = table_of(Product)
KEYS = table_of(IdempotencyKey)
COUNTS = table_of(OrderCount)

ORDER_COLUMNS = (
    ORDERS.c.id,
    ORDERS.c.user_id,
    # As its text, not an `OrderStatus`: the rows go straight into responses, which write
    # the same text either way; SQLAlchemy's conversion of each row's status to an enum
    # member cost 6 % of the instructions of a page of orders.
    type_coerce(ORDERS.c.status, String).label("status"),
    ORDERS.c.total_cents,
    ORDERS.c.created_at,
    ORDERS.c.updated_at,
)
ITEM_COLUMNS: tuple[Any, ...] = (
    ITEMS.c.id.label("item_id"),
    ITEMS.c.product_id,
    ITEMS.c.product_name,
    ITEMS.c.unit_price_cents,
    ITEMS.c.quantity,
    ITEMS.c.line_total_cents,
)
NEWEST_FIRST = (ORDERS.c.created_at.desc(), ORDERS.c.id.desc())


def order_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="Order not found")


def item_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found in this order")


def conflict(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail=detail)


def _caller_may_see_order() -> ColumnElement[bool]:
    """Between the caller's `users` row and `orders`: the caller owns it or is an admin."""
    return or_(USERS.c.is_admin, ORDERS.c.user_id == USERS.c.id)


READ_ORDER = (
    select(*ORDER_COLUMNS, *ITEM_COLUMNS)
    .select_from(USERS)
    .outerjoin(ORDERS, and_(ORDERS.c.id == bindparam("order_id"), _caller_may_see_order()))
    .outerjoin(ITEMS, ITEMS.c.order_id == ORDERS.c.id)
    .where(is_the_active_caller())
    .order_by(ITEMS.c.id)
)
"""No row: the caller is gone (401). A row of nulls: no such order for this caller (404)."""

FETCH_ORDER = (
    select(*ORDER_COLUMNS, *ITEM_COLUMNS)
    .outerjoin(ITEMS, ITEMS.c.order_id == ORDERS.c.id)
    .where(ORDERS.c.id == bindparam("order_id"))
    .order_by(ITEMS.c.id)
)
"""The order as it is now in this transaction, for a caller already checked."""


# ---------------------------------------------------------------- reading


OrderJSON = dict[str, Any]
"""An order as `OrderPublic` describes it, built straight from its rows for the response."""


def _orders_from_rows(rows: Iterable[Sequence[Any]]) -> list[OrderJSON]:
    """Group rows that start with `ORDER_COLUMNS + ITEM_COLUMNS` (sorted by order, then
    item) into orders.

    The rows come from the database, whose constraints hold every rule the models check:
    they become plain dicts (keys in the models' field order) that the routes serialize
    as they are. Building a model per order and per item, only to serialize it, costs
    more than the rest of a page's request together.
    """
    orders: list[OrderJSON] = []
    items: list[dict[str, Any]] = []
    current_id = None
    for (
        order_id,
        user_id,
        order_status,
        total_cents,
        created_at,
        updated_at,
        item_id,
        product_id,
        product_name,
        unit_price_cents,
        quantity,
        line_total_cents,
        *_rest,
    ) in rows:
        if order_id is None:  # the row of nulls of an empty page
            continue
        if order_id != current_id:
            current_id, items = order_id, []
            orders.append(
                {
                    "status": order_status,
                    "total_cents": total_cents,
                    "id": order_id,
                    "user_id": user_id,
                    "created_at": created_at,
                    "updated_at": updated_at,
                    "items": items,
                }
            )
        if item_id is not None:
            items.append(
                {
                    "product_id": product_id,
                    "quantity": quantity,
                    "id": item_id,
                    "order_id": order_id,
                    "product_name": product_name,
                    "unit_price_cents": unit_price_cents,
                    "line_total_cents": line_total_cents,
                }
            )
    return orders


async def _raise_missing_order(session: AsyncSession, caller_id: int) -> NoReturn:
    """The order query found nothing: 401 when the caller is gone, else 404."""
    await require_active_caller(session, caller_id)
    raise order_not_found()


async def read_order(session: AsyncSession, caller_id: int, order_id: int) -> OrderJSON:
    """The order with its items, in one statement that also checks the caller."""
    rows = await read_rows(session, READ_ORDER, {"caller_id": caller_id, "order_id": order_id})
    if not rows:
        raise unauthorized(USER_GONE)
    found_id, *_columns = rows[0]
    if found_id is None:
        raise order_not_found()
    return _orders_from_rows(rows)[0]


async def _fetch_order(session: AsyncSession, order_id: int) -> OrderJSON:
    rows = await session.execute(FETCH_ORDER, {"order_id": order_id})
    return _orders_from_rows(rows)[0]


def _listing_filters(by_status: bool, by_user: bool) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if by_status:
        filters.append(ORDERS.c.status == bindparam("status"))
    if by_user:
        filters.append(ORDERS.c.user_id == bindparam("user_id"))
    return filters


def _page_of(visible: Select[Any], by_cursor: bool) -> Any:
    """A page of these orders, newest first (after the cursor's position when there is
    one), as a subquery to join their items to. Its `limit` is one more than the page's:
    the extra order, when there is one, tells that another page follows."""
    if by_cursor:
        visible = visible.where(after_position(ORDERS.c.created_at, ORDERS.c.id))
    return (
        visible.order_by(*NEWEST_FIRST)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )


ORDER_COUNT = (
    select(func.coalesce(func.max(COUNTS.c.orders), 0))
    .where(
        COUNTS.c.user_id == bindparam("count_user_id"),
        COUNTS.c.status == bindparam("count_status"),
    )
    .scalar_subquery()
)
"""The count of the orders through the filters: one row of `order_counts` (0 when there
is none), whatever the number of orders."""
NO_USER = -1
"""`count_user_id` where the filters match nothing (a customer's filter on someone else)."""


@cache
def _own_page(by_status: bool, by_user: bool, by_cursor: bool) -> Select[Any]:
    """The caller's own page of orders joined to their items, each row carrying the
    caller's `is_admin` and the count of their orders through the filters.

    Built on the caller's row: no row when the caller is gone or deactivated, and a row
    of nulls (but for `is_admin` and the count) when the page is empty.
    """
    own = [ORDERS.c.user_id == bindparam("caller_id"), *_listing_filters(by_status, by_user)]
    page = _page_of(select(*ORDER_COLUMNS).where(*own), by_cursor)
    return (
        select(page, *ITEM_COLUMNS, USERS.c.is_admin, ORDER_COUNT.label("count"))
        .select_from(USERS)
        .outerjoin(page, true())
        .outerjoin(ITEMS, ITEMS.c.order_id == page.c.id)
        .where(is_the_active_caller())
        .order_by(page.c.created_at.desc(), page.c.id.desc(), ITEMS.c.id)
    )


@cache
def _everyones_page(by_status: bool, by_user: bool, by_cursor: bool) -> Select[Any]:
    """A page of every order (for an admin) joined to their items, with the count."""
    filters = _listing_filters(by_status, by_user)
    page = _page_of(select(*ORDER_COLUMNS).where(*filters), by_cursor)
    return (
        select(page, *ITEM_COLUMNS, ORDER_COUNT.label("count"))
        .outerjoin(ITEMS, ITEMS.c.order_id == page.c.id)
        .order_by(page.c.created_at.desc(), page.c.id.desc(), ITEMS.c.id)
    )


EVERYONES_COUNT = select(ORDER_COUNT)


def _next_cursor(orders: list[OrderJSON], limit: int, codec: CursorCodec) -> str | None:
    """The cursor after the page's last order, when more orders follow it."""
    if len(orders) <= limit:
        return None
    last = orders[limit - 1]
    return codec.encode(PagedList.ORDERS, Position(last["created_at"], last["id"]))


async def list_orders(
    session: AsyncSession,
    caller_id: int,
    codec: CursorCodec,
    *,
    limit: int,
    offset: int | None = None,
    cursor: str | None = None,
    status_filter: OrderStatus | None = None,
    user_id: int | None = None,
) -> dict[str, Any]:
    """A page of the orders the caller may see, newest first, with their items: from
    `offset` (at most `MAX_OFFSET`), or after the position `cursor` marks.

    A customer's page is one statement whatever its size, depth or the number of items:
    the caller's row, their page joined to its items, and the count (one row of
    `order_counts`). An admin's takes a second, for everyone's page (and a third when
    that page is empty, for the count). Filters, like the cursor, narrow what the caller
    may see, never widen it: a customer's `user_id` filter naming someone else matches
    nothing. `InvalidPageError` for a cursor that is not this list's, or bad bounds.
    """
    skip = check_offset(offset, cursor)
    position = None if cursor is None else codec.decode(PagedList.ORDERS, cursor)
    by_status, by_user, by_cursor = (
        status_filter is not None,
        user_id is not None,
        position is not None,
    )
    params = {
        "caller_id": caller_id,
        "status": status_filter,
        "user_id": user_id,
        "limit": limit + 1,
        "offset": skip,
        "count_user_id": caller_id if user_id in (None, caller_id) else NO_USER,
        "count_status": ANY_STATUS if status_filter is None else status_filter.value,
        **position_params(position),
    }
    rows = await read_rows(session, _own_page(by_status, by_user, by_cursor), params)
    if not rows:
        raise unauthorized(USER_GONE)
    *_columns, caller_is_admin, _count = rows[0]
    if caller_is_admin:
        params["count_user_id"] = EVERYONE if user_id is None else user_id
        rows = await read_rows(session, _everyones_page(by_status, by_user, by_cursor), params)
        if not rows:
            matching = await session.scalar(EVERYONES_COUNT, params)
            return page([], limit=limit, offset=skip, matching=matching or 0, next_cursor=None)
    orders = _orders_from_rows(rows)
    return page(
        orders[:limit],
        limit=limit,
        offset=skip,
        matching=rows[0][-1],  # each row ends with the count
        next_cursor=_next_cursor(orders, limit, codec),
    )


# ---------------------------------------------------------------- changing an order

PRODUCT_COLUMNS: tuple[Any, ...] = (
    PRODUCTS.c.id.label("product_id"),
    PRODUCTS.c.name.label("product_name"),
    PRODUCTS.c.price_cents,
    PRODUCTS.c.is_available,
)


def _lock_order(*, with_product: bool) -> Select[Any]:
    """The order's status, the row locked until the transaction ends; no row when the
    caller may not see it. With the product to be added, looked up in the same statement."""
    statement = select(ORDERS.c.status).join(
        USERS, and_(is_the_active_caller(), _caller_may_see_order())
    )
    if with_product:
        statement = statement.add_columns(*PRODUCT_COLUMNS).outerjoin(
            PRODUCTS, PRODUCTS.c.id == bindparam("product_id")
        )
    return statement.where(ORDERS.c.id == bindparam("order_id")).with_for_update(of=ORDERS)


LOCK_ORDER = _lock_order(with_product=False)
LOCK_ORDER_WITH_PRODUCT = _lock_order(with_product=True)

ORDERABLE_PRODUCTS = select(*PRODUCT_COLUMNS).where(
    PRODUCTS.c.id.in_(bindparam("product_ids", expanding=True))
)

REFRESH_TOTAL = (
    update(ORDERS)
    .where(ORDERS.c.id == bindparam("order_id"))
    .values(
        total_cents=select(func.coalesce(func.sum(ITEMS.c.line_total_cents), 0))
        .where(ITEMS.c.order_id == bindparam("order_id"))
        .scalar_subquery(),
        updated_at=bindparam("now"),
    )
)
"""The total, recomputed by the database from the lines."""

LINE = select(ITEMS.c.product_id, ITEMS.c.quantity).where(
    ITEMS.c.id == bindparam("line_id"), ITEMS.c.order_id == bindparam("in_order")
)
SET_LINE_QUANTITY = (
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("line_id"))
    .values(
        quantity=bindparam("new_quantity"),
        line_total_cents=bindparam("new_quantity") * ITEMS.c.unit_price_cents,
    )
)
REMOVE_LINE = (
    delete(ITEMS)
    .where(ITEMS.c.id == bindparam("line_id"), ITEMS.c.order_id == bindparam("in_order"))
    .returning(ITEMS.c.id)
)


def _set_status(*, needs_items: bool) -> Any:
    """pending -> the new status, conditional on still being pending (and having items)."""
    conditions = [
        ORDERS.c.id == bindparam("order_id"),
        ORDERS.c.status == OrderStatus.PENDING,
    ]
    if needs_items:
        conditions.append(exists().where(ITEMS.c.order_id == ORDERS.c.id))
    return (
        update(ORDERS)
        .where(*conditions)
        .values(status=bindparam("new_status"), updated_at=bindparam("now"))
        .returning(ORDERS.c.id)
    )


SET_STATUS = {
    OrderStatus.CANCELLED: _set_status(needs_items=False),
    OrderStatus.COMPLETED: _set_status(needs_items=True),
}


@cache
def _add_to_line(dialect: str) -> Any:
    """INSERT the line, or raise the quantity of the order's line for that product, in one
    statement; RETURNING nothing when the sum would pass the maximum (the line is kept).
    An existing line keeps the name and price it was added with."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ITEMS)
    quantity = ITEMS.c.quantity + statement.excluded.quantity
    return statement.on_conflict_do_update(
        index_elements=[ITEMS.c.order_id, ITEMS.c.product_id],
        set_={
            "quantity": quantity,
            "line_total_cents": quantity * ITEMS.c.unit_price_cents,
        },
        where=quantity <= MAX_QUANTITY,
    ).returning(ITEMS.c.id)


@dataclass(frozen=True)
class OrderableProduct:
    id: int
    name: str
    price_cents: int


def _orderable(product_id: int, row: Row[Any] | None) -> OrderableProduct:
    """404 for a product that does not exist, 409 for one that is not available."""
    if row is None or row.product_name is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Product {product_id} not found")
    if not row.is_available:
        raise conflict(f"Product {product_id} is not available")
    return OrderableProduct(product_id, row.product_name, row.price_cents)


async def _orderable_products(
    session: AsyncSession, product_ids: Sequence[int]
) -> list[OrderableProduct]:
    rows = await session.execute(ORDERABLE_PRODUCTS, {"product_ids": list(product_ids)})
    found = {row.product_id: row for row in rows}
    return [_orderable(product_id, found.get(product_id)) for product_id in product_ids]


async def _lock_pending_order(
    session: AsyncSession,
    caller_id: int,
    order_id: int,
    action: str,
    product_id: int | None = None,
) -> Row[Any]:
    """Lock the order for the rest of the transaction; 401/404/409 unless it may change.
    With a `product_id`, the row carries that product's columns too (null if unknown)."""
    statement = LOCK_ORDER if product_id is None else LOCK_ORDER_WITH_PRODUCT
    params = {"caller_id": caller_id, "order_id": order_id, "product_id": product_id}
    locked: Row[Any] | None = (await session.execute(statement, params)).first()
    if locked is None:
        await _raise_missing_order(session, caller_id)
    if locked.status is not OrderStatus.PENDING:
        raise conflict(f"The order is {locked.status}; only a pending order can {action}")
    return locked


async def _refresh_total(session: AsyncSession, order_id: int, now: datetime) -> None:
    await session.execute(REFRESH_TOTAL, {"order_id": order_id, "now": now})


async def add_item(
    session: AsyncSession, caller_id: int, order_id: int, line: OrderItemCreate
) -> OrderJSON:
    """Add a product to a pending order, copying its name and price; an existing line for
    the product grows instead (409 past the maximum, the line left as it was)."""
    locked = await _lock_pending_order(
        session, caller_id, order_id, "have items added", product_id=line.product_id
    )
    product = _orderable(line.product_id, locked)
    added = await session.execute(
        _add_to_line(session.get_bind().dialect.name),
        {
            "order_id": order_id,
            "product_id": product.id,
            "product_name": product.name,
            "unit_price_cents": product.price_cents,
            "quantity": line.quantity,
            "line_total_cents": line.quantity * product.price_cents,
        },
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
) -> OrderJSON:
    """Set a line's quantity. Raising it needs the product to be still available; lowering
    it is always allowed (the price stays the one copied when the line was added)."""
    await _lock_pending_order(session, caller_id, order_id, "have its items changed")
    line = (await session.execute(LINE, {"line_id": item_id, "in_order": order_id})).first()
    if line is None:
        raise item_not_found()
    if quantity > line.quantity:
        await _orderable_products(session, [line.product_id])
    await session.execute(SET_LINE_QUANTITY, {"line_id": item_id, "new_quantity": quantity})
    await _refresh_total(session, order_id, utcnow())
    return await _fetch_order(session, order_id)


async def remove_item(
    session: AsyncSession, caller_id: int, order_id: int, item_id: int
) -> OrderJSON:
    """Remove a line from a pending order (the order may end up empty)."""
    await _lock_pending_order(session, caller_id, order_id, "have its items changed")
    removed = await session.execute(REMOVE_LINE, {"line_id": item_id, "in_order": order_id})
    if removed.first() is None:
        raise item_not_found()
    await _refresh_total(session, order_id, utcnow())
    return await _fetch_order(session, order_id)


async def change_status(
    session: AsyncSession, caller_id: int, order_id: int, new_status: OrderStatus
) -> OrderJSON:
    """pending -> cancelled, or pending with at least one item -> completed.

    The UPDATE itself is conditional on the order being pending (and, to complete it, having
    an item), on top of the lock: a state change is never a read-then-write in Python.
    """
    verb = "be completed" if new_status is OrderStatus.COMPLETED else "be cancelled"
    await _lock_pending_order(session, caller_id, order_id, verb)
    changed = await session.execute(
        SET_STATUS[new_status], {"order_id": order_id, "new_status": new_status, "now": utcnow()}
    )
    if changed.first() is None:
        # The order is locked and pending, so only the item condition can have failed.
        raise conflict("An order needs at least one item to be completed")
    return await _fetch_order(session, order_id)


# ---------------------------------------------------------------- opening an order

# An Idempotency-Key is kept for a day, as payment APIs keep theirs: far longer than any
# client retries a request, and the table does not grow without end. An older key is
# forgotten: sent again, it opens a new order. A caller's expired keys are deleted when
# they store a new one (their rows only, found through the (user_id, key) index).
KEY_LIFETIME = timedelta(hours=24)

STORED_RESPONSE = select(
    KEYS.c.request_fingerprint,
    KEYS.c.response_status,
    KEYS.c.response_body,
).where(
    KEYS.c.user_id == bindparam("caller_id"),
    KEYS.c.key == bindparam("idempotency_key"),
    KEYS.c.created_at > bindparam("kept_since"),
)
EXPIRED_KEYS = delete(KEYS).where(
    KEYS.c.user_id == bindparam("caller_id"), KEYS.c.created_at <= bindparam("kept_since")
)


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
    session: AsyncSession, caller_id: int, key: str, fingerprint: str, kept_since: datetime
) -> CreatedOrder | None:
    """The response stored with the caller's key, unless it expired; 409 for another body."""
    params = {"caller_id": caller_id, "idempotency_key": key, "kept_since": kept_since}
    stored = (await session.execute(STORED_RESPONSE, params)).first()
    if stored is None:
        return None
    if stored.request_fingerprint != fingerprint:
        raise conflict("This Idempotency-Key was already used with a different request body")
    return CreatedOrder(stored.response_status, stored.response_body, replayed=True)


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


async def create_order(
    session: AsyncSession, caller_id: int, body: OrderCreate, idempotency_key: str | None
) -> CreatedOrder:
    """Open a pending order for the caller, with the body's lines (merged per product).

    With an idempotency key, the first successful response is stored with the key, in the
    same transaction as the order; a retry with the same key and body gets that response
    back, with another body a 409, for `KEY_LIFETIME`. Of concurrent requests with one key,
    one inserts the key and the others, blocked on its unique index until that commits,
    replay it.
    """
    await require_active_caller(session, caller_id)
    fingerprint = request_fingerprint(body)
    kept_since = utcnow() - KEY_LIFETIME
    if idempotency_key is not None:
        stored = await _stored_response(
            session, caller_id, idempotency_key, fingerprint, kept_since
        )
        if stored is not None:
            return stored

    quantities = _merge_lines(body.items)
    products = await _orderable_products(session, list(quantities)) if quantities else []
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
            for product in products
        ],
    )
    session.add(order)
    await session.flush()
    assert order.id is not None
    await _refresh_total(session, order.id, now)
    created = CreatedOrder(
        status.HTTP_201_CREATED, public_json(await _fetch_order(session, order.id)).decode()
    )
    if idempotency_key is None:
        return created

    # Makes room for the key, should it have expired, and keeps the table small.
    await session.execute(EXPIRED_KEYS, {"caller_id": caller_id, "kept_since": kept_since})
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
        stored = await _stored_response(
            session, caller_id, idempotency_key, fingerprint, kept_since
        )
        if stored is None:
            raise
        return stored
    return created
