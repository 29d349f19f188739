"""The menu: pages of it, one product, and an admin's changes.

Reads select the columns of `ProductPublic` straight into the JSON of the response.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import read_rows
from app.errors import ProductNotFound
from app.paging import (
    CursorCodec,
    PagedList,
    Position,
    after_position,
    check_offset,
    page,
    position_params,
)
from app.services.counting import count_of
from app.tables import PRODUCTS, Product, ProductCreate, ProductPublic, ProductUpdate

PUBLIC_FIELDS = tuple(ProductPublic.model_fields)  # the order `_products_json` writes them in
PUBLIC_COLUMNS = tuple(PRODUCTS.c[field] for field in PUBLIC_FIELDS)


def _shown(*, everything: bool) -> list[ColumnElement[bool]]:
    return [] if everything else [PRODUCTS.c.is_available]


def _menu_page(*, everything: bool, by_cursor: bool) -> Select[Any]:
    """A page of the menu, newest first (after the cursor's position when there is one),
    each row carrying the menu's count. One row more than the page, when there is one,
    tells that another page follows."""
    shown = _shown(everything=everything)
    after = [after_position(PRODUCTS.c.created_at, PRODUCTS.c.id)] if by_cursor else []
    return (
        select(*PUBLIC_COLUMNS, count_of(PRODUCTS, *shown).label("count"))
        .where(*shown, *after)
        .order_by(PRODUCTS.c.created_at.desc(), PRODUCTS.c.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


# Keyed by (everything, by_cursor): the whole menu (for an admin who asks), or what is
# available; from an offset, or after a cursor's position.
MENU_PAGE = {
    (everything, by_cursor): _menu_page(everything=everything, by_cursor=by_cursor)
    for everything in (False, True)
    for by_cursor in (False, True)
}
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
    session: AsyncSession,
    codec: CursorCodec,
    *,
    everything: bool,
    limit: int,
    offset: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """A page of the menu, newest first, with the count over all pages: the available
    products, or with `everything` the unavailable ones too; from `offset`, or after the
    position `cursor` marks (`InvalidPage`, of its kinds, for bad ones)."""
    skip = check_offset(offset, cursor)
    position = None if cursor is None else codec.decode(PagedList.PRODUCTS, cursor)
    params = {"limit": limit + 1, "offset": skip, **position_params(position)}
    rows = await read_rows(session, MENU_PAGE[everything, position is not None], params)
    if rows:
        *_product, matching = rows[0]
    else:  # past the last page (or an empty menu): the count still has to be told
        matching = await session.scalar(MENU_COUNT[everything]) if skip or position else 0
    menu = _products_json(rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = menu[-1]
        next_cursor = codec.encode(PagedList.PRODUCTS, Position(last["created_at"], last["id"]))
    return page(menu, limit=limit, offset=skip, matching=matching, next_cursor=next_cursor)


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
