"""Routers answer under whatever prefix they are included with.

Every router of the app is a `PrefixedRouter`, which skips its routes for a path that
cannot be one of them: the check must hold for a router included under a prefix of its
own (`/v1`), and for an app served under a root path.
"""

import httpx
from fastapi import FastAPI

from app.routers.common import PrefixedRouter


def menu_router() -> PrefixedRouter:
    router = PrefixedRouter(prefix="/menu")

    @router.get("")
    async def read_menu() -> dict[str, str]:
        return {"route": "menu"}

    @router.get("/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    return router


async def get(app: FastAPI, path: str, root_path: str = "") -> httpx.Response:
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_a_router_included_under_a_prefix_answers_there() -> None:
    app = FastAPI()
    app.include_router(menu_router(), prefix="/v1")

    response = await get(app, "/v1/menu/7")

    assert response.status_code == 200
    assert response.json() == {"item": 7}


async def test_a_router_included_under_a_prefix_answers_at_its_own_path() -> None:
    app = FastAPI()
    app.include_router(menu_router(), prefix="/v1")

    response = await get(app, "/v1/menu")

    assert response.status_code == 200
    assert response.json() == {"route": "menu"}


async def test_a_router_included_under_a_prefix_no_longer_answers_without_it() -> None:
    app = FastAPI()
    app.include_router(menu_router(), prefix="/v1")

    response = await get(app, "/menu/7")

    assert response.status_code == 404


async def test_a_router_included_under_a_prefix_with_a_parameter_answers_there() -> None:
    app = FastAPI()
    app.include_router(menu_router(), prefix="/shops/{shop_id}")

    response = await get(app, "/shops/3/menu/7")

    assert response.status_code == 200
    assert response.json() == {"item": 7}


async def test_a_router_whose_own_prefix_has_a_parameter_answers() -> None:
    router = PrefixedRouter(prefix="/shops/{shop_id}")

    @router.get("/menu")
    async def read_menu(shop_id: int) -> dict[str, int]:
        return {"shop": shop_id}

    app = FastAPI()
    app.include_router(router, prefix="/v1")

    response = await get(app, "/v1/shops/3/menu")

    assert response.status_code == 200
    assert response.json() == {"shop": 3}


async def test_a_router_nested_in_a_prefixed_router_answers_under_both_prefixes() -> None:
    outer = PrefixedRouter(prefix="/api")
    outer.include_router(menu_router())
    app = FastAPI()
    app.include_router(outer, prefix="/v1")

    response = await get(app, "/v1/api/menu/7")

    assert response.status_code == 200
    assert response.json() == {"item": 7}


async def test_a_router_answers_when_the_app_is_served_under_a_root_path() -> None:
    app = FastAPI()
    app.include_router(menu_router())

    response = await get(app, "/shop/menu/7", root_path="/shop")

    assert response.status_code == 200
    assert response.json() == {"item": 7}


async def test_a_path_outside_every_prefix_is_404() -> None:
    app = FastAPI()
    app.include_router(menu_router(), prefix="/v1")

    response = await get(app, "/v1/orders/7")

    assert response.status_code == 404
