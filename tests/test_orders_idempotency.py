"""`Idempotency-Key` on `POST /orders`: replays, conflicts, per-user keys, races, expiry."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.services.orders.idempotency import KEY_LIFETIME
from app.tables import KEYS, ProductPublic
from app.timestamps import utcnow
from tests.conftest import Account, CreateUser, detail_of


async def post_order(
    client: httpx.AsyncClient, account: Account, key: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(
        "/orders", json=body, headers={**account.headers, "Idempotency-Key": key}
    )


async def order_count(client: httpx.AsyncClient, account: Account) -> int:
    count: int = (await client.get("/orders", headers=account.headers)).json()["count"]
    return count


async def age_keys(app: FastAPI, account: Account, age: timedelta) -> None:
    """Make the account's stored keys `age` old."""
    async with app.state.db.write_sessions() as session:
        await session.execute(
            update(KEYS).where(KEYS.c.user_id == account.id).values(created_at=utcnow() - age)
        )
        await session.commit()


async def stored_keys(app: FastAPI) -> list[tuple[int, str]]:
    async with app.state.db.read_sessions() as session:
        rows = await session.execute(select(KEYS.c.user_id, KEYS.c.key).order_by(KEYS.c.id))
        return [(user_id, key) for user_id, key in rows]


EXPIRED = KEY_LIFETIME + timedelta(seconds=1)


async def test_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    body = {"items": [{"product_id": product.id, "quantity": 2}]}

    first = await post_order(client, customer, "order-2024-0001", body)
    again = await post_order(client, customer, "order-2024-0001", body)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await order_count(client, customer) == 1


async def test_replay_returns_the_first_response_even_after_the_order_changed(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    first = await post_order(client, customer, "k1")
    await client.post(
        f"/orders/{first.json()['id']}/items",
        json={"product_id": product.id, "quantity": 1},
        headers=customer.headers,
    )

    again = await post_order(client, customer, "k1")

    assert again.json() == first.json()
    assert again.json()["items"] == []


async def test_no_body_and_empty_object_are_the_same_request(
    client: httpx.AsyncClient, customer: Account
) -> None:
    first = await post_order(client, customer, "same")
    again = await post_order(client, customer, "same", {})
    and_again = await post_order(client, customer, "same", {"items": []})

    assert first.json() == again.json() == and_again.json()
    assert await order_count(client, customer) == 1


async def test_same_key_with_another_body_is_409(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    await post_order(client, customer, "k", {"items": [{"product_id": product.id, "quantity": 1}]})

    response = await post_order(
        client, customer, "k", {"items": [{"product_id": product.id, "quantity": 2}]}
    )

    assert response.status_code == 409
    assert detail_of(response) == (
        "This Idempotency-Key was already used with a different request body"
    )
    assert await order_count(client, customer) == 1


async def test_keys_are_per_user(
    client: httpx.AsyncClient, customer: Account, create_user: CreateUser
) -> None:
    other = await create_user()

    mine = await post_order(client, customer, "shared-key")
    theirs = await post_order(client, other, "shared-key")
    theirs_with_another_body = await post_order(client, other, "shared-key", {"items": []})

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["user_id"] == other.id
    assert theirs_with_another_body.json() == theirs.json()
    assert await order_count(client, customer) == 1


async def test_different_keys_open_different_orders(
    client: httpx.AsyncClient, customer: Account
) -> None:
    first = await post_order(client, customer, "a")
    second = await post_order(client, customer, "b")

    assert first.json()["id"] != second.json()["id"]
    assert await order_count(client, customer) == 2


async def test_a_failed_request_does_not_use_up_its_key(
    client: httpx.AsyncClient, customer: Account, admin: Account, create_user: CreateUser
) -> None:
    body = {"items": [{"product_id": 1, "quantity": 1}]}
    missing = await post_order(client, customer, "retry-me", body)
    created = await client.post(
        "/products", json={"name": "Late arrival", "price_cents": 500}, headers=admin.headers
    )
    assert created.json()["id"] == 1

    retried = await post_order(client, customer, "retry-me", body)

    assert missing.status_code == 404
    assert retried.status_code == 201
    assert retried.json()["items"][0]["product_name"] == "Late arrival"


async def test_requests_without_a_key_are_never_deduplicated(
    client: httpx.AsyncClient, customer: Account
) -> None:
    await client.post("/orders", headers=customer.headers)
    await client.post("/orders", headers=customer.headers)

    assert await order_count(client, customer) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "bell\x07"])
async def test_invalid_key_is_422(client: httpx.AsyncClient, customer: Account, key: str) -> None:
    response = await client.post(
        "/orders",
        headers=[
            ("Authorization", customer.headers["Authorization"]),
            ("Idempotency-Key", key.encode("latin-1")),
        ],
    )

    assert response.status_code == 422
    assert await order_count(client, customer) == 0


async def test_longest_key_is_accepted(client: httpx.AsyncClient, customer: Account) -> None:
    key = "k" * 255

    first = await post_order(client, customer, key)
    again = await post_order(client, customer, key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()


async def test_concurrent_requests_with_one_key_open_one_order(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    body = {"items": [{"product_id": product.id, "quantity": 3}]}

    responses = await asyncio.gather(
        *(post_order(client, customer, "double-click", body) for _ in range(10))
    )

    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" in r.headers for r in responses) == 9
    assert await order_count(client, customer) == 1


async def test_concurrent_requests_with_one_key_and_different_bodies(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    bodies = [{"items": [{"product_id": product.id, "quantity": n}]} for n in range(1, 9)]

    responses = await asyncio.gather(*(post_order(client, customer, "k", b) for b in bodies))

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 7
    winner = next(r for r in responses if r.status_code == 201)
    listing = (await client.get("/orders", headers=customer.headers)).json()
    assert listing["count"] == 1
    assert listing["data"][0] == winner.json()


async def test_a_key_still_replays_just_before_it_expires(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    first = await post_order(client, customer, "kept")
    await age_keys(app, customer, KEY_LIFETIME - timedelta(minutes=1))

    again = await post_order(client, customer, "kept")

    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


async def test_an_expired_key_opens_a_new_order(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    first = await post_order(client, customer, "yesterday")
    await age_keys(app, customer, EXPIRED)

    again = await post_order(client, customer, "yesterday")

    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert await order_count(client, customer) == 2


async def test_an_expired_key_with_another_body_is_not_a_conflict(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    await post_order(client, customer, "yesterday")
    await age_keys(app, customer, EXPIRED)

    response = await post_order(
        client, customer, "yesterday", {"items": [{"product_id": product.id, "quantity": 1}]}
    )

    assert response.status_code == 201
    assert response.json()["items"][0]["product_id"] == product.id


async def test_a_reused_expired_key_replays_its_new_order(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    await post_order(client, customer, "again")
    await age_keys(app, customer, EXPIRED)
    renewed = await post_order(client, customer, "again")

    replayed = await post_order(client, customer, "again")

    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == renewed.content


async def test_storing_a_key_deletes_only_the_callers_expired_keys(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, create_user: CreateUser
) -> None:
    other = await create_user()
    for key in ("old-1", "old-2"):
        await post_order(client, customer, key)
    await post_order(client, other, "theirs")
    await age_keys(app, customer, EXPIRED)
    await age_keys(app, other, EXPIRED)

    await post_order(client, customer, "new")

    assert await stored_keys(app) == [(other.id, "theirs"), (customer.id, "new")]
