"""Opening an order, with the lines of its request, once per Idempotency-Key."""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, DataChanged
from app.fields import MAX_QUANTITY
from app.schemas import public_json
from app.services.callers import active_caller_is_admin
from app.services.orders import idempotency
from app.services.orders.changes import refresh_total
from app.services.orders.idempotency import CreatedOrder
from app.services.orders.orderable import orderable_products
from app.services.orders.rows import fetch_order
from app.tables import Order, OrderCreate, OrderItem, OrderItemCreate
from app.timestamps import utcnow


def _merge_lines(lines: Sequence[OrderItemCreate]) -> dict[int, int]:
    """Quantity per product, the same product's lines added up; `Conflict` past the line
    maximum."""
    quantities: dict[int, int] = {}
    for line in lines:
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    for product_id, quantity in quantities.items():
        if quantity > MAX_QUANTITY:
            raise Conflict(
                f"Product {product_id} adds up to {quantity} in this order; "
                f"a line holds at most {MAX_QUANTITY}"
            )
    return quantities


async def _open_order(session: AsyncSession, caller_id: int, body: OrderCreate) -> int:
    """A pending order with the body's lines (merged per product); its id."""
    quantities = _merge_lines(body.items)
    products = await orderable_products(session, list(quantities)) if quantities else []
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
    await refresh_total(session, order.id, now)
    return order.id


async def create_order(
    session: AsyncSession, caller_id: int, body: OrderCreate, idempotency_key: str | None
) -> CreatedOrder:
    """Open a pending order for the caller, with the body's lines (merged per product).

    With an idempotency key, the first successful response is stored with the key, in the
    same transaction as the order; a retry with the same key and body gets that response
    back, with another body a `Conflict`, for `KEY_LIFETIME`. Of concurrent requests with
    one key, one inserts the key and the others, blocked on its unique index until that
    commits, replay it.
    """
    await active_caller_is_admin(session, caller_id)
    fingerprint = idempotency.request_fingerprint(body)
    kept_since = utcnow() - idempotency.KEY_LIFETIME
    if idempotency_key is not None:
        stored = await idempotency.stored_response(
            session, caller_id, idempotency_key, fingerprint, kept_since
        )
        if stored is not None:
            return stored

    order_id = await _open_order(session, caller_id, body)
    created = CreatedOrder(public_json(await fetch_order(session, order_id)).decode())
    if idempotency_key is None:
        return created
    try:
        await idempotency.store_response(
            session, caller_id, idempotency_key, fingerprint, kept_since, order_id, created
        )
    except IntegrityError as exc:
        # A concurrent request with this key won; its order is the one to return.
        await session.rollback()
        stored = await idempotency.stored_response(
            session, caller_id, idempotency_key, fingerprint, kept_since
        )
        if stored is None:
            raise DataChanged from exc
        return stored
    return created
