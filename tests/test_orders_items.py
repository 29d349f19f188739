"""Item lines: adding, merging, changing quantities, removing, and keeping totals right."""

from typing import Any

import httpx

from app.tables import ProductPublic
from tests.conftest import Account, CreateProduct, detail_of, open_order


async def add_item(
    client: httpx.AsyncClient, account: Account, order_id: int, product_id: int, quantity: int
) -> httpx.Response:
    return await client.post(
        f"/orders/{order_id}/items",
        json={"product_id": product_id, "quantity": quantity},
        headers=account.headers,
    )


def lines(order: dict[str, Any]) -> list[tuple[int, int, int]]:
    return [(i["product_id"], i["quantity"], i["line_total_cents"]) for i in order["items"]]


async def test_add_item_returns_the_whole_order_with_201(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer)

    response = await add_item(client, customer, order["id"], product.id, 2)

    assert response.status_code == 201
    body = response.json()
    assert body["id"] == order["id"]
    assert body["status"] == "pending"
    assert lines(body) == [(product.id, 2, 1800)]
    assert body["items"][0]["product_name"] == "Margherita"
    assert body["items"][0]["unit_price_cents"] == 900
    assert body["total_cents"] == 1800
    assert body["updated_at"] > order["updated_at"]


async def test_adding_a_product_already_in_the_order_raises_its_quantity(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 2))

    response = await add_item(client, customer, order["id"], product.id, 3)

    body = response.json()
    assert lines(body) == [(product.id, 5, 4500)]
    assert body["items"][0]["id"] == order["items"][0]["id"]
    assert body["total_cents"] == 4500


async def test_adding_past_100_is_409_and_leaves_the_line_as_it_was(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 98))

    response = await add_item(client, customer, order["id"], product.id, 3)

    assert response.status_code == 409
    assert "left as it was" in detail_of(response)
    after = (await client.get(f"/orders/{order['id']}", headers=customer.headers)).json()
    assert after == order


async def test_adding_up_to_exactly_100_is_allowed(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 98))

    response = await add_item(client, customer, order["id"], product.id, 2)

    assert response.status_code == 201
    assert lines(response.json()) == [(product.id, 100, 90000)]


async def test_lines_keep_the_price_they_were_added_at(
    client: httpx.AsyncClient,
    customer: Account,
    admin: Account,
    product: ProductPublic,
) -> None:
    order = await open_order(client, customer, (product.id, 1))
    renamed = await client.patch(
        f"/products/{product.id}",
        json={"name": "Margherita DOP", "price_cents": 1200},
        headers=admin.headers,
    )
    assert renamed.status_code == 200

    response = await add_item(client, customer, order["id"], product.id, 1)

    item = response.json()["items"][0]
    assert (item["product_name"], item["unit_price_cents"], item["quantity"]) == (
        "Margherita",
        900,
        2,
    )
    assert response.json()["total_cents"] == 1800


async def test_new_orders_get_the_new_price(
    client: httpx.AsyncClient, customer: Account, admin: Account, product: ProductPublic
) -> None:
    old = await open_order(client, customer, (product.id, 1))
    await client.patch(f"/products/{product.id}", json={"price_cents": 1200}, headers=admin.headers)

    new = await open_order(client, customer, (product.id, 1))

    assert new["items"][0]["unit_price_cents"] == 1200
    reread = await client.get(f"/orders/{old['id']}", headers=customer.headers)
    assert reread.json()["items"][0]["unit_price_cents"] == 900
    assert reread.json()["total_cents"] == 900


async def test_add_unknown_product_is_404(client: httpx.AsyncClient, customer: Account) -> None:
    order = await open_order(client, customer)

    response = await add_item(client, customer, order["id"], 4242, 1)

    assert response.status_code == 404
    assert detail_of(response) == "Product 4242 not found"


async def test_add_unavailable_product_is_409(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    sold_out = await create_product(is_available=False)
    order = await open_order(client, customer)

    response = await add_item(client, customer, order["id"], sold_out.id, 1)

    assert response.status_code == 409
    assert detail_of(response) == f"Product {sold_out.id} is not available"


async def test_add_item_to_unknown_order_is_404(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    response = await add_item(client, customer, 777, product.id, 1)

    assert response.status_code == 404
    assert detail_of(response) == "Order not found"


async def test_cancelled_order_rejects_new_items(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer)
    await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)

    response = await add_item(client, customer, order["id"], product.id, 1)

    assert response.status_code == 409
    assert detail_of(response) == (
        "The order is cancelled; only a pending order can have items added"
    )


async def test_completed_order_rejects_item_changes_and_removals(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 1))
    item_url = f"/orders/{order['id']}/items/{order['items'][0]['id']}"
    await client.post(f"/orders/{order['id']}/complete", headers=customer.headers)

    patched = await client.patch(item_url, json={"quantity": 5}, headers=customer.headers)
    deleted = await client.delete(item_url, headers=customer.headers)

    assert (patched.status_code, deleted.status_code) == (409, 409)
    assert detail_of(patched).startswith("The order is completed")
    after = (await client.get(f"/orders/{order['id']}", headers=customer.headers)).json()
    assert lines(after) == lines(order)


async def test_change_quantity(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    pizza = await create_product(price_cents=1000)
    water = await create_product(price_cents=250)
    order = await open_order(client, customer, (pizza.id, 1), (water.id, 2))

    response = await client.patch(
        f"/orders/{order['id']}/items/{order['items'][0]['id']}",
        json={"quantity": 4},
        headers=customer.headers,
    )

    assert response.status_code == 200
    assert lines(response.json()) == [(pizza.id, 4, 4000), (water.id, 2, 500)]
    assert response.json()["total_cents"] == 4500


async def test_change_quantity_of_unknown_item_is_404(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 1))

    response = await client.patch(
        f"/orders/{order['id']}/items/999", json={"quantity": 2}, headers=customer.headers
    )

    assert response.status_code == 404
    assert detail_of(response) == "Item not found in this order"


async def test_item_of_another_order_is_404(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    first = await open_order(client, customer, (product.id, 1))
    second = await open_order(client, customer, (product.id, 1))
    url = f"/orders/{second['id']}/items/{first['items'][0]['id']}"

    patched = await client.patch(url, json={"quantity": 3}, headers=customer.headers)
    deleted = await client.delete(url, headers=customer.headers)

    assert (patched.status_code, deleted.status_code) == (404, 404)
    reread = await client.get(f"/orders/{first['id']}", headers=customer.headers)
    assert reread.json() == first


async def test_raising_quantity_of_an_unavailable_product_is_409(
    client: httpx.AsyncClient, customer: Account, admin: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 3))
    await client.patch(
        f"/products/{product.id}", json={"is_available": False}, headers=admin.headers
    )
    url = f"/orders/{order['id']}/items/{order['items'][0]['id']}"

    raised = await client.patch(url, json={"quantity": 4}, headers=customer.headers)
    lowered = await client.patch(url, json={"quantity": 1}, headers=customer.headers)

    assert raised.status_code == 409
    assert detail_of(raised) == f"Product {product.id} is not available"
    assert lowered.status_code == 200
    assert lines(lowered.json()) == [(product.id, 1, 900)]


async def test_remove_item_returns_the_order_without_it(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    pizza = await create_product(price_cents=1000)
    water = await create_product(price_cents=250)
    order = await open_order(client, customer, (pizza.id, 1), (water.id, 2))

    response = await client.delete(
        f"/orders/{order['id']}/items/{order['items'][0]['id']}", headers=customer.headers
    )

    assert response.status_code == 200
    assert lines(response.json()) == [(water.id, 2, 500)]
    assert response.json()["total_cents"] == 500


async def test_removing_the_last_item_leaves_an_empty_pending_order(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 1))

    response = await client.delete(
        f"/orders/{order['id']}/items/{order['items'][0]['id']}", headers=customer.headers
    )

    assert response.json()["items"] == []
    assert response.json()["total_cents"] == 0
    assert response.json()["status"] == "pending"
    complete = await client.post(f"/orders/{order['id']}/complete", headers=customer.headers)
    assert complete.status_code == 409


async def test_remove_unknown_item_is_404(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 1))

    response = await client.delete(f"/orders/{order['id']}/items/31337", headers=customer.headers)

    assert response.status_code == 404
    assert detail_of(response) == "Item not found in this order"


async def test_removed_product_can_be_added_again_as_a_new_line(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 1))
    await client.delete(
        f"/orders/{order['id']}/items/{order['items'][0]['id']}", headers=customer.headers
    )

    response = await add_item(client, customer, order["id"], product.id, 4)

    assert lines(response.json()) == [(product.id, 4, 3600)]
    assert response.json()["items"][0]["id"] != order["items"][0]["id"]


async def test_admin_edits_a_customers_order(
    client: httpx.AsyncClient, customer: Account, admin: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer)

    response = await add_item(client, admin, order["id"], product.id, 2)

    assert response.status_code == 201
    assert response.json()["user_id"] == customer.id
    assert lines(response.json()) == [(product.id, 2, 1800)]


async def test_total_follows_every_edit(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    prices = [1000, 250, 1375]
    products = [await create_product(price_cents=price) for price in prices]
    order = await open_order(client, customer)
    url = f"/orders/{order['id']}"

    for product in products:
        await add_item(client, customer, order["id"], product.id, 3)
    body = (await client.get(url, headers=customer.headers)).json()
    await client.patch(
        f"{url}/items/{body['items'][1]['id']}", json={"quantity": 7}, headers=customer.headers
    )
    final = await client.delete(f"{url}/items/{body['items'][0]['id']}", headers=customer.headers)

    assert final.json()["total_cents"] == 7 * 250 + 3 * 1375
    assert final.json()["total_cents"] == sum(i["line_total_cents"] for i in final.json()["items"])
