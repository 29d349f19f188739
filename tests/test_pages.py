"""Pages of every list (§12): cursors, their signatures, bounded offsets and counts."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, text

from app.paging import COUNT_LIMIT, MAX_CURSOR_LENGTH, MAX_OFFSET, CursorCodec, PagedList, Position
from app.timestamps import UTCDateTime, utcnow
from tests.conftest import Account, CreateProduct, CreateUser, detail_of, open_order

LISTS = ["/orders", "/products", "/users"]


def ids(response: httpx.Response) -> list[int]:
    return [row["id"] for row in response.json()["data"]]


async def walk(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    params: dict[str, Any] | None = None,
    between_pages: Any = None,
) -> list[int]:
    """Every id of a list, page after page, following `next_cursor` (2 rows a page)."""
    seen: list[int] = []
    query: dict[str, Any] = {**(params or {}), "limit": 2}
    while True:
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        seen += ids(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen
        if between_pages is not None:
            await between_pages()
        query = {**(params or {}), "limit": 2, "cursor": cursor}


async def first_cursor(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> str:
    response = await client.get(path, params={"limit": 1}, headers=headers)
    cursor: str = response.json()["next_cursor"]
    assert cursor is not None
    return cursor


# ---------------------------------------------------------------- following the cursors


async def test_following_next_cursor_visits_every_order_once_newest_first(
    client: httpx.AsyncClient, customer: Account
) -> None:
    orders = [await open_order(client, customer) for _ in range(5)]

    seen = await walk(client, "/orders", customer.headers)

    assert seen == [order["id"] for order in reversed(orders)]


async def test_following_next_cursor_visits_every_order_once_while_orders_are_added(
    client: httpx.AsyncClient, customer: Account
) -> None:
    orders = [await open_order(client, customer) for _ in range(5)]

    async def add_an_order() -> None:
        await open_order(client, customer)

    seen = await walk(client, "/orders", customer.headers, between_pages=add_an_order)

    assert seen == [order["id"] for order in reversed(orders)]


async def test_following_next_cursor_visits_every_product_once(
    client: httpx.AsyncClient, create_product: CreateProduct
) -> None:
    products = [await create_product() for _ in range(5)]

    seen = await walk(client, "/products", {})

    assert seen == [product.id for product in reversed(products)]


async def test_following_next_cursor_visits_every_user_once(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    users = [await create_user(log_in=False) for _ in range(4)]

    seen = await walk(client, "/users", admin.headers)

    assert seen == [user.id for user in reversed(users)] + [admin.id]


async def test_a_cursor_walk_keeps_the_filters(
    client: httpx.AsyncClient, customer: Account, product: Any
) -> None:
    pending = [await open_order(client, customer) for _ in range(3)]
    for _ in range(2):
        done = await open_order(client, customer, (product.id, 1))
        await client.post(f"/orders/{done['id']}/complete", headers=customer.headers)

    seen = await walk(client, "/orders", customer.headers, {"status": "pending"})

    assert seen == [order["id"] for order in reversed(pending)]


async def test_orders_made_in_one_instant_are_each_visited_once(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    await insert_orders(app, customer, 7)

    seen = await walk(client, "/orders", customer.headers)

    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)


async def test_a_page_that_ends_at_the_last_row_has_no_next_cursor(
    client: httpx.AsyncClient, customer: Account
) -> None:
    for _ in range(2):
        await open_order(client, customer)

    page = (await client.get("/orders", params={"limit": 2}, headers=customer.headers)).json()

    assert len(page["data"]) == 2
    assert page["next_cursor"] is None


async def test_a_page_reached_by_cursor_reports_offset_zero(
    client: httpx.AsyncClient, create_product: CreateProduct
) -> None:
    for _ in range(3):
        await create_product()
    cursor = await first_cursor(client, "/products", {})

    page = (await client.get("/products", params={"cursor": cursor, "limit": 1})).json()

    assert page["offset"] == 0
    assert page["count"] == 3


# ---------------------------------------------------------------- cursors never show more


async def test_a_customer_with_an_admins_cursor_sees_only_their_own_orders(
    client: httpx.AsyncClient, customer: Account, admin: Account, create_user: CreateUser
) -> None:
    other = await create_user()
    mine = [await open_order(client, customer) for _ in range(2)]
    for _ in range(3):
        await open_order(client, other)
    newest_of_all = await open_order(client, other)
    admins_cursor = await first_cursor(client, "/orders", admin.headers)

    response = await client.get(
        "/orders", params={"cursor": admins_cursor}, headers=customer.headers
    )

    assert response.status_code == 200
    assert ids(response) == [order["id"] for order in reversed(mine)]
    assert newest_of_all["id"] not in ids(response)


async def test_a_cursor_forged_for_a_far_position_shows_only_the_callers_orders(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, create_user: CreateUser
) -> None:
    other = await create_user()
    mine = await open_order(client, customer)
    await open_order(client, other)
    far = Position(utcnow().replace(year=2999), 2**31 - 1)
    cursor = app.state.cursors.encode(PagedList.ORDERS, far)

    response = await client.get("/orders", params={"cursor": cursor}, headers=customer.headers)

    assert ids(response) == [mine["id"]]


async def test_a_cursor_does_not_show_unavailable_products_to_anyone_but_admins(
    client: httpx.AsyncClient, create_product: CreateProduct
) -> None:
    await create_product(is_available=False)
    shown = [await create_product() for _ in range(2)]

    seen = await walk(client, "/products", {}, {"include_unavailable": "true"})

    assert seen == [product.id for product in reversed(shown)]


# ---------------------------------------------------------------- refused cursors


@pytest.fixture
async def two_of_everything(
    client: httpx.AsyncClient,
    admin: Account,
    create_user: CreateUser,
    create_product: CreateProduct,
) -> None:
    """Two orders (the admin's), two products, and two users besides the admin: every
    list has a second page."""
    for _ in range(2):
        await open_order(client, admin)
        await create_product()
        await create_user(log_in=False)


@pytest.mark.usefixtures("two_of_everything")
@pytest.mark.parametrize("path", LISTS)
async def test_a_tampered_cursor_is_422(
    client: httpx.AsyncClient, admin: Account, path: str
) -> None:
    cursor = await first_cursor(client, path, admin.headers)
    tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")

    response = await client.get(path, params={"cursor": tampered}, headers=admin.headers)

    assert response.status_code == 422
    assert "cursor" in str(detail_of(response))


@pytest.mark.parametrize("cursor", ["nonsense", "", "=====", "é", "a" * MAX_CURSOR_LENGTH])
@pytest.mark.parametrize("path", LISTS)
async def test_a_malformed_cursor_is_422(
    client: httpx.AsyncClient, admin: Account, path: str, cursor: str
) -> None:
    response = await client.get(path, params={"cursor": cursor}, headers=admin.headers)

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("path", LISTS)
async def test_a_cursor_longer_than_512_characters_is_422(
    client: httpx.AsyncClient, admin: Account, path: str
) -> None:
    too_long = "a" * (MAX_CURSOR_LENGTH + 1)

    response = await client.get(path, params={"cursor": too_long}, headers=admin.headers)

    assert response.status_code == 422


async def test_a_cursor_signed_with_another_key_is_422(
    client: httpx.AsyncClient, customer: Account
) -> None:
    forged = CursorCodec("some-other-secret-key-that-is-long-enough-00").encode(
        PagedList.ORDERS, Position(utcnow(), 1)
    )

    response = await client.get("/orders", params={"cursor": forged}, headers=customer.headers)

    assert response.status_code == 422


@pytest.mark.usefixtures("two_of_everything")
@pytest.mark.parametrize(("made_for", "used_on"), [("/orders", "/products"), ("/users", "/orders")])
async def test_a_cursor_of_one_list_is_refused_by_another(
    client: httpx.AsyncClient, admin: Account, made_for: str, used_on: str
) -> None:
    cursor = await first_cursor(client, made_for, admin.headers)

    response = await client.get(used_on, params={"cursor": cursor}, headers=admin.headers)

    assert response.status_code == 422


@pytest.mark.usefixtures("two_of_everything")
@pytest.mark.parametrize("path", LISTS)
async def test_a_cursor_with_an_offset_is_422(
    client: httpx.AsyncClient, admin: Account, path: str
) -> None:
    cursor = await first_cursor(client, path, admin.headers)

    response = await client.get(path, params={"cursor": cursor, "offset": 0}, headers=admin.headers)

    assert response.status_code == 422
    assert "offset" in str(detail_of(response))


# ---------------------------------------------------------------- bounded offsets


@pytest.mark.parametrize("path", LISTS)
async def test_an_offset_past_10000_is_422_naming_cursor(
    client: httpx.AsyncClient, admin: Account, path: str
) -> None:
    response = await client.get(path, params={"offset": MAX_OFFSET + 1}, headers=admin.headers)

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["query", "offset"]
    assert "`cursor`" in detail_of(response)[0]["msg"]


@pytest.mark.parametrize("path", LISTS)
async def test_an_offset_of_10000_is_served(
    client: httpx.AsyncClient, admin: Account, path: str
) -> None:
    response = await client.get(path, params={"offset": MAX_OFFSET}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json()["offset"] == MAX_OFFSET


# ---------------------------------------------------------------- bounded counts


NUMBERS = (
    "WITH RECURSIVE numbers (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers "
    "WHERE n < :how_many) "
)


async def insert_rows(app: FastAPI, insert: str, select: str, params: dict[str, Any]) -> None:
    """`INSERT ... SELECT` over the numbers 1 to :how_many, with `:at` the time now (a
    placeholder that PostgreSQL is told the type of: it stands in a select list)."""
    async with app.state.db.write_sessions() as session:
        at = (
            "CAST(:at AS TIMESTAMPTZ)" if session.get_bind().dialect.name == "postgresql" else ":at"
        )
        statement = text(f"{insert} {NUMBERS} {select.format(at=at)} FROM numbers").bindparams(
            bindparam("at", type_=UTCDateTime())
        )
        await session.execute(statement, {**params, "at": utcnow()})
        await session.commit()


async def insert_orders(app: FastAPI, owner: Account, how_many: int) -> None:
    """`how_many` orders of `owner`, all made in one instant, in one SQL statement."""
    await insert_rows(
        app,
        "INSERT INTO orders (user_id, status, total_cents, created_at, updated_at)",
        "SELECT CAST(:owner AS INTEGER), 'pending', 0, {at}, {at}",
        {"how_many": how_many, "owner": owner.id},
    )


async def insert_products(app: FastAPI, how_many: int) -> None:
    await insert_rows(
        app,
        "INSERT INTO products (name, description, price_cents, is_available, created_at)",
        "SELECT 'Pizza ' || n, '', 900, true, {at}",
        {"how_many": how_many},
    )


async def test_a_count_past_10000_orders_is_10000_and_not_exact(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    await insert_orders(app, customer, COUNT_LIMIT + 1)

    page = (await client.get("/orders", headers=customer.headers)).json()

    assert (page["count"], page["count_exact"]) == (COUNT_LIMIT, False)


async def test_an_admins_count_past_10000_orders_is_10000_and_not_exact(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    await insert_orders(app, customer, COUNT_LIMIT + 1)

    page = (await client.get("/orders", headers=admin.headers)).json()

    assert (page["count"], page["count_exact"]) == (COUNT_LIMIT, False)


async def test_a_count_of_10000_orders_is_exact(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    await insert_orders(app, customer, COUNT_LIMIT)

    page = (await client.get("/orders", headers=customer.headers)).json()

    assert (page["count"], page["count_exact"]) == (COUNT_LIMIT, True)


async def test_a_count_past_10000_products_is_10000_and_not_exact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await insert_products(app, COUNT_LIMIT + 1)

    page = (await client.get("/products")).json()

    assert (page["count"], page["count_exact"]) == (COUNT_LIMIT, False)


async def test_counts_follow_the_filters(
    client: httpx.AsyncClient, customer: Account, admin: Account, product: Any
) -> None:
    for _ in range(3):
        await open_order(client, customer)
    done = await open_order(client, customer, (product.id, 1))
    await client.post(f"/orders/{done['id']}/complete", headers=customer.headers)
    await open_order(client, admin)

    def count(params: dict[str, Any], caller: Account) -> Any:
        return client.get("/orders", params=params, headers=caller.headers)

    assert (await count({"status": "pending"}, customer)).json()["count"] == 3
    assert (await count({"user_id": admin.id}, customer)).json()["count"] == 0
    assert (await count({}, admin)).json()["count"] == 5
    assert (await count({"user_id": customer.id, "status": "completed"}, admin)).json()[
        "count"
    ] == 1
