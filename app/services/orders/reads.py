"""Reading orders: one order with its items in one statement, a page in one or two, each
statement also checking the caller."""

from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import read_rows
from app.errors import OrderNotFound, UserGone
from app.services.callers import active_caller_condition, active_caller_is_admin
from app.services.counting import count_of
from app.services.orders.rows import (
    ITEM_COLUMNS,
    ORDER_COLUMNS,
    OrderJSON,
    caller_may_see_order,
    orders_from_rows,
)
from app.tables import ITEMS, ORDERS, USERS, OrderStatus

NEWEST_FIRST = (ORDERS.c.created_at.desc(), ORDERS.c.id.desc())

READ_ORDER = (
    select(*ORDER_COLUMNS, *ITEM_COLUMNS)
    .select_from(USERS)
    .outerjoin(ORDERS, and_(ORDERS.c.id == bindparam("order_id"), caller_may_see_order()))
    .outerjoin(ITEMS, ITEMS.c.order_id == ORDERS.c.id)
    .where(active_caller_condition())
    .order_by(ITEMS.c.id)
)
"""No row: the caller is gone (401). A row of nulls: no such order for this caller (404)."""


async def raise_missing_order(session: AsyncSession, caller_id: int) -> NoReturn:
    """A query for the caller's order found nothing: `UserGone` when the caller is gone,
    else `OrderNotFound`."""
    await active_caller_is_admin(session, caller_id)
    raise OrderNotFound


async def read_order(session: AsyncSession, caller_id: int, order_id: int) -> OrderJSON:
    """The order with its items, in one statement that also checks the caller."""
    rows = await read_rows(session, READ_ORDER, {"caller_id": caller_id, "order_id": order_id})
    if not rows:
        raise UserGone
    found_id, *_columns = rows[0]
    if found_id is None:
        raise OrderNotFound
    return orders_from_rows(rows)[0]


def _listing_filters(by_status: bool, by_user: bool) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if by_status:
        filters.append(ORDERS.c.status == bindparam("status"))
    if by_user:
        filters.append(ORDERS.c.user_id == bindparam("user_id"))
    return filters


def _page_of(visible: Select[Any]) -> Any:
    """A page of these orders, newest first, as a subquery to join their items to."""
    return (
        visible.order_by(*NEWEST_FIRST)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )


def _own_page(by_status: bool, by_user: bool) -> Select[Any]:
    """The caller's own page of orders joined to their items, each row carrying the
    caller's `is_admin` and the count of their orders through the filters.

    Built on the caller's row: no row when the caller is gone or deactivated, and a row
    of nulls (but for `is_admin` and the count) when the page is empty.
    """
    own = [ORDERS.c.user_id == bindparam("caller_id"), *_listing_filters(by_status, by_user)]
    page = _page_of(select(*ORDER_COLUMNS).where(*own))
    return (
        select(page, *ITEM_COLUMNS, USERS.c.is_admin, count_of(ORDERS, *own).label("count"))
        .select_from(USERS)
        .outerjoin(page, true())
        .outerjoin(ITEMS, ITEMS.c.order_id == page.c.id)
        .where(active_caller_condition())
        .order_by(page.c.created_at.desc(), page.c.id.desc(), ITEMS.c.id)
    )


def _everyones_page(by_status: bool, by_user: bool) -> Select[Any]:
    """A page of every order (for an admin) joined to their items, with the count."""
    filters = _listing_filters(by_status, by_user)
    page = _page_of(select(*ORDER_COLUMNS).where(*filters))
    return (
        select(page, *ITEM_COLUMNS, count_of(ORDERS, *filters).label("count"))
        .outerjoin(ITEMS, ITEMS.c.order_id == page.c.id)
        .order_by(page.c.created_at.desc(), page.c.id.desc(), ITEMS.c.id)
    )


FILTER_CHOICES = [(by_status, by_user) for by_status in (False, True) for by_user in (False, True)]
# Built once per choice of filters, keyed by (by_status, by_user).
OWN_PAGE = {choice: _own_page(*choice) for choice in FILTER_CHOICES}
EVERYONES_PAGE = {choice: _everyones_page(*choice) for choice in FILTER_CHOICES}
EVERYONES_COUNT = {
    choice: count_of(ORDERS, *_listing_filters(*choice)) for choice in FILTER_CHOICES
}


async def list_orders(
    session: AsyncSession,
    caller_id: int,
    *,
    limit: int,
    offset: int,
    status_filter: OrderStatus | None = None,
    user_id: int | None = None,
) -> dict[str, Any]:
    """A page of the orders the caller may see, newest first, with their items.

    A customer's page is one statement whatever its size or the number of items: the
    caller's row, their page joined to its items, and the count. An admin's takes a
    second, for everyone's page (and a third when that page is empty, for the count).
    Filters narrow what the caller may see, never widen it: a customer's `user_id` filter
    naming someone else matches nothing.
    """
    choice = (status_filter is not None, user_id is not None)
    params = {
        "caller_id": caller_id,
        "status": status_filter,
        "user_id": user_id,
        "limit": limit,
        "offset": offset,
    }
    rows = await read_rows(session, OWN_PAGE[choice], params)
    if not rows:
        raise UserGone
    *_columns, caller_is_admin, _count = rows[0]
    if caller_is_admin:
        rows = await read_rows(session, EVERYONES_PAGE[choice], params)
        if not rows:
            count = await session.scalar(EVERYONES_COUNT[choice], params)
            return {"data": [], "count": count, "limit": limit, "offset": offset}
    return {
        "data": orders_from_rows(rows),
        "count": rows[0][-1],  # each row ends with the count
        "limit": limit,
        "offset": offset,
    }
