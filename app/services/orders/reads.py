"""Reading orders: one order with its items in one statement, a page in one or two, each
statement also checking the caller. A page starts at an offset or after a cursor's
position (keyset: one range of an index, at any depth), and tells its count from
`order_counts`."""

from typing import Any, NoReturn

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    func,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import read_rows
from app.errors import OrderNotFound, UserGone
from app.order_counts import ANY_STATUS, COUNTS, EVERYONE
from app.paging import (
    CursorCodec,
    PagedList,
    Position,
    after_position,
    check_offset,
    page,
    position_params,
)
from app.services.callers import active_caller_condition, active_caller_is_admin
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
    select(cast(func.coalesce(func.sum(COUNTS.c.orders), 0), BigInteger))
    .where(
        COUNTS.c.user_id == bindparam("count_user_id"),
        COUNTS.c.status == bindparam("count_status"),
    )
    .scalar_subquery()
)
"""The count of the orders through the filters: the sum of its rows in `order_counts` (one
row for a user's count, at most `EVERYONES_COUNT_SLOTS` for one over every user; 0 when
there is none), whatever the number of orders. PostgreSQL's sum of a bigint is a numeric:
cast back."""
NO_USER = -1
"""`count_user_id` where the filters match nothing (a customer's filter on someone else)."""


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
        .where(active_caller_condition())
        .order_by(page.c.created_at.desc(), page.c.id.desc(), ITEMS.c.id)
    )


def _everyones_page(by_status: bool, by_user: bool, by_cursor: bool) -> Select[Any]:
    """A page of every order (for an admin) joined to their items, with the count."""
    filters = _listing_filters(by_status, by_user)
    page = _page_of(select(*ORDER_COLUMNS).where(*filters), by_cursor)
    return (
        select(page, *ITEM_COLUMNS, ORDER_COUNT.label("count"))
        .outerjoin(ITEMS, ITEMS.c.order_id == page.c.id)
        .order_by(page.c.created_at.desc(), page.c.id.desc(), ITEMS.c.id)
    )


PAGE_CHOICES = [
    (by_status, by_user, by_cursor)
    for by_status in (False, True)
    for by_user in (False, True)
    for by_cursor in (False, True)
]
# Built once per choice of filters and start, keyed by (by_status, by_user, by_cursor).
OWN_PAGE = {choice: _own_page(*choice) for choice in PAGE_CHOICES}
EVERYONES_PAGE = {choice: _everyones_page(*choice) for choice in PAGE_CHOICES}
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
    nothing. `InvalidPage` (its kinds) for a cursor not of this list, or bad bounds.
    """
    skip = check_offset(offset, cursor)
    position = None if cursor is None else codec.decode(PagedList.ORDERS, cursor)
    choice = (status_filter is not None, user_id is not None, position is not None)
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
    rows = await read_rows(session, OWN_PAGE[choice], params)
    if not rows:
        raise UserGone
    *_columns, caller_is_admin, _count = rows[0]
    if caller_is_admin:
        params["count_user_id"] = EVERYONE if user_id is None else user_id
        rows = await read_rows(session, EVERYONES_PAGE[choice], params)
        if not rows:
            matching = await session.scalar(EVERYONES_COUNT, params)
            return page([], limit=limit, offset=skip, matching=matching or 0, next_cursor=None)
    orders = orders_from_rows(rows)
    return page(
        orders[:limit],
        limit=limit,
        offset=skip,
        matching=rows[0][-1],  # each row ends with the count
        next_cursor=_next_cursor(orders, limit, codec),
    )
