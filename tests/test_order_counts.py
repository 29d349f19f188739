"""`order_counts` follows every change to the orders: created, changed, cascaded away; and
the counts over every order are spread over rows, so that creating an order does not wait
for every other order being created (PostgreSQL)."""

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from app.order_counts import EVERYONE, EVERYONES_COUNT_SLOTS
from tests.conftest import TEST_DATABASE_URL, Account, CreateUser, open_order

RECOUNT = """
SELECT 0, '', count(*) FROM orders HAVING count(*) > 0
UNION ALL SELECT 0, status, count(*) FROM orders GROUP BY status
UNION ALL SELECT user_id, '', count(*) FROM orders GROUP BY user_id
UNION ALL SELECT user_id, status, count(*) FROM orders GROUP BY user_id, status
"""


async def counts_and_recount(app: FastAPI) -> tuple[set[Any], set[Any]]:
    async with app.state.db.read_sessions() as session:
        kept = {
            tuple(row)
            for row in await session.execute(
                text(
                    "SELECT user_id, status, CAST(sum(orders) AS BIGINT) FROM order_counts "
                    "GROUP BY user_id, status HAVING sum(orders) <> 0"
                )
            )
        }
        recounted = {tuple(row) for row in await session.execute(text(RECOUNT))}
    return kept, recounted


async def test_counts_follow_new_and_changed_orders(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, admin: Account, product: Any
) -> None:
    first = await open_order(client, customer, (product.id, 1))
    await open_order(client, customer)
    second = await open_order(client, admin, (product.id, 2))
    await client.post(f"/orders/{first['id']}/complete", headers=customer.headers)
    await client.post(f"/orders/{second['id']}/cancel", headers=admin.headers)

    kept, recounted = await counts_and_recount(app)
    assert kept == recounted
    assert (0, "", 3) in kept


async def test_counts_follow_orders_deleted_with_their_user(
    app: FastAPI, client: httpx.AsyncClient, create_user: CreateUser, product: Any
) -> None:
    leaving = await create_user()
    staying = await create_user()
    for account in (leaving, leaving, staying):
        await open_order(client, account, (product.id, 1))
    async with app.state.db.write_sessions() as session:
        await session.execute(text("DELETE FROM users WHERE id = :id"), {"id": leaving.id})
        await session.commit()

    kept, recounted = await counts_and_recount(app)
    assert kept == recounted
    assert (0, "", 1) in kept


async def test_the_counts_over_every_order_are_spread_over_slots_by_order_id(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    orders = [await open_order(client, customer) for _ in range(2)]

    async with app.state.db.read_sessions() as session:
        rows = await session.execute(
            text("SELECT slot, orders FROM order_counts WHERE user_id = :everyone AND status = ''"),
            {"everyone": EVERYONE},
        )
        slots = dict(rows.all())
    assert slots == {order["id"] % EVERYONES_COUNT_SLOTS: 1 for order in orders}


if TEST_DATABASE_URL is not None:

    async def test_an_order_is_created_while_another_customers_order_is_being_created(
        app: FastAPI, client: httpx.AsyncClient, customer: Account, create_user: CreateUser
    ) -> None:
        other = await create_user()
        async with app.state.db.write_sessions() as unfinished:
            await unfinished.execute(
                text(
                    "INSERT INTO orders (user_id, status, total_cents, created_at, updated_at) "
                    "VALUES (:user_id, 'pending', 0, now(), now())"
                ),
                {"user_id": other.id},
            )
            async with asyncio.timeout(5):  # with one row per count: until `unfinished` ends
                created = await client.post("/orders", json={}, headers=customer.headers)
            await unfinished.rollback()

        assert created.status_code == 201
