"""The menu: public to read, managed by admins."""

from typing import Annotated

from fastapi import Query, Request, Response, status

from app.db import SessionDep
from app.errors import ProductNameTaken
from app.openapi import BEARER_TOKEN_OPTIONAL, BEARER_TOKEN_REQUIRED
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
from app.security import AdminUser, OptionalTokenUserId, caller_is_admin
from app.services import products
from app.tables import Product, ProductCreate, ProductPublic, ProductUpdate
from app.unit_of_work import commit

router = PrefixedRouter(prefix="/products", tags=["products"])

ProductId = Annotated[int, id_path("product")]


@router.get(
    "",
    response_model=Page[ProductPublic],
    operation_id="list_products",
    summary="The menu, newest first",
    responses=error_responses(401, 422),
    openapi_extra=BEARER_TOKEN_OPTIONAL,
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
    return json_response(
        await products.menu_page(
            session,
            request.app.state.cursors,
            everything=everything,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )
    )


@router.get(
    "/{product_id}",
    response_model=ProductPublic,
    operation_id="read_product",
    summary="One product",
    responses=error_responses(401, 404, 422),
    openapi_extra=BEARER_TOKEN_OPTIONAL,
)
async def read_product(
    product_id: ProductId, session: SessionDep, caller_id: OptionalTokenUserId
) -> Response:
    """An available product, to anyone. An unavailable one is 404 except for admins."""
    is_admin = await caller_is_admin(session, caller_id)
    return json_response(
        await products.read_product(session, product_id, even_unavailable=is_admin)
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductPublic,
    operation_id="create_product",
    summary="Add a product to the menu (admin)",
    responses=error_responses(401, 403, 409, 413, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def create_product(body: ProductCreate, _admin: AdminUser, session: SessionDep) -> Product:
    """Names are unique (409 when taken; compared exactly, after trimming spaces). Prices
    are integer cents, 1 to 10,000,000. A new product is available unless said otherwise."""
    product = products.add_product(session, body)
    await commit(session, ProductNameTaken)
    return product


@router.patch(
    "/{product_id}",
    response_model=ProductPublic,
    operation_id="update_product",
    summary="Change a product (admin)",
    responses=error_responses(401, 403, 404, 409, 413, 422),
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def update_product(
    product_id: ProductId, body: ProductUpdate, _admin: AdminUser, session: SessionDep
) -> Product:
    """Any of name, description, price_cents, is_available; fields left out stay as they
    are (null is 422). A new price applies to items added from now on: lines already in
    orders keep the name and price they were added with. Make a product unavailable to take
    it off the menu; it is never deleted, because orders refer to it."""
    product = await products.update_product(session, product_id, body)
    await commit(session, ProductNameTaken)
    return product
