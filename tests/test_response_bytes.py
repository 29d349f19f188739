"""The hot read routes write their rows without their response models (`json_response`):
what a client reads must be, byte for byte, what the model would have written: the same
fields in the same order, the same text for every value."""

import httpx
import pytest
from pydantic import BaseModel

from app.schemas import Page
from app.tables import OrderPublic, ProductPublic
from tests.conftest import Account, CreateProduct, open_order

AWKWARD_NAME = 'Crème brûlée ✓ 🍕 "quoted" \\ tab\t</script>'


def _as_its_model_writes_it(model: type[BaseModel], response: httpx.Response) -> bytes:
    assert response.status_code == 200, response.text
    return model.model_validate_json(response.content).model_dump_json().encode()


@pytest.fixture
async def menu(create_product: CreateProduct) -> list[ProductPublic]:
    return [
        await create_product(name=AWKWARD_NAME, description=AWKWARD_NAME, price_cents=1),
        await create_product(price_cents=10_000_000),
    ]


async def test_the_menu_is_written_as_its_model_writes_it(
    client: httpx.AsyncClient, menu: list[ProductPublic]
) -> None:
    response = await client.get("/products")
    assert response.content == _as_its_model_writes_it(Page[ProductPublic], response)


async def test_a_product_is_written_as_its_model_writes_it(
    client: httpx.AsyncClient, menu: list[ProductPublic]
) -> None:
    response = await client.get(f"/products/{menu[0].id}")
    assert response.content == _as_its_model_writes_it(ProductPublic, response)


async def test_an_order_is_written_as_its_model_writes_it(
    client: httpx.AsyncClient, customer: Account, menu: list[ProductPublic]
) -> None:
    order = await open_order(client, customer, (menu[0].id, 2), (menu[1].id, 1))
    response = await client.get(f"/orders/{order['id']}", headers=customer.headers)
    assert response.content == _as_its_model_writes_it(OrderPublic, response)


async def test_a_page_of_orders_is_written_as_its_model_writes_it(
    client: httpx.AsyncClient, customer: Account, menu: list[ProductPublic]
) -> None:
    await open_order(client, customer, (menu[0].id, 2), (menu[1].id, 1))
    await open_order(client, customer, (menu[1].id, 3))
    response = await client.get("/orders", headers=customer.headers)
    assert response.content == _as_its_model_writes_it(Page[OrderPublic], response)
