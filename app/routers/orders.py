"""Orders: open one, add, change and remove its lines, then complete or cancel it.

Every route needs a bearer token. The caller sees their own orders; an admin sees every
order. Someone else's order is 404 on every route, never 403: its existence is not revealed.
The rules (locking, totals, state changes, idempotency) live in `app.services.orders`;
each route commits its own transaction before it answers.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import Body, Depends, Header, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import SessionDep
from app.events.log import OrderEventKind, record_order_event
from app.fields import MAX_ID
from app.metrics import OrderEvent, count_order
from app.openapi import BEARER_TOKEN_REQUIRED
from app.routers.common import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Offset,
    PrefixedRouter,
    error_responses,
    id_path,
    json_response,
)
from app.schemas import Page
from app.security import TokenUserId
from app.services.orders import changes, idempotency, opening, reads
from app.services.orders.rows import OrderJSON
from app.tables import OrderCreate, OrderItemCreate, OrderItemUpdate, OrderPublic, OrderStatus
from app.unit_of_work import commit

router = PrefixedRouter(prefix="/orders", tags=["orders"])

OrderId = Annotated[int, id_path("order")]
ItemId = Annotated[int, id_path("item")]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7E]+$",
        description=(
            "Any unique string (1-255 printable ASCII characters, e.g. a UUID) that makes "
            "retrying safe: the same key with the same body returns the first response "
            "again (with `Idempotent-Replayed: true`) instead of opening a second order; "
            "the same key with another body is 409. Keys are per user and kept for "
            f"{idempotency.KEY_LIFETIME // timedelta(hours=1)} hours; sent again after that, a "
            "key opens a new order. A request that failed stored nothing, so its key can be "
            "retried."
        ),
    ),
]

IDEMPOTENT_REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": (
            "`true` when the response is the replay of the first request with this "
            "`Idempotency-Key`; absent on a new order"
        ),
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    }
}


async def refuse_a_null_body(request: Request) -> None:
    """FastAPI reads a JSON `null` body as no body at all; the schema offers the body as an
    object or nothing, so `null` is refused like any other non-object."""
    if (await request.body()).strip() == b"null":
        raise RequestValidationError(
            [
                {
                    "type": "model_attributes_type",
                    "loc": ("body",),
                    "msg": "Input should be an object; leave the body out for an empty order",
                    "input": None,
                }
            ]
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderPublic,
    operation_id="create_order",
    summary="Open an order, optionally with items",
    responses={
        status.HTTP_201_CREATED: {"headers": IDEMPOTENT_REPLAYED_HEADER},
        **error_responses(401, 404, 409, 413, 422),
    },
    openapi_extra=BEARER_TOKEN_REQUIRED,
    dependencies=[Depends(refuse_a_null_body)],
)
async def create_order(
    caller_id: TokenUserId,
    session: SessionDep,
    body: Annotated[OrderCreate | None, Body()] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Opens a `pending` order for the caller. The body is optional: no body, `{}` or
    `{"items": [{"product_id": 1, "quantity": 2}]}` (at most 100 entries). The same
    product twice is merged into one line; a line holds at most 100 (409 past that). Each
    line copies the product's current name and price.

    404 when a product does not exist, 409 when one is not available.
    """
    created = await opening.create_order(session, caller_id, body or OrderCreate(), idempotency_key)
    if not created.replayed:
        await record_order_event(session, created.body, OrderEventKind.CREATED)
    await commit(session)
    if not created.replayed:
        count_order("created")
    return Response(
        created.body,
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if created.replayed else None,
    )


@router.get(
    "",
    response_model=Page[OrderPublic],
    operation_id="list_orders",
    summary="List orders, newest first",
    responses=error_responses(401, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def list_orders(
    request: Request,
    caller_id: TokenUserId,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = None,
    cursor: Cursor = None,
    status_filter: Annotated[
        OrderStatus | None, Query(alias="status", description="Only orders in this state")
    ] = None,
    user_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this user's orders (admins)")
    ] = None,
) -> Response:
    """A customer sees their own orders, an admin every order, each with its items.

    Filters narrow what you may see and never widen it: `user_id` is meant for admins; a
    customer's `user_id` naming someone else matches nothing (an empty page, not a 403).

    Page through with `next_cursor`: pass it as `cursor` (with the same filters) for the
    next page, until it is null. A page by cursor costs the same at any depth, and
    following the cursors visits every order once, even while orders are added. `offset`
    serves the first pages (at most 10,000). `count` is exact up to 10,000 orders.
    """
    listing = await reads.list_orders(
        session,
        caller_id,
        request.app.state.cursors,
        limit=limit,
        offset=offset,
        cursor=cursor,
        status_filter=status_filter,
        user_id=user_id,
    )
    return json_response(listing)


@router.get(
    "/{order_id}",
    response_model=OrderPublic,
    operation_id="read_order",
    summary="One order with its items and total",
    responses=error_responses(401, 404, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def read_order(order_id: OrderId, caller_id: TokenUserId, session: SessionDep) -> Response:
    """The owner's or any order for an admin; someone else's order is 404."""
    return json_response(await reads.read_order(session, caller_id, order_id))


async def _committed(
    session: AsyncSession,
    order: OrderJSON,
    status_code: int = status.HTTP_200_OK,
    event: OrderEvent | None = None,
) -> Response:
    """The changed order as the response, once its transaction (with the change's event)
    has committed; a change of status is counted in the `orders_total` metric."""
    await record_order_event(session, order)
    await commit(session)
    if event is not None:
        count_order(event)
    return json_response(order, status_code)


@router.post(
    "/{order_id}/items",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderPublic,
    operation_id="add_order_item",
    summary="Add a product to a pending order",
    responses=error_responses(401, 404, 409, 413, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def add_order_item(
    order_id: OrderId, body: OrderItemCreate, caller_id: TokenUserId, session: SessionDep
) -> Response:
    """Adds a line with the product's current name and price, or, when the order has a
    line for that product already, raises its quantity (it keeps the price it was added
    at). Returns the whole order.

    404 when the order or the product does not exist; 409 when the order is not pending,
    the product is not available, or the line would pass 100 (it is then left
    as it was).
    """
    order = await changes.add_item(session, caller_id, order_id, body)
    return await _committed(session, order, status.HTTP_201_CREATED)


@router.patch(
    "/{order_id}/items/{item_id}",
    response_model=OrderPublic,
    operation_id="update_order_item",
    summary="Change a line's quantity",
    responses=error_responses(401, 404, 409, 413, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def update_order_item(
    order_id: OrderId,
    item_id: ItemId,
    body: OrderItemUpdate,
    caller_id: TokenUserId,
    session: SessionDep,
) -> Response:
    """Sets the line's quantity and returns the whole order. Lowering it is always allowed;
    raising it needs the product to be still available (409 otherwise). 409 when the order
    is not pending; 404 when the order or the line does not exist."""
    return await _committed(
        session, await changes.update_item(session, caller_id, order_id, item_id, body.quantity)
    )


@router.delete(
    "/{order_id}/items/{item_id}",
    response_model=OrderPublic,
    operation_id="remove_order_item",
    summary="Remove a line",
    responses=error_responses(401, 404, 409, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def remove_order_item(
    order_id: OrderId, item_id: ItemId, caller_id: TokenUserId, session: SessionDep
) -> Response:
    """Removes the line and returns the whole order (which may end up with no items).
    409 when the order is not pending; 404 when the order or the line does not exist."""
    return await _committed(
        session, await changes.remove_item(session, caller_id, order_id, item_id)
    )


@router.post(
    "/{order_id}/cancel",
    response_model=OrderPublic,
    operation_id="cancel_order",
    summary="Cancel a pending order",
    responses=error_responses(401, 404, 409, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def cancel_order(order_id: OrderId, caller_id: TokenUserId, session: SessionDep) -> Response:
    """pending → cancelled. 409 when the order is already cancelled or completed. Of a
    cancel and a complete racing on one order, exactly one wins; the other gets 409."""
    return await _committed(
        session,
        await changes.change_status(session, caller_id, order_id, OrderStatus.CANCELLED),
        event="cancelled",
    )


@router.post(
    "/{order_id}/complete",
    response_model=OrderPublic,
    operation_id="complete_order",
    summary="Complete a pending order",
    responses=error_responses(401, 404, 409, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def complete_order(
    order_id: OrderId, caller_id: TokenUserId, session: SessionDep
) -> Response:
    """pending → completed, when the order has at least one item (409 otherwise). 409 when
    the order is already cancelled or completed."""
    return await _committed(
        session,
        await changes.change_status(session, caller_id, order_id, OrderStatus.COMPLETED),
        event="completed",
    )
