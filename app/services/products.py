"""The menu: pages of it, one product, and an admin's changes.

Reads select the columns of `ProductPublic` straight into the JSON of the response.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import read_rows
from app.errors import ProductNotFound
from app.services.counting import count_of
from app.tables import PRODUCTS, Product, ProductCreate, ProductPublic, ProductUpdate

PUBLIC_FIELDS = tuple(ProductPublic.model_fields)  # the order `_products_json` writes them in
PUBLIC_COLUMNS = tuple(PRODUCTS.c[field] for field in PUBLIC_FIELDS)


def _shown(*, everything: bool) -> list[ColumnElement[bool]]:
    return [] if everything else [PRODUCTS.c.is_available]


def _menu_page(*, everything: bool) -> Select[Any]:
    """A page of the menu, newest first, each row carrying the count of the whole menu."""
    count = count_of(PRODUCTS, *_shown(everything=everything))
    return (
        select(*PUBLIC_COLUMNS, count.label("count"))
        .where(*_shown(everything=everything))
        .order_by(PRODUCTS.c.created_at.desc(), PRODUCTS.c.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


# Keyed by `everything`: the whole menu (for an admin who asks), or what is available.
MENU_PAGE = {everything: _menu_page(everything=everything) for everything in (False, True)}
MENU_COUNT = {
    everything: count_of(PRODUCTS, *_shown(everything=everything)) for everything in (False, True)
}
PRODUCT = select(*PUBLIC_COLUMNS).where(PRODUCTS.c.id == bindparam("product_id"))
AVAILABLE_PRODUCT = PRODUCT.where(PRODUCTS.c.is_available)


def _products_json(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows that start with `PUBLIC_COLUMNS`, as `ProductPublic` describes them (its field
    order), for `json_response`. A dict display per row, which is several times faster
    than a call of `dict(zip(...))` per row."""
    return [
        {
            "name": name,
            "description": description,
            "price_cents": price_cents,
            "is_available": is_available,
            "id": product_id,
            "created_at": created_at,
        }
        for name, description, price_cents, is_available, product_id, created_at, *_count in rows
    ]


async def menu_page(
    session: AsyncSession, *, everything: bool, limit: int, offset: int
) -> dict[str, Any]:
    """A page of the menu, newest first, with the count over all pages: the available
    products, or with `everything` the unavailable ones too."""
    rows = await read_rows(session, MENU_PAGE[everything], {"limit": limit, "offset": offset})
    if rows:
        *_product, count = rows[0]
    else:  # past the last page (or an empty menu): the count still has to be told
        count = await session.scalar(MENU_COUNT[everything]) if offset else 0
    return {"data": _products_json(rows), "count": count, "limit": limit, "offset": offset}


async def read_product(
    session: AsyncSession, product_id: int, *, even_unavailable: bool
) -> dict[str, Any]:
    """An available product, or with `even_unavailable` any product; `ProductNotFound`
    otherwise."""
    query = PRODUCT if even_unavailable else AVAILABLE_PRODUCT
    rows = await read_rows(session, query, {"product_id": product_id})
    if not rows:
        raise ProductNotFound
    return _products_json(rows)[0]


def add_product(session: AsyncSession, body: ProductCreate) -> Product:
    """A new product, added to the session; a taken name fails when the route commits."""
    product = Product.model_validate(body)
    session.add(product)
    return product


async def update_product(session: AsyncSession, product_id: int, body: ProductUpdate) -> Product:
    """The product with the fields that `body` sets changed; `ProductNotFound` for none."""
    product = await session.get(Product, product_id)
    if product is None:
        raise ProductNotFound
    product.sqlmodel_update(body.model_dump(exclude_unset=True))
    return product
