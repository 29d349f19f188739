"""Listing orders: who sees what, filters, pages, and a fixed number of SQL statements."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.tables import ProductPublic
from tests.conftest import Account, CreateProduct, CreateUser, count_statements, open_order


def ids(response: httpx.Response) -> list[int]:
    return [order["id"] for order in response.json()["data"]]


async def test_customer_sees_only_their_orders_newest_first(
    client: httpx.AsyncClient, customer: Account, create_user: CreateUser
) -> None:
    other = await create_user()
    mine = [await open_order(client, customer) for _ in range(3)]
    await open_order(client, other)

    response = await client.get("/orders", headers=customer.headers)

    assert response.status_code == 200
    assert ids(response) == [order["id"] for order in reversed(mine)]
    assert response.json()["count"] == 3


async def test_admin_sees_every_order(
    client: httpx.AsyncClient, customer: Account, admin: Account, create_user: CreateUser
) -> None:
    other = await create_user()
    first = await open_order(client, customer)
    second = await open_order(client, other)

    response = await client.get("/orders", headers=admin.headers)

    assert ids(response) == [second["id"], first["id"]]
    assert response.json()["count"] == 2


async def test_admin_filters_by_user(
    client: httpx.AsyncClient, customer: Account, admin: Account, create_user: CreateUser
) -> None:
    other = await create_user()
    await open_order(client, customer)
    theirs = await open_order(client, other)

    response = await client.get("/orders", params={"user_id": other.id}, headers=admin.headers)

    assert ids(response) == [theirs["id"]]
    assert response.json()["count"] == 1


async def test_customer_filtering_on_someone_else_gets_an_empty_page(
    client: httpx.AsyncClient, customer: Account, create_user: CreateUser
) -> None:
    other = await create_user()
    await open_order(client, customer)
    await open_order(client, other)

    response = await client.get("/orders", params={"user_id": other.id}, headers=customer.headers)

    assert response.status_code == 200
    assert response.json() == {
        "data": [],
        "count": 0,
        "count_exact": True,
        "limit": 20,
        "offset": 0,
        "next_cursor": None,
    }


async def test_customer_filtering_on_themselves_sees_their_orders(
    client: httpx.AsyncClient, customer: Account
) -> None:
    mine = await open_order(client, customer)

    response = await client.get(
        "/orders", params={"user_id": customer.id}, headers=customer.headers
    )

    assert ids(response) == [mine["id"]]


async def test_filter_by_status(
    client: httpx.AsyncClient, customer: Account, admin: Account, product: ProductPublic
) -> None:
    pending = await open_order(client, customer)
    cancelled = await open_order(client, customer)
    completed = await open_order(client, customer, (product.id, 1))
    await client.post(f"/orders/{cancelled['id']}/cancel", headers=customer.headers)
    await client.post(f"/orders/{completed['id']}/complete", headers=customer.headers)

    by_status = {
        status: await client.get("/orders", params={"status": status}, headers=customer.headers)
        for status in ("pending", "cancelled", "completed")
    }

    assert ids(by_status["pending"]) == [pending["id"]]
    assert ids(by_status["cancelled"]) == [cancelled["id"]]
    assert ids(by_status["completed"]) == [completed["id"]]
    admin_view = await client.get(
        "/orders", params={"status": "completed", "user_id": customer.id}, headers=admin.headers
    )
    assert ids(admin_view) == [completed["id"]]


async def test_pages_with_count(client: httpx.AsyncClient, customer: Account) -> None:
    orders = [await open_order(client, customer) for _ in range(5)]
    newest_first = [order["id"] for order in reversed(orders)]

    first = await client.get("/orders", params={"limit": 2}, headers=customer.headers)
    second = await client.get("/orders", params={"limit": 2, "offset": 2}, headers=customer.headers)
    last = await client.get("/orders", params={"limit": 2, "offset": 4}, headers=customer.headers)
    beyond = await client.get("/orders", params={"offset": 50}, headers=customer.headers)

    assert ids(first) + ids(second) + ids(last) == newest_first
    assert [r.json()["count"] for r in (first, second, last, beyond)] == [5, 5, 5, 5]
    assert (second.json()["limit"], second.json()["offset"]) == (2, 2)
    assert beyond.json()["data"] == []


async def test_listed_orders_carry_their_items_and_totals(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    pizza = await create_product(price_cents=1000)
    water = await create_product(price_cents=250)
    empty = await open_order(client, customer)
    full = await open_order(client, customer, (pizza.id, 2), (water.id, 1))
    single = await open_order(client, customer, (water.id, 4))

    response = await client.get("/orders", headers=customer.headers)

    assert response.json()["data"] == [single, full, empty]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "shipped"},
        {"user_id": 0},
        {"user_id": 2**31},
        {"user_id": "me"},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
    ],
)
async def test_invalid_listing_query_is_422(
    client: httpx.AsyncClient, customer: Account, params: dict[str, Any]
) -> None:
    response = await client.get("/orders", params=params, headers=customer.headers)

    assert response.status_code == 422


async def test_listing_runs_a_fixed_number_of_statements(
    app: FastAPI,
    client: httpx.AsyncClient,
    customer: Account,
    admin: Account,
    create_product: CreateProduct,
) -> None:
    products = [await create_product() for _ in range(5)]
    for _ in range(25):
        await open_order(client, customer, *[(product.id, 3) for product in products])
    for headers, params, expected in [
        (customer.headers, {"limit": 1}, 1),  # the caller's row, their page and count
        (customer.headers, {"limit": 20}, 1),
        (customer.headers, {"limit": 100}, 1),
        (customer.headers, {"limit": 100, "status": "pending"}, 1),
        (admin.headers, {"limit": 100}, 2),  # then everyone's page with its count
        (admin.headers, {"limit": 100, "status": "pending", "user_id": customer.id}, 2),
    ]:
        with count_statements(app) as statements:
            response = await client.get("/orders", params=params, headers=headers)
        assert response.status_code == 200
        assert len(statements) == expected, (params, statements)

    assert response.json()["count"] == 25
    assert len(response.json()["data"]) == 25
    assert sum(len(order["items"]) for order in response.json()["data"]) == 25 * 5


@pytest.mark.parametrize(("who", "statements_run"), [("customer", 1), ("admin", 3)])
async def test_an_empty_page_past_the_end_still_tells_the_count(
    app: FastAPI,
    client: httpx.AsyncClient,
    customer: Account,
    admin: Account,
    create_product: CreateProduct,
    who: str,
    statements_run: int,
) -> None:
    product = await create_product()
    await open_order(client, customer, (product.id, 1))
    caller = customer if who == "customer" else admin

    with count_statements(app) as statements:
        response = await client.get("/orders", params={"offset": 5}, headers=caller.headers)

    assert response.json() == {
        "data": [],
        "count": 1,
        "count_exact": True,
        "limit": 20,
        "offset": 5,
        "next_cursor": None,
    }
    assert len(statements) == statements_run


async def test_reading_an_order_is_one_statement(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    products = [await create_product() for _ in range(10)]
    order = await open_order(client, customer, *[(product.id, 2) for product in products])

    with count_statements(app) as statements:
        response = await client.get(f"/orders/{order['id']}", headers=customer.headers)

    assert response.json() == order
    assert len(statements) == 1
