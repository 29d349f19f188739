"""Changes to an existing order: its lines, and its status.

Every change starts in `_lock_pending_order`, which locks the order row (PostgreSQL:
`SELECT ... FOR UPDATE`; SQLite: the write lock that each write transaction takes up
front with `BEGIN IMMEDIATE`), checks that the caller may see the order and that it is
still pending. Changes to one order therefore run one at a time: concurrent item edits
all land, one after the other, and whatever races a cancel or a complete either lands
before it or finds the new status and gets a conflict. The order's total is then
recomputed from its lines in SQL, in the same transaction, so it always equals their sum.
"""

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import read_rows, write_rows
from app.errors import Conflict, ItemNotFound, OrderNotPending
from app.fields import MAX_QUANTITY
from app.services.callers import active_caller_condition
from app.services.orders.orderable import ORDERABLE_COLUMNS, orderable, orderable_products
from app.services.orders.reads import raise_missing_order
from app.services.orders.rows import OrderJSON, caller_may_see_order, fetch_order
from app.tables import ITEMS, ORDERS, PRODUCTS, USERS, OrderItemCreate, OrderStatus
from app.timestamps import utcnow


def _lock_order(*, with_product: bool) -> Select[Any]:
    """The order's status, the row locked until the transaction ends; no row when the
    caller may not see it. With the product to be added, looked up in the same statement."""
    statement = select(ORDERS.c.status).join(
        USERS, and_(active_caller_condition(), caller_may_see_order())
    )
    if with_product:
        statement = statement.add_columns(*ORDERABLE_COLUMNS).outerjoin(
            PRODUCTS, PRODUCTS.c.id == bindparam("product_id")
        )
    return statement.where(ORDERS.c.id == bindparam("order_id")).with_for_update(of=ORDERS)


LOCK_ORDER = _lock_order(with_product=False)
LOCK_ORDER_WITH_PRODUCT = _lock_order(with_product=True)

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


LINE_VALUES = {
    name: bindparam(name, type_=ITEMS.c[name].type)
    for name in (
        "order_id",
        "product_id",
        "product_name",
        "unit_price_cents",
        "quantity",
        "line_total_cents",
    )
}


@cache
def _add_to_line(dialect: str) -> Any:
    """INSERT the line, or raise the quantity of the order's line for that product, in one
    statement; RETURNING nothing when the sum would pass the maximum (the line is kept).
    An existing line keeps the name and price it was added with."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ITEMS).values(LINE_VALUES)
    quantity = ITEMS.c.quantity + statement.excluded.quantity
    return statement.on_conflict_do_update(
        index_elements=[ITEMS.c.order_id, ITEMS.c.product_id],
        set_={
            "quantity": quantity,
            "line_total_cents": quantity * ITEMS.c.unit_price_cents,
        },
        where=quantity <= MAX_QUANTITY,
    ).returning(ITEMS.c.id)


async def _lock_pending_order(
    session: AsyncSession,
    caller_id: int,
    order_id: int,
    action: str,
    product_id: int | None = None,
) -> Row[Any]:
    """Lock the order for the rest of the transaction; `UserGone`, `OrderNotFound` or
    `OrderNotPending` unless it may change. With a `product_id`, the row carries that
    product's `ORDERABLE_COLUMNS` too (null if unknown)."""
    statement = LOCK_ORDER if product_id is None else LOCK_ORDER_WITH_PRODUCT
    params = {"caller_id": caller_id, "order_id": order_id, "product_id": product_id}
    locked: Row[Any] | None = (await session.execute(statement, params)).first()
    if locked is None:
        await raise_missing_order(session, caller_id)
    if locked.status is not OrderStatus.PENDING:
        raise OrderNotPending(locked.status, action)
    return locked


async def refresh_total(session: AsyncSession, order_id: int, now: datetime) -> None:
    await write_rows(session, REFRESH_TOTAL, {"order_id": order_id, "now": now})


async def add_item(
    session: AsyncSession, caller_id: int, order_id: int, line: OrderItemCreate
) -> OrderJSON:
    """Add a product to a pending order, copying its name and price; an existing line for
    the product grows instead (a conflict past the maximum, the line left as it was)."""
    locked = await _lock_pending_order(
        session, caller_id, order_id, "have items added", product_id=line.product_id
    )
    product = orderable(line.product_id, locked)
    added = await write_rows(
        session,
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
    if not added:
        raise Conflict(
            f"Product {product.id} would pass {MAX_QUANTITY} in this order; "
            "its line was left as it was"
        )
    await refresh_total(session, order_id, utcnow())
    return await fetch_order(session, order_id)


async def update_item(
    session: AsyncSession, caller_id: int, order_id: int, item_id: int, quantity: int
) -> OrderJSON:
    """Set a line's quantity. Raising it needs the product to be still available; lowering
    it is always allowed (the price stays the one copied when the line was added)."""
    await _lock_pending_order(session, caller_id, order_id, "have its items changed")
    lines = await read_rows(session, LINE, {"line_id": item_id, "in_order": order_id})
    if not lines:
        raise ItemNotFound
    product_id, old_quantity = lines[0]
    if quantity > old_quantity:
        await orderable_products(session, [product_id])
    await write_rows(session, SET_LINE_QUANTITY, {"line_id": item_id, "new_quantity": quantity})
    await refresh_total(session, order_id, utcnow())
    return await fetch_order(session, order_id)


async def remove_item(
    session: AsyncSession, caller_id: int, order_id: int, item_id: int
) -> OrderJSON:
    """Remove a line from a pending order (the order may end up empty)."""
    await _lock_pending_order(session, caller_id, order_id, "have its items changed")
    removed = await write_rows(session, REMOVE_LINE, {"line_id": item_id, "in_order": order_id})
    if not removed:
        raise ItemNotFound
    await refresh_total(session, order_id, utcnow())
    return await fetch_order(session, order_id)


async def change_status(
    session: AsyncSession, caller_id: int, order_id: int, new_status: OrderStatus
) -> OrderJSON:
    """pending -> cancelled, or pending with at least one item -> completed.

    The UPDATE itself is conditional on the order being pending (and, to complete it, having
    an item), on top of the lock: a state change is never a read-then-write in Python.
    """
    verb = "be completed" if new_status is OrderStatus.COMPLETED else "be cancelled"
    await _lock_pending_order(session, caller_id, order_id, verb)
    changed = await write_rows(
        session,
        SET_STATUS[new_status],
        {"order_id": order_id, "new_status": new_status, "now": utcnow()},
    )
    if not changed:
        # The order is locked and pending, so only the item condition can have failed.
        raise Conflict("An order needs at least one item to be completed")
    return await fetch_order(session, order_id)
