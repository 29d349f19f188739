"""Opening, reading, cancelling and completing orders; who may see which order."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col

from app.tables import ProductPublic, User
from tests.conftest import Account, CreateProduct, CreateUser, detail_of, open_order


async def test_open_order_without_body_is_pending_and_empty(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.post("/orders", headers=customer.headers)

    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "pending"
    assert order["user_id"] == customer.id
    assert order["items"] == []
    assert order["total_cents"] == 0
    assert order["created_at"] == order["updated_at"]
    assert order["created_at"].endswith(("Z", "+00:00"))


async def test_open_order_with_empty_object_body(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.post("/orders", json={}, headers=customer.headers)

    assert response.status_code == 201
    assert response.json()["items"] == []


async def test_open_order_with_items_copies_name_and_price(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    pizza = await create_product(name="Diavola", price_cents=1150)
    water = await create_product(name="Water", price_cents=250)

    order = await open_order(client, customer, (pizza.id, 2), (water.id, 3))

    assert [
        (i["product_id"], i["product_name"], i["unit_price_cents"], i["quantity"])
        for i in order["items"]
    ] == [(pizza.id, "Diavola", 1150, 2), (water.id, "Water", 250, 3)]
    assert [i["line_total_cents"] for i in order["items"]] == [2300, 750]
    assert order["total_cents"] == 3050
    assert all(item["order_id"] == order["id"] for item in order["items"])


async def test_open_order_merges_the_same_product(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 2), (product.id, 5))

    assert len(order["items"]) == 1
    assert order["items"][0]["quantity"] == 7
    assert order["total_cents"] == 7 * product.price_cents


async def test_open_order_merged_past_100_is_409_and_creates_nothing(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    body = {"items": [{"product_id": product.id, "quantity": 60}] * 2}

    response = await client.post("/orders", json=body, headers=customer.headers)

    assert response.status_code == 409
    assert "100" in detail_of(response)
    listing = await client.get("/orders", headers=customer.headers)
    assert listing.json()["count"] == 0


async def test_open_order_with_unknown_product_is_404_and_creates_nothing(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    body = {
        "items": [{"product_id": product.id, "quantity": 1}, {"product_id": 999, "quantity": 1}]
    }

    response = await client.post("/orders", json=body, headers=customer.headers)

    assert response.status_code == 404
    assert detail_of(response) == "Product 999 not found"
    assert (await client.get("/orders", headers=customer.headers)).json()["count"] == 0


async def test_open_order_with_unavailable_product_is_409(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    sold_out = await create_product(is_available=False)

    response = await client.post(
        "/orders",
        json={"items": [{"product_id": sold_out.id, "quantity": 1}]},
        headers=customer.headers,
    )

    assert response.status_code == 409
    assert detail_of(response) == f"Product {sold_out.id} is not available"


async def test_read_order_returns_items_and_total(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    created = await open_order(client, customer, (product.id, 3))

    response = await client.get(f"/orders/{created['id']}", headers=customer.headers)

    assert response.status_code == 200
    assert response.json() == created


async def test_read_unknown_order_is_404(client: httpx.AsyncClient, customer: Account) -> None:
    response = await client.get("/orders/12345", headers=customer.headers)

    assert response.status_code == 404
    assert detail_of(response) == "Order not found"


async def test_admin_reads_any_order(
    client: httpx.AsyncClient, customer: Account, admin: Account, product: ProductPublic
) -> None:
    created = await open_order(client, customer, (product.id, 1))

    response = await client.get(f"/orders/{created['id']}", headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == created


async def test_complete_pending_order_with_items(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    created = await open_order(client, customer, (product.id, 1))

    response = await client.post(f"/orders/{created['id']}/complete", headers=customer.headers)

    assert response.status_code == 200
    order = response.json()
    assert order["status"] == "completed"
    assert order["items"] == created["items"]
    assert order["updated_at"] > created["updated_at"]


async def test_complete_empty_order_is_409(client: httpx.AsyncClient, customer: Account) -> None:
    created = await open_order(client, customer)

    response = await client.post(f"/orders/{created['id']}/complete", headers=customer.headers)

    assert response.status_code == 409
    assert detail_of(response) == "An order needs at least one item to be completed"
    order = await client.get(f"/orders/{created['id']}", headers=customer.headers)
    assert order.json()["status"] == "pending"


async def test_cancel_pending_order(client: httpx.AsyncClient, customer: Account) -> None:
    created = await open_order(client, customer)

    response = await client.post(f"/orders/{created['id']}/cancel", headers=customer.headers)

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("first", "then", "final_status"),
    [
        ("cancel", "cancel", "cancelled"),
        ("cancel", "complete", "cancelled"),
        ("complete", "complete", "completed"),
        ("complete", "cancel", "completed"),
    ],
)
async def test_state_change_on_finished_order_is_409(
    client: httpx.AsyncClient,
    customer: Account,
    product: ProductPublic,
    first: str,
    then: str,
    final_status: str,
) -> None:
    created = await open_order(client, customer, (product.id, 1))
    url = f"/orders/{created['id']}"
    assert (await client.post(f"{url}/{first}", headers=customer.headers)).status_code == 200

    response = await client.post(f"{url}/{then}", headers=customer.headers)

    assert response.status_code == 409
    assert detail_of(response).startswith(f"The order is {final_status}")
    assert (await client.get(url, headers=customer.headers)).json()["status"] == final_status


async def test_admin_completes_a_customers_order(
    client: httpx.AsyncClient, customer: Account, admin: Account, product: ProductPublic
) -> None:
    created = await open_order(client, customer, (product.id, 1))

    response = await client.post(f"/orders/{created['id']}/complete", headers=admin.headers)

    assert response.status_code == 200
    assert response.json()["user_id"] == customer.id


def _every_order_route(order_id: int, item_id: int, product_id: int) -> list[dict[str, Any]]:
    return [
        {"method": "GET", "url": f"/orders/{order_id}"},
        {
            "method": "POST",
            "url": f"/orders/{order_id}/items",
            "json": {"product_id": product_id, "quantity": 1},
        },
        {
            "method": "PATCH",
            "url": f"/orders/{order_id}/items/{item_id}",
            "json": {"quantity": 2},
        },
        {"method": "DELETE", "url": f"/orders/{order_id}/items/{item_id}"},
        {"method": "POST", "url": f"/orders/{order_id}/cancel"},
        {"method": "POST", "url": f"/orders/{order_id}/complete"},
    ]


async def test_someone_elses_order_is_404_on_every_route_and_unchanged(
    client: httpx.AsyncClient, customer: Account, create_user: CreateUser, product: ProductPublic
) -> None:
    created = await open_order(client, customer, (product.id, 1))
    stranger = await create_user()

    for request in _every_order_route(created["id"], created["items"][0]["id"], product.id):
        response = await client.request(**request, headers=stranger.headers)
        assert response.status_code == 404, request
        assert detail_of(response) == "Order not found"

    unchanged = await client.get(f"/orders/{created['id']}", headers=customer.headers)
    assert unchanged.json() == created


async def test_every_order_route_needs_a_token(client: httpx.AsyncClient) -> None:
    requests = [{"method": "POST", "url": "/orders"}, {"method": "GET", "url": "/orders"}]
    requests += _every_order_route(1, 1, 1)

    for request in requests:
        response = await client.request(**request)
        assert response.status_code == 401, request
        assert response.headers["www-authenticate"] == "Bearer"


async def test_forged_token_is_401_on_order_routes(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer not.a.token"}

    for request in [{"method": "POST", "url": "/orders"}, *_every_order_route(1, 1, 1)]:
        response = await client.request(**request, headers=headers)
        assert response.status_code == 401, request


async def test_deactivated_users_token_is_401_on_every_order_route(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    created = await open_order(client, customer, (product.id, 1))
    async with app.state.db.write_sessions() as session:
        await session.execute(
            update(User).where(col(User.id) == customer.id).values(is_active=False)
        )
        await session.commit()

    requests = [{"method": "POST", "url": "/orders"}, {"method": "GET", "url": "/orders"}]
    requests += _every_order_route(created["id"], created["items"][0]["id"], product.id)
    for request in requests:
        response = await client.request(**request, headers=customer.headers)
        assert response.status_code == 401, request
        assert detail_of(response) == "User is inactive or no longer exists"


async def test_deactivated_user_gets_401_not_404_for_unknown_order(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    async with app.state.db.write_sessions() as session:
        await session.execute(
            update(User).where(col(User.id) == customer.id).values(is_active=False)
        )
        await session.commit()

    for request in _every_order_route(999, 1, 1):
        response = await client.request(**request, headers=customer.headers)
        assert response.status_code == 401, request
