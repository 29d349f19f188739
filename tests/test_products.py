"""The menu: public reads, admin writes, unique names, availability."""

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col

from app.config import Settings
from app.errors import USER_GONE
from app.security import encode_token
from app.tables import ProductPublic, User
from tests.conftest import Account, CreateProduct, count_statements, detail_of

NEW_PRODUCT = {"name": "Funghi", "description": "Tomato, mushrooms", "price_cents": 1050}


async def test_menu_is_public_and_lists_available_products_newest_first(
    client: httpx.AsyncClient, create_product: CreateProduct
) -> None:
    first = await create_product(name="Margherita")
    await create_product(name="Secret special", is_available=False)
    second = await create_product(name="Diavola")

    response = await client.get("/products")

    assert response.status_code == 200
    page = response.json()
    assert [p["id"] for p in page["data"]] == [second.id, first.id]
    assert (page["count"], page["limit"], page["offset"]) == (2, 20, 0)
    assert page["data"][1] == {
        "id": first.id,
        "name": "Margherita",
        "description": "",
        "price_cents": 1000,
        "is_available": True,
        "created_at": page["data"][1]["created_at"],
    }


async def test_menu_pages(client: httpx.AsyncClient, create_product: CreateProduct) -> None:
    products = [await create_product() for _ in range(5)]

    response = await client.get("/products", params={"limit": 2, "offset": 2})

    page = response.json()
    assert [p["id"] for p in page["data"]] == [products[2].id, products[1].id]
    assert (page["count"], page["limit"], page["offset"]) == (5, 2, 2)


async def test_menu_page_past_the_end_still_tells_the_count(
    client: httpx.AsyncClient, create_product: CreateProduct
) -> None:
    for _ in range(3):
        await create_product()

    response = await client.get("/products", params={"offset": 10})

    assert response.json() == {
        "data": [],
        "count": 3,
        "count_exact": True,
        "limit": 20,
        "offset": 10,
        "next_cursor": None,
    }


async def test_empty_menu(client: httpx.AsyncClient) -> None:
    response = await client.get("/products")

    assert response.json() == {
        "data": [],
        "count": 0,
        "count_exact": True,
        "limit": 20,
        "offset": 0,
        "next_cursor": None,
    }


async def test_a_menu_page_is_one_statement(
    app: FastAPI, client: httpx.AsyncClient, create_product: CreateProduct
) -> None:
    for _ in range(30):
        await create_product()

    with count_statements(app) as statements:
        response = await client.get("/products", params={"limit": 25})

    assert len(response.json()["data"]) == 25
    assert response.json()["count"] == 30
    assert len(statements) == 1


async def test_admin_lists_unavailable_products_on_request(
    client: httpx.AsyncClient, admin: Account, create_product: CreateProduct
) -> None:
    await create_product(name="On the menu")
    hidden = await create_product(name="Off the menu", is_available=False)

    everything = await client.get(
        "/products", params={"include_unavailable": "true"}, headers=admin.headers
    )
    default = await client.get("/products", headers=admin.headers)

    assert everything.json()["count"] == 2
    assert everything.json()["data"][0]["id"] == hidden.id
    assert default.json()["count"] == 1


@pytest.mark.parametrize("as_customer", [True, False])
async def test_include_unavailable_is_ignored_for_non_admins(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct, as_customer: bool
) -> None:
    await create_product(name="On the menu")
    await create_product(name="Off the menu", is_available=False)

    response = await client.get(
        "/products",
        params={"include_unavailable": "true"},
        headers=customer.headers if as_customer else {},
    )

    assert response.status_code == 200
    assert [p["name"] for p in response.json()["data"]] == ["On the menu"]


async def test_forged_token_on_the_public_menu_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/products", headers={"Authorization": "Bearer forged.token.x"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_on_the_public_menu_is_401(
    client: httpx.AsyncClient, customer: Account, settings: Settings
) -> None:
    token, _ = encode_token(customer.id, "access", timedelta(seconds=-1), settings)

    response = await client.get("/products", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert detail_of(response) == "Token has expired"


async def test_deactivated_admin_token_on_the_menu_is_401(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    async with app.state.db.write_sessions() as session:
        await session.execute(update(User).where(col(User.id) == admin.id).values(is_active=False))
        await session.commit()

    response = await client.get(
        "/products", params={"include_unavailable": "true"}, headers=admin.headers
    )

    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/products", "/products/{id}"])
async def test_a_deactivated_customers_token_on_a_public_read_is_401(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, product: ProductPublic, path: str
) -> None:
    async with app.state.db.write_sessions() as session:
        await session.execute(
            update(User).where(col(User.id) == customer.id).values(is_active=False)
        )
        await session.commit()

    response = await client.get(path.format(id=product.id), headers=customer.headers)

    assert response.status_code == 401
    assert detail_of(response) == USER_GONE


async def test_a_signed_in_customer_reads_the_menu_as_anyone_does(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    anonymous = await client.get("/products")

    signed_in = await client.get("/products", headers=customer.headers)

    assert signed_in.status_code == 200
    assert signed_in.json() == anonymous.json()


async def test_read_product(client: httpx.AsyncClient, product: ProductPublic) -> None:
    response = await client.get(f"/products/{product.id}")

    assert response.status_code == 200
    assert response.json() == product.model_dump(mode="json")


async def test_read_unknown_product_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/products/4040")

    assert response.status_code == 404
    assert detail_of(response) == "Product not found"


async def test_unavailable_product_is_404_except_for_admins(
    client: httpx.AsyncClient, customer: Account, admin: Account, create_product: CreateProduct
) -> None:
    hidden = await create_product(is_available=False)

    anonymous = await client.get(f"/products/{hidden.id}")
    as_customer = await client.get(f"/products/{hidden.id}", headers=customer.headers)
    as_admin = await client.get(f"/products/{hidden.id}", headers=admin.headers)

    assert (anonymous.status_code, as_customer.status_code, as_admin.status_code) == (
        404,
        404,
        200,
    )
    assert as_admin.json()["is_available"] is False


async def test_admin_creates_a_product(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.post("/products", json=NEW_PRODUCT, headers=admin.headers)

    assert response.status_code == 201
    created = response.json()
    assert {k: created[k] for k in NEW_PRODUCT} == NEW_PRODUCT
    assert created["is_available"] is True
    listed = await client.get("/products")
    assert listed.json()["data"] == [created]


async def test_product_name_is_trimmed(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.post(
        "/products", json={"name": "  Calzone ", "price_cents": 1200}, headers=admin.headers
    )

    assert response.json()["name"] == "Calzone"
    assert response.json()["description"] == ""


async def test_create_product_with_taken_name_is_409(
    client: httpx.AsyncClient, admin: Account, product: ProductPublic
) -> None:
    response = await client.post(
        "/products", json={"name": product.name, "price_cents": 100}, headers=admin.headers
    )

    assert response.status_code == 409
    assert detail_of(response) == "A product with this name already exists"


async def test_create_product_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/products", json=NEW_PRODUCT)

    assert response.status_code == 401


async def test_customer_cannot_create_or_edit_products(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    created = await client.post("/products", json=NEW_PRODUCT, headers=customer.headers)
    edited = await client.patch(
        f"/products/{product.id}", json={"price_cents": 1}, headers=customer.headers
    )

    assert (created.status_code, edited.status_code) == (403, 403)
    assert (await client.get(f"/products/{product.id}")).json()["price_cents"] == 900


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "price_cents": 100},
        {"name": "   ", "price_cents": 100},
        {"name": "x" * 101, "price_cents": 100},
        {"name": "Nul\x00", "price_cents": 100},
        {"name": "Pizza", "description": "d" * 501, "price_cents": 100},
        {"name": "Pizza", "description": "bad\x00", "price_cents": 100},
        {"name": "Pizza", "price_cents": 0},
        {"name": "Pizza", "price_cents": -5},
        {"name": "Pizza", "price_cents": 10_000_001},
        {"name": "Pizza", "price_cents": 9.5},
        {"name": "Pizza", "price_cents": "100"},
        {"name": "Pizza", "price_cents": True},
        {"name": "Pizza", "price_cents": 10**40},
        {"name": "Pizza", "price_cents": 100, "is_available": "yes"},
        {"name": "Pizza", "price_cents": 100, "is_available": 1},
        {"name": "Pizza", "price_cents": 100, "id": 5},
        {"name": "Pizza", "price_cents": 100, "created_at": "2020-01-01T00:00:00Z"},
        {"name": "Pizza"},
        {"price_cents": 100},
    ],
)
async def test_invalid_product_is_422(
    client: httpx.AsyncClient, admin: Account, body: dict[str, object]
) -> None:
    response = await client.post("/products", json=body, headers=admin.headers)

    assert response.status_code == 422
    assert (await client.get("/products")).json()["count"] == 0


async def test_boundary_prices_are_accepted(client: httpx.AsyncClient, admin: Account) -> None:
    cheapest = await client.post(
        "/products", json={"name": "Mint", "price_cents": 1}, headers=admin.headers
    )
    dearest = await client.post(
        "/products", json={"name": "Truffle", "price_cents": 10_000_000}, headers=admin.headers
    )

    assert (cheapest.status_code, dearest.status_code) == (201, 201)


async def test_admin_edits_some_fields(
    client: httpx.AsyncClient, admin: Account, product: ProductPublic
) -> None:
    response = await client.patch(
        f"/products/{product.id}",
        json={"price_cents": 950, "is_available": False},
        headers=admin.headers,
    )

    assert response.status_code == 200
    edited = response.json()
    assert (edited["name"], edited["price_cents"], edited["is_available"]) == (
        "Margherita",
        950,
        False,
    )
    assert (await client.get(f"/products/{product.id}")).status_code == 404


async def test_rename_to_a_taken_name_is_409(
    client: httpx.AsyncClient, admin: Account, create_product: CreateProduct
) -> None:
    await create_product(name="Marinara")
    other = await create_product(name="Funghi")

    response = await client.patch(
        f"/products/{other.id}", json={"name": "Marinara"}, headers=admin.headers
    )

    assert response.status_code == 409
    assert detail_of(response) == "A product with this name already exists"
    assert (await client.get(f"/products/{other.id}")).json()["name"] == "Funghi"


async def test_rename_to_its_own_name_is_fine(
    client: httpx.AsyncClient, admin: Account, product: ProductPublic
) -> None:
    response = await client.patch(
        f"/products/{product.id}", json={"name": product.name}, headers=admin.headers
    )

    assert response.status_code == 200


async def test_edit_unknown_product_is_404(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.patch("/products/999", json={"price_cents": 1}, headers=admin.headers)

    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"price_cents": None},
        {"is_available": None},
        {"price_cents": 0},
        {"price_cents": "12"},
        {"is_available": "false"},
        {"id": 3},
        {"name": ""},
    ],
)
async def test_invalid_product_edit_is_422(
    client: httpx.AsyncClient, admin: Account, product: ProductPublic, body: dict[str, object]
) -> None:
    response = await client.patch(f"/products/{product.id}", json=body, headers=admin.headers)

    assert response.status_code == 422
    assert (await client.get(f"/products/{product.id}")).json() == product.model_dump(mode="json")


@pytest.mark.parametrize("product_id", ["0", "-1", "2147483648", "99999999999999999999", "abc"])
async def test_out_of_range_product_id_is_422(
    client: httpx.AsyncClient, admin: Account, product_id: str
) -> None:
    read = await client.get(f"/products/{product_id}")
    edited = await client.patch(
        f"/products/{product_id}", json={"price_cents": 5}, headers=admin.headers
    )

    assert (read.status_code, edited.status_code) == (422, 422)


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"include_unavailable": "maybe"}]
)
async def test_invalid_menu_query_is_422(
    client: httpx.AsyncClient, params: dict[str, object]
) -> None:
    response = await client.get("/products", params=params)

    assert response.status_code == 422
