"""Admins manage users (SPEC section 9), and there is always an active admin left."""

import asyncio

import httpx
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.auth_tables import RefreshToken
from app.tables import Order
from tests.conftest import Account, CreateUser, detail_of, open_order

LAST_ADMIN = "There must be at least one active admin"


async def patch_user(
    client: httpx.AsyncClient, by: Account, user_id: int, body: dict[str, object]
) -> httpx.Response:
    return await client.patch(f"/users/{user_id}", json=body, headers=by.headers)


async def delete_user(client: httpx.AsyncClient, by: Account, user_id: int) -> httpx.Response:
    return await client.delete(f"/users/{user_id}", headers=by.headers)


# ---------------------------------------------------------------- one user


async def test_an_admin_reads_one_user(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    response = await client.get(f"/users/{customer.id}", headers=admin.headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["email"], body["is_admin"]) == (customer.id, customer.email, False)
    assert "hashed_password" not in body


async def test_reading_an_unknown_user_is_404(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.get("/users/2147483647", headers=admin.headers)

    assert response.status_code == 404
    assert detail_of(response) == "User not found"


async def test_a_customer_may_not_read_another_user(
    client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    assert (await client.get(f"/users/{admin.id}", headers=customer.headers)).status_code == 403


async def test_an_admin_renames_a_user(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    response = await patch_user(client, admin, customer.id, {"name": "  Carla Cook "})

    assert response.status_code == 200
    assert response.json()["name"] == "Carla Cook"


# ---------------------------------------------------------------- deactivation


async def test_deactivating_a_user_revokes_their_refresh_tokens(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    login = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    refresh_token = login.json()["refresh_token"]

    await patch_user(client, admin, customer.id, {"is_active": False})
    await patch_user(client, admin, customer.id, {"is_active": True})

    refreshed = await client.post("/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 401


async def test_a_reactivated_user_logs_in_again(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    await patch_user(client, admin, customer.id, {"is_active": False})
    await patch_user(client, admin, customer.id, {"is_active": True})

    login = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    assert login.status_code == 200


# ---------------------------------------------------------------- the last active admin


async def test_the_only_admin_cannot_demote_themself(
    client: httpx.AsyncClient, admin: Account
) -> None:
    response = await patch_user(client, admin, admin.id, {"is_admin": False})

    assert response.status_code == 409
    assert detail_of(response) == LAST_ADMIN
    assert (await client.get("/users", headers=admin.headers)).status_code == 200


async def test_the_only_admin_cannot_deactivate_themself(
    client: httpx.AsyncClient, admin: Account
) -> None:
    response = await patch_user(client, admin, admin.id, {"is_active": False})

    assert response.status_code == 409
    assert detail_of(response) == LAST_ADMIN


async def test_the_only_admin_cannot_delete_themself(
    client: httpx.AsyncClient, admin: Account
) -> None:
    response = await delete_user(client, admin, admin.id)

    assert response.status_code == 409
    assert detail_of(response) == LAST_ADMIN


async def test_an_inactive_admin_does_not_count_as_the_one_left(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    await create_user(email="dormant@example.com", is_admin=True, is_active=False, log_in=False)

    response = await patch_user(client, admin, admin.id, {"is_admin": False})

    assert response.status_code == 409


async def test_an_admin_steps_down_when_another_active_admin_remains(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    await create_user(email="second@example.com", is_admin=True, log_in=False)

    response = await patch_user(client, admin, admin.id, {"is_admin": False})

    assert response.status_code == 200
    assert response.json()["is_admin"] is False


async def test_two_admins_stepping_down_at_once_leave_one_admin(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    other = await create_user(email="second@example.com", is_admin=True)

    responses = await asyncio.gather(
        patch_user(client, admin, admin.id, {"is_admin": False}),
        patch_user(client, other, other.id, {"is_admin": False}),
    )

    assert sorted(response.status_code for response in responses) == [200, 409]
    assert sorted(await admin_flags(client, admin, other)) == [False, True]


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    other = await create_user(email="second@example.com", is_admin=True)

    responses = await asyncio.gather(
        patch_user(client, admin, other.id, {"is_admin": False}),
        patch_user(client, other, admin.id, {"is_admin": False}),
    )

    # The loser is refused: 409 when it got past the admin check before the winner
    # committed, else 403 (no longer an admin).
    assert sorted(response.status_code for response in responses) in ([200, 403], [200, 409])
    assert sorted(await admin_flags(client, admin, other)) == [False, True]


async def test_two_admins_deleting_each_other_at_once_leave_one_admin(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    other = await create_user(email="second@example.com", is_admin=True)

    responses = await asyncio.gather(
        delete_user(client, admin, other.id),
        delete_user(client, other, admin.id),
    )

    # The loser is refused: 409, or 401 when its own account was deleted first.
    assert sorted(response.status_code for response in responses) in ([204, 401], [204, 409])
    survivors = [
        (await client.get("/users/me", headers=account.headers)).status_code
        for account in (admin, other)
    ]
    assert sorted(survivors) == [200, 401]


async def admin_flags(client: httpx.AsyncClient, *accounts: Account) -> list[bool]:
    return [
        (await client.get("/users/me", headers=account.headers)).json()["is_admin"]
        for account in accounts
    ]


# ---------------------------------------------------------------- deletion


async def test_deleting_a_user_removes_them_and_their_orders(
    client: httpx.AsyncClient, app: FastAPI, admin: Account, customer: Account, product: object
) -> None:
    await open_order(client, customer)

    response = await delete_user(client, admin, customer.id)

    assert response.status_code == 204
    assert (await client.get(f"/users/{customer.id}", headers=admin.headers)).status_code == 404
    async with app.state.db.read_sessions() as session:
        for model in (Order, RefreshToken):
            left = await session.scalar(
                select(func.count()).select_from(model).where(col(model.user_id) == customer.id)
            )
            assert left == 0, model


async def test_a_deleted_users_access_token_stops_at_once(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    await delete_user(client, admin, customer.id)

    assert (await client.get("/users/me", headers=customer.headers)).status_code == 401
    assert (await client.get("/orders", headers=customer.headers)).status_code == 401


async def test_a_deleted_users_token_never_works_for_a_later_account(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    newest = await create_user(email="newest@example.com")
    await delete_user(client, admin, newest.id)

    later = await create_user(email="later@example.com")

    assert later.id != newest.id
    assert (await client.get("/users/me", headers=newest.headers)).status_code == 401


async def test_deleting_an_unknown_user_is_404(client: httpx.AsyncClient, admin: Account) -> None:
    assert (await delete_user(client, admin, 2147483647)).status_code == 404


async def test_a_customer_may_not_delete_a_user(
    client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    assert (await delete_user(client, customer, admin.id)).status_code == 403
