"""The products an order line may be made of: they exist and are available.

A line copies the product's name and price when it is added, so these are the columns an
order reads from `products`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.tables import PRODUCTS

ORDERABLE_COLUMNS: tuple[Any, ...] = (
    PRODUCTS.c.id.label("product_id"),
    PRODUCTS.c.name.label("product_name"),
    PRODUCTS.c.price_cents,
    PRODUCTS.c.is_available,
)

ORDERABLE_PRODUCTS = select(*ORDERABLE_COLUMNS).where(
    PRODUCTS.c.id.in_(bindparam("product_ids", expanding=True))
)


@dataclass(frozen=True)
class OrderableProduct:
    id: int
    name: str
    price_cents: int


def orderable(product_id: int, row: Row[Any] | None) -> OrderableProduct:
    """The product of a row of `ORDERABLE_COLUMNS`: `NotFound` for a product that does not
    exist (no row, or a row of nulls), `Conflict` for one that is not available."""
    if row is None or row.product_name is None:
        raise NotFound(f"Product {product_id} not found")
    if not row.is_available:
        raise Conflict(f"Product {product_id} is not available")
    return OrderableProduct(product_id, row.product_name, row.price_cents)


async def orderable_products(
    session: AsyncSession, product_ids: Sequence[int]
) -> list[OrderableProduct]:
    """The products, in the order of `product_ids`, each checked by `orderable`."""
    rows = await session.execute(ORDERABLE_PRODUCTS, {"product_ids": list(product_ids)})
    found = {row.product_id: row for row in rows}
    return [orderable(product_id, found.get(product_id)) for product_id in product_ids]
