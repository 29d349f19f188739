"""Bad input on the order routes: always a clear 4xx, never a 500, nothing written."""

from typing import Any

import httpx
import pytest

from app.tables import ProductPublic
from tests.conftest import Account, open_order

BAD_LINES: list[Any] = [
    {"product_id": 1, "quantity": 0},
    {"product_id": 1, "quantity": -1},
    {"product_id": 1, "quantity": 101},
    {"product_id": 1, "quantity": 1.5},
    {"product_id": 1, "quantity": "2"},
    {"product_id": 1, "quantity": True},
    {"product_id": 1, "quantity": None},
    {"product_id": 1, "quantity": 10**30},
    {"product_id": 0, "quantity": 1},
    {"product_id": -3, "quantity": 1},
    {"product_id": 2**31, "quantity": 1},
    {"product_id": 10**30, "quantity": 1},
    {"product_id": "1", "quantity": 1},
    {"product_id": True, "quantity": 1},
    {"product_id": "1\x00", "quantity": 1},
    {"product_id": 1},
    {"quantity": 1},
    {"product_id": 1, "quantity": 1, "unit_price_cents": 1},
    {"product_id": 1, "quantity": 1, "line_total_cents": 1},
    {"product_id": 1, "quantity": 1, "product_name": "free pizza"},
    {"product_id": 1, "quantity": 1, "order_id": 1},
    [1, 1],
    "pizza",
    None,
]


@pytest.mark.parametrize("line", BAD_LINES)
async def test_bad_line_in_a_new_order_is_422(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic, line: Any
) -> None:
    response = await client.post("/orders", json={"items": [line]}, headers=customer.headers)

    assert response.status_code == 422
    assert response.json()["detail"]
    assert (await client.get("/orders", headers=customer.headers)).json()["count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"status": "completed"},
        {"user_id": 2},
        {"total_cents": 0},
        {"id": 5},
        {"items": [], "status": "completed"},
        {"items": {"product_id": 1, "quantity": 1}},
        {"items": "all of them"},
        {"items": [{"product_id": 1, "quantity": 1}] * 101},
        [],
        "order",
        42,
    ],
)
async def test_bad_new_order_body_is_422(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic, body: Any
) -> None:
    response = await client.post("/orders", json=body, headers=customer.headers)

    assert response.status_code == 422
    assert (await client.get("/orders", headers=customer.headers)).json()["count"] == 0


async def test_malformed_json_is_422(client: httpx.AsyncClient, customer: Account) -> None:
    response = await client.post(
        "/orders",
        content=b'{"items": [',
        headers={**customer.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422


async def test_hundred_lines_are_accepted(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    body = {"items": [{"product_id": product.id, "quantity": 1}] * 100}

    response = await client.post("/orders", json=body, headers=customer.headers)

    assert response.status_code == 201
    assert response.json()["items"][0]["quantity"] == 100


async def test_oversized_body_is_413(client: httpx.AsyncClient, customer: Account) -> None:
    response = await client.post(
        "/orders",
        content=b'{"items": [' + b" " * (1024 * 1024) + b"]}",
        headers={**customer.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 413


@pytest.mark.parametrize("line", BAD_LINES)
async def test_bad_item_to_add_is_422_and_changes_nothing(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic, line: Any
) -> None:
    order = await open_order(client, customer, (product.id, 1))

    response = await client.post(
        f"/orders/{order['id']}/items", json=line, headers=customer.headers
    )

    assert response.status_code == 422
    reread = await client.get(f"/orders/{order['id']}", headers=customer.headers)
    assert reread.json() == order


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": 0},
        {"quantity": 101},
        {"quantity": -5},
        {"quantity": 2.5},
        {"quantity": "3"},
        {"quantity": False},
        {"quantity": None},
        {"quantity": 2**63},
        {},
        {"quantity": 2, "product_id": 7},
        {"quantity": 2, "unit_price_cents": 1},
        {"quantity": 2, "line_total_cents": 2},
    ],
)
async def test_bad_quantity_change_is_422_and_changes_nothing(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic, body: Any
) -> None:
    order = await open_order(client, customer, (product.id, 1))

    response = await client.patch(
        f"/orders/{order['id']}/items/{order['items'][0]['id']}",
        json=body,
        headers=customer.headers,
    )

    assert response.status_code == 422
    reread = await client.get(f"/orders/{order['id']}", headers=customer.headers)
    assert reread.json() == order


@pytest.mark.parametrize("order_id", ["0", "-1", "2147483648", "9" * 30, "1.5", "one", "1%00"])
async def test_bad_order_id_in_the_path_is_422(
    client: httpx.AsyncClient, customer: Account, order_id: str
) -> None:
    requests: list[dict[str, Any]] = [
        {"method": "GET", "url": f"/orders/{order_id}"},
        {
            "method": "POST",
            "url": f"/orders/{order_id}/items",
            "json": {"product_id": 1, "quantity": 1},
        },
        {"method": "PATCH", "url": f"/orders/{order_id}/items/1", "json": {"quantity": 1}},
        {"method": "DELETE", "url": f"/orders/{order_id}/items/1"},
        {"method": "POST", "url": f"/orders/{order_id}/cancel"},
        {"method": "POST", "url": f"/orders/{order_id}/complete"},
    ]
    for request in requests:
        response = await client.request(**request, headers=customer.headers)
        assert response.status_code == 422, request


@pytest.mark.parametrize("item_id", ["0", "2147483648", "9" * 30, "x"])
async def test_bad_item_id_in_the_path_is_422(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic, item_id: str
) -> None:
    order = await open_order(client, customer, (product.id, 1))

    patched = await client.patch(
        f"/orders/{order['id']}/items/{item_id}", json={"quantity": 2}, headers=customer.headers
    )
    deleted = await client.delete(
        f"/orders/{order['id']}/items/{item_id}", headers=customer.headers
    )

    assert (patched.status_code, deleted.status_code) == (422, 422)


async def test_largest_ids_are_valid_and_simply_not_found(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    largest = 2**31 - 1
    order = await open_order(client, customer)

    read = await client.get(f"/orders/{largest}", headers=customer.headers)
    added = await client.post(
        f"/orders/{order['id']}/items",
        json={"product_id": largest, "quantity": 1},
        headers=customer.headers,
    )
    removed = await client.delete(
        f"/orders/{order['id']}/items/{largest}", headers=customer.headers
    )

    assert (read.status_code, added.status_code, removed.status_code) == (404, 404, 404)


async def test_a_null_order_body_is_422_as_the_schema_offers_no_null(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.post(
        "/orders",
        content=b"null",
        headers={**customer.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


async def test_an_order_without_a_body_is_still_opened(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.post("/orders", headers=customer.headers)

    assert response.status_code == 201
    assert response.json()["items"] == []
