"""The columns an order is read with, and their assembly into the JSON of a response.

Reads select columns straight into the shape of `OrderPublic`, and fold the caller check
(the token's user exists, is active, and owns the order or is an admin) into the query
that fetches the order.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, String, bindparam, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import read_rows
from app.tables import ITEMS, ORDERS, USERS

ORDER_COLUMNS = (
    ORDERS.c.id,
    ORDERS.c.user_id,
    # As its text, not an `OrderStatus`: the rows go straight into responses, which write
    # the same text either way, and a page of orders skips a conversion per row.
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


def caller_may_see_order() -> ColumnElement[bool]:
    """Between the caller's `users` row and `orders`: the caller owns it or is an admin."""
    return or_(USERS.c.is_admin, ORDERS.c.user_id == USERS.c.id)


FETCH_ORDER = (
    select(*ORDER_COLUMNS, *ITEM_COLUMNS)
    .outerjoin(ITEMS, ITEMS.c.order_id == ORDERS.c.id)
    .where(ORDERS.c.id == bindparam("order_id"))
    .order_by(ITEMS.c.id)
)
"""The order as it is now in this transaction, for a caller already checked."""


OrderJSON = dict[str, Any]
"""An order as `OrderPublic` describes it, built straight from its rows for the response."""


def orders_from_rows(rows: Iterable[Sequence[Any]]) -> list[OrderJSON]:
    """Group rows that start with `ORDER_COLUMNS + ITEM_COLUMNS` (sorted by order, then
    item) into orders.

    The rows come from the database, whose constraints hold every rule the models check:
    they become plain dicts (keys in the models' field order) that the routes serialize
    as they are, where building a model per order and per item only to serialize it
    would cost more than the rest of a page's request.
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


async def fetch_order(session: AsyncSession, order_id: int) -> OrderJSON:
    """The order as this transaction sees it, once a change has been made."""
    rows = await read_rows(session, FETCH_ORDER, {"order_id": order_id})
    return orders_from_rows(rows)[0]
