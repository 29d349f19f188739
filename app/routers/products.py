"""The menu: public to read, managed by admins."""

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request, Response, status
from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import SessionDep, read_rows
from app.paging import (
    CursorCodec,
    PagedList,
    Position,
    after_position,
    check_offset,
    count_at_most,
    page,
    position_params,
)
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
from app.security import AdminUser, OptionalTokenUserId, caller_is_admin
from app.tables import Page, Product, ProductCreate, ProductPublic, ProductUpdate, table_of

router = PrefixedRouter(prefix="/products", tags=["products"])

ProductId = Annotated[int, id_path("product")]
NAME_TAKEN = "A product with this name already exists"
PRODUCT_FIELDS = tuple(ProductPublic.model_fields)  # the order `_products_json` writes them in
PRODUCTS = table_of(Product)
PRODUCT_COLUMNS = tuple(PRODUCTS.c[field] for field in PRODUCT_FIELDS)


def _shown(*, everything: bool) -> list[Any]:
    return [] if everything else [PRODUCTS.c.is_available]


def _menu_page(*, everything: bool, by_cursor: bool) -> Select[Any]:
    """A page of the menu, newest first (after the cursor's position when there is one),
    each row carrying the menu's count. One row more than the page, when there is one,
    tells that another page follows."""
    shown = _shown(everything=everything)
    after = [after_position(PRODUCTS.c.created_at, PRODUCTS.c.id)] if by_cursor else []
    return (
        select(*PRODUCT_COLUMNS, count_at_most(PRODUCTS, *shown).label("count"))
        .where(*shown, *after)
        .order_by(PRODUCTS.c.created_at.desc(), PRODUCTS.c.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


# Built once: SQLAlchemy reuses their cache key and compiled form.
MENU_PAGE = {
    (everything, by_cursor): _menu_page(everything=everything, by_cursor=by_cursor)
    for everything in (False, True)
    for by_cursor in (False, True)
}
MENU_COUNT = {
    everything: select(count_at_most(PRODUCTS, *_shown(everything=everything)))
    for everything in (False, True)
}
PRODUCT = select(*PRODUCT_COLUMNS).where(PRODUCTS.c.id == bindparam("product_id"))
AVAILABLE_PRODUCT = PRODUCT.where(PRODUCTS.c.is_available)


def _products_json(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows that start with `PRODUCT_COLUMNS`, as `ProductPublic` describes them (its field
    order), for `json_response`. A dict display per row: three times faster than a call of
    `dict(zip(...))` per row, a twentieth of a page of the menu's request."""
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


def product_not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail="Product not found")


@router.get(
    "",
    response_model=Page[ProductPublic],
    operation_id="list_products",
    summary="The menu, newest first",
    responses=error_responses(401, 422),
)
async def list_products(
    request: Request,
    session: SessionDep,
    caller_id: OptionalTokenUserId,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = None,
    cursor: Cursor = None,
    include_unavailable: Annotated[
        bool, Query(description="Admins only: list unavailable products too")
    ] = False,
) -> Response:
    """Available products, to anyone, no token needed. An admin (with a bearer token) may
    add `include_unavailable=true` to see the whole menu. For anyone else the flag has no
    effect: it widens only what the caller may see, like every filter here. A bearer token
    that is sent must be valid (401 otherwise), even though none is needed.

    Page through with `next_cursor` (pass it as `cursor`, with the same
    `include_unavailable`) until it is null; `offset` serves the first pages (at most
    10,000)."""
    is_admin = await caller_is_admin(session, caller_id)  # a gone user's token: 401, always
    everything = include_unavailable and is_admin
    skip = check_offset(offset, cursor)
    cursors: CursorCodec = request.app.state.cursors
    position = None if cursor is None else cursors.decode(PagedList.PRODUCTS, cursor)
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
        next_cursor = cursors.encode(PagedList.PRODUCTS, Position(last["created_at"], last["id"]))
    return json_response(
        page(menu, limit=limit, offset=skip, matching=matching, next_cursor=next_cursor)
    )


@router.get(
    "/{product_id}",
    response_model=ProductPublic,
    operation_id="read_product",
    summary="One product",
    responses=error_responses(401, 404, 422),
)
async def read_product(
    product_id: ProductId, session: SessionDep, caller_id: OptionalTokenUserId
) -> Response:
    """An available product, to anyone. An unavailable one is 404 except for admins."""
    query = PRODUCT if await caller_is_admin(session, caller_id) else AVAILABLE_PRODUCT
    rows = await read_rows(session, query, {"product_id": product_id})
    if not rows:
        raise product_not_found()
    return json_response(_products_json(rows)[0])


async def _commit_product(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=NAME_TAKEN) from exc


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductPublic,
    operation_id="create_product",
    summary="Add a product to the menu (admin)",
    responses=error_responses(401, 403, 409, 413, 422),
)
async def create_product(body: ProductCreate, _admin: AdminUser, session: SessionDep) -> Product:
    """Names are unique (409 when taken; compared exactly, after trimming spaces). Prices
    are integer cents, 1 to 10,000,000. A new product is available unless said otherwise."""
    product = Product.model_validate(body)
    session.add(product)
    await _commit_product(session)
    return product


@router.patch(
    "/{product_id}",
    response_model=ProductPublic,
    operation_id="update_product",
    summary="Change a product (admin)",
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def update_product(
    product_id: ProductId, body: ProductUpdate, _admin: AdminUser, session: SessionDep
) -> Product:
    """Any of name, description, price_cents, is_available; fields left out stay as they
    are (null is 422). A new price applies to items added from now on: lines already in
    orders keep the name and price they were added with. Make a product unavailable to take
    it off the menu; it is never deleted, because orders refer to it."""
    product = await session.get(Product, product_id)
    if product is None:
        raise product_not_found()
    product.sqlmodel_update(body.model_dump(exclude_unset=True))
    await _commit_product(session)
    return product
