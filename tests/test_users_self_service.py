"""A customer's own account (SPEC section 9): name, email, password, closing it."""

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.auth_tables import RefreshToken
from app.config import Settings
from app.tables import IdempotencyKey, Order
from tests.conftest import (
    Account,
    CreateUser,
    delivered,
    detail_of,
    login_headers,
    open_order,
    sending_to,
)
from tests.mail_server import SMTPServer

WRONG_PASSWORD = "Current password is incorrect"
NEW_PASSWORD = "a brand new password"


@pytest.fixture
def settings(settings: Settings, smtp: SMTPServer) -> Settings:
    return sending_to(settings, smtp)


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def change_password(
    client: httpx.AsyncClient, account: Account, current: str, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        "/users/me/password",
        json={"current_password": current, "new_password": new},
        headers=account.headers,
    )


# ---------------------------------------------------------------- name and email


async def test_a_customer_renames_themself(client: httpx.AsyncClient, customer: Account) -> None:
    response = await client.patch(
        "/users/me", json={"name": "Carla Cook"}, headers=customer.headers
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Carla Cook"
    assert (await client.get("/users/me", headers=customer.headers)).json()["name"] == "Carla Cook"


async def test_an_email_change_with_the_password_moves_the_login(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.patch(
        "/users/me",
        json={"email": "Carla.Cook@Example.com", "current_password": customer.password},
        headers=customer.headers,
    )

    assert response.status_code == 200
    assert response.json()["email"] == "carla.cook@example.com"
    assert (await log_in(client, "carla.cook@example.com", customer.password)).status_code == 200
    assert (await log_in(client, customer.email, customer.password)).status_code == 401


async def test_an_email_change_mails_a_notice_to_the_old_address(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    await client.patch(
        "/users/me",
        json={"email": "carla.cook@example.com", "current_password": customer.password},
        headers=customer.headers,
    )

    mailbox = await delivered(app, smtp)
    [notice] = mailbox.to(customer.email)
    assert "carla.cook@example.com" in notice.text
    assert mailbox.to("carla.cook@example.com") == []


async def test_an_email_change_without_the_password_is_403(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.patch(
        "/users/me", json={"email": "carla.cook@example.com"}, headers=customer.headers
    )

    assert response.status_code == 403
    assert detail_of(response) == WRONG_PASSWORD


async def test_an_email_change_with_a_wrong_password_is_403_and_changes_nothing(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.patch(
        "/users/me",
        json={"name": "Other", "email": "carla.cook@example.com", "current_password": "wrong!!!"},
        headers=customer.headers,
    )

    assert response.status_code == 403
    assert detail_of(response) == WRONG_PASSWORD
    me = (await client.get("/users/me", headers=customer.headers)).json()
    assert (me["name"], me["email"]) == ("Carla Customer", customer.email)


async def test_an_email_taken_by_another_account_is_409(
    client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    response = await client.patch(
        "/users/me",
        json={"email": admin.email, "current_password": customer.password},
        headers=customer.headers,
    )

    assert response.status_code == 409
    assert detail_of(response) == "An account with this email already exists"


async def test_the_same_email_needs_no_password(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.patch(
        "/users/me", json={"email": customer.email.upper()}, headers=customer.headers
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"is_admin": True},
        {"is_active": False},
        {"password": "x" * 10},
        {"name": None},
        {"name": ""},
    ],
    ids=["is_admin", "is_active", "password", "null", "empty-name"],
)
async def test_patching_yourself_refuses_other_fields_and_bad_values(
    client: httpx.AsyncClient, customer: Account, body: dict[str, object]
) -> None:
    response = await client.patch("/users/me", json=body, headers=customer.headers)

    assert response.status_code == 422
    assert (await client.get("/users/me", headers=customer.headers)).json()["is_admin"] is False


async def test_patching_yourself_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.patch("/users/me", json={"name": "X"})).status_code == 401


# ---------------------------------------------------------------- password


async def test_a_password_change_returns_a_working_token_pair(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await change_password(client, customer, customer.password)

    assert response.status_code == 200
    pair = response.json()
    assert pair["token_type"] == "bearer"
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    refreshed = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200


async def test_a_password_change_sets_the_new_password(
    client: httpx.AsyncClient, customer: Account
) -> None:
    await change_password(client, customer, customer.password)

    assert (await log_in(client, customer.email, NEW_PASSWORD)).status_code == 200
    assert (await log_in(client, customer.email, customer.password)).status_code == 401


async def test_a_password_change_logs_every_other_device_out(
    client: httpx.AsyncClient, customer: Account
) -> None:
    other_device = (await log_in(client, customer.email, customer.password)).json()

    await change_password(client, customer, customer.password)

    refreshed = await client.post(
        "/auth/refresh", json={"refresh_token": other_device["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_a_password_change_with_a_wrong_password_is_403(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await change_password(client, customer, "not my password")

    assert response.status_code == 403
    assert detail_of(response) == WRONG_PASSWORD
    assert (await log_in(client, customer.email, customer.password)).status_code == 200


async def test_wrong_current_passwords_count_as_failed_logins(
    client: httpx.AsyncClient, customer: Account, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures):
        assert (await change_password(client, customer, "not my password")).status_code == 403

    throttled = await change_password(client, customer, customer.password)

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"].isdigit()
    assert (await log_in(client, customer.email, customer.password)).status_code == 429


async def test_a_right_current_password_clears_the_failed_logins(
    client: httpx.AsyncClient, customer: Account, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures - 1):
        await change_password(client, customer, "not my password")

    assert (await change_password(client, customer, customer.password)).status_code == 200

    assert (await log_in(client, customer.email, "wrong once more")).status_code == 401
    assert (await log_in(client, customer.email, NEW_PASSWORD)).status_code == 200


async def test_a_too_short_new_password_is_422(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await change_password(client, customer, customer.password, new="short")

    assert response.status_code == 422
    assert customer.password not in response.text


# ---------------------------------------------------------------- closing the account


async def delete_me(client: httpx.AsyncClient, account: Account, password: str) -> httpx.Response:
    return await client.request(
        "DELETE", "/users/me", json={"password": password}, headers=account.headers
    )


async def test_closing_an_account_ends_its_access_tokens_at_once(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await delete_me(client, customer, customer.password)

    assert response.status_code == 204
    assert (await client.get("/users/me", headers=customer.headers)).status_code == 401
    assert (await client.get("/orders", headers=customer.headers)).status_code == 401
    assert (await log_in(client, customer.email, customer.password)).status_code == 401


async def test_closing_an_account_deletes_its_orders_tokens_and_keys(
    client: httpx.AsyncClient, app: FastAPI, customer: Account, product: object
) -> None:
    await open_order(client, customer)
    await client.post("/orders", json={}, headers={**customer.headers, "Idempotency-Key": "key-1"})

    await delete_me(client, customer, customer.password)

    async with app.state.db.read_sessions() as session:
        for model in (Order, IdempotencyKey, RefreshToken):
            left = await session.scalar(
                select(func.count()).select_from(model).where(col(model.user_id) == customer.id)
            )
            assert left == 0, model


async def test_closing_an_account_with_a_wrong_password_is_403(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await delete_me(client, customer, "not my password")

    assert response.status_code == 403
    assert detail_of(response) == WRONG_PASSWORD
    assert (await client.get("/users/me", headers=customer.headers)).status_code == 200


async def test_the_last_active_admin_cannot_close_their_account(
    client: httpx.AsyncClient, admin: Account
) -> None:
    response = await delete_me(client, admin, admin.password)

    assert response.status_code == 409
    assert detail_of(response) == "There must be at least one active admin"


async def test_an_admin_closes_their_account_while_another_admin_remains(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    await create_user(email="second@example.com", is_admin=True, log_in=False)

    assert (await delete_me(client, admin, admin.password)).status_code == 204


async def test_a_closed_accounts_email_can_sign_up_again_with_a_new_id(
    client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    await delete_me(client, customer, customer.password)

    signup = await client.post(
        "/auth/signup",
        json={"name": "Carla Again", "email": customer.email, "password": "pepperoni-42"},
    )

    assert signup.status_code == 201
    assert signup.json()["id"] > customer.id
    headers = await login_headers(client, customer.email, "pepperoni-42")
    assert (await client.get("/users/me", headers=headers)).json()["name"] == "Carla Again"


async def test_the_token_pair_of_a_password_change_is_not_cached(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await change_password(client, customer, customer.password)

    assert response.headers["Cache-Control"] == "no-store"


async def test_a_right_password_with_a_taken_email_counts_no_failed_login(
    client: httpx.AsyncClient, customer: Account, admin: Account, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures):
        response = await client.patch(
            "/users/me",
            json={"email": admin.email, "current_password": customer.password},
            headers=customer.headers,
        )
        assert response.status_code == 409

    assert (await log_in(client, customer.email, customer.password)).status_code == 200
