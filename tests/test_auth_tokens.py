"""Bearer tokens: refresh rotation and theft detection, logout, and every way a token is bad."""

import asyncio
import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, update
from sqlmodel import col, select

from app.auth_tables import RefreshToken
from app.tables import User
from app.timestamps import utcnow
from tests.conftest import TEST_SECRET_KEY, Account, CreateUser, detail_of


async def token_pair(client: httpx.AsyncClient, user: Account) -> dict[str, Any]:
    response = await client.post(
        "/auth/login", json={"email": user.email, "password": user.password}
    )
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": refresh_token})


async def logout(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/auth/logout", json={"refresh_token": refresh_token})


async def me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/users/me", headers={"Authorization": f"Bearer {access_token}"})


def make_token(
    *,
    key: str = TEST_SECRET_KEY,
    algorithm: str = "HS256",
    omit: tuple[str, ...] = (),
    ttl: timedelta = timedelta(minutes=15),
    **claims: Any,
) -> str:
    """A token shaped like the app's own, with any claim overridden or left out."""
    now = utcnow()
    payload: dict[str, Any] = {
        "sub": "1",
        "type": "access",
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    for claim in omit:
        del payload[claim]
    return jwt.encode(payload, key, algorithm=algorithm)


def unsigned_token(**claims: Any) -> str:
    """An `alg: none` token: a header, a payload and an empty signature."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(utcnow().timestamp())
    payload = {"type": "access", "iat": now, "exp": now + 900, "jti": "x", **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert isinstance(detail_of(response), str)


# ---------------------------------------------------------------- refresh rotation


async def test_refresh_returns_a_new_token_pair(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    pair = await token_pair(client, await create_user(log_in=False))

    response = await refresh(client, pair["refresh_token"])

    assert response.status_code == 200, response.text
    new_pair = response.json()
    assert new_pair["token_type"] == "bearer"
    assert new_pair["expires_in"] == 900
    assert new_pair["refresh_token"] != pair["refresh_token"]
    assert (await me(client, new_pair["access_token"])).status_code == 200


async def test_refresh_retires_the_presented_token(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    pair = await token_pair(client, await create_user(log_in=False))
    await refresh(client, pair["refresh_token"])

    response = await refresh(client, pair["refresh_token"])

    assert_unauthorized(response)


async def test_reusing_a_retired_refresh_token_revokes_the_whole_chain(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    first = await token_pair(client, await create_user(log_in=False))
    second = (await refresh(client, first["refresh_token"])).json()
    third = (await refresh(client, second["refresh_token"])).json()

    replay = await refresh(client, first["refresh_token"])
    newest = await refresh(client, third["refresh_token"])

    assert_unauthorized(replay)
    assert detail_of(replay) == "Refresh token was already used or revoked; log in again"
    assert_unauthorized(newest)


async def test_reusing_a_retired_refresh_token_leaves_other_logins_alone(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)
    stolen = await token_pair(client, user)
    other_device = await token_pair(client, user)
    await refresh(client, stolen["refresh_token"])
    await refresh(client, stolen["refresh_token"])

    response = await refresh(client, other_device["refresh_token"])

    assert response.status_code == 200


async def test_concurrent_refreshes_with_one_token_let_exactly_one_through(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    pair = await token_pair(client, await create_user(log_in=False))

    responses = await asyncio.gather(*(refresh(client, pair["refresh_token"]) for _ in range(4)))

    codes = sorted(response.status_code for response in responses)
    assert codes == [200, 401, 401, 401], [r.text for r in responses]


async def test_refresh_with_an_access_token_is_401(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    pair = await token_pair(client, await create_user(log_in=False))

    response = await refresh(client, pair["access_token"])

    assert_unauthorized(response)
    assert detail_of(response) == "Expected a refresh token"


async def test_refresh_with_garbage_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await refresh(client, "not-a-token"))


async def test_refresh_with_an_expired_refresh_token_is_401(
    client: httpx.AsyncClient, customer: Account
) -> None:
    token = make_token(sub=str(customer.id), type="refresh", ttl=timedelta(seconds=-1))

    response = await refresh(client, token)

    assert_unauthorized(response)
    assert detail_of(response) == "Token has expired"


async def test_refresh_with_a_signed_but_never_issued_token_is_401(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await refresh(client, make_token(sub=str(customer.id), type="refresh"))

    assert_unauthorized(response)


async def test_refresh_for_a_deactivated_user_is_401(
    client: httpx.AsyncClient, create_user: CreateUser, admin: Account
) -> None:
    user = await create_user(log_in=False)
    pair = await token_pair(client, user)
    await client.patch(f"/users/{user.id}", json={"is_active": False}, headers=admin.headers)

    response = await refresh(client, pair["refresh_token"])

    assert_unauthorized(response)


async def test_refresh_for_a_deleted_user_is_401(
    client: httpx.AsyncClient, create_user: CreateUser, app: FastAPI
) -> None:
    user = await create_user(log_in=False)
    pair = await token_pair(client, user)
    await delete_user(app, user.id)

    response = await refresh(client, pair["refresh_token"])

    assert_unauthorized(response)


async def test_logging_in_forgets_the_users_expired_refresh_tokens_only(
    client: httpx.AsyncClient, create_user: CreateUser, app: FastAPI
) -> None:
    user = await create_user(log_in=False)
    expired = await token_pair(client, user)
    retired = await token_pair(client, user)
    await refresh(client, retired["refresh_token"])
    async with app.state.db.write_sessions() as session:
        await session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.jti) == jti_of(expired["refresh_token"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()

    await token_pair(client, user)

    async with app.state.db.read_sessions() as session:
        kept = set(await session.scalars(select(col(RefreshToken.jti))))
    assert jti_of(expired["refresh_token"]) not in kept
    assert jti_of(retired["refresh_token"]) in kept
    assert len(kept) == 3


def jti_of(token: str) -> str:
    jti: str = jwt.decode(token, options={"verify_signature": False})["jti"]
    return jti


async def test_refresh_rejects_unknown_fields(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    pair = await token_pair(client, await create_user(log_in=False))

    response = await client.post(
        "/auth/refresh", json={"refresh_token": pair["refresh_token"], "user_id": 1}
    )

    assert response.status_code == 422


# ---------------------------------------------------------------- logout


async def test_logout_is_204_and_the_refresh_token_stops_working(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    pair = await token_pair(client, await create_user(log_in=False))

    response = await logout(client, pair["refresh_token"])

    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    after = await refresh(client, pair["refresh_token"])
    assert_unauthorized(after)
    assert detail_of(after) == "Refresh token was already used or revoked; log in again"


async def test_logout_ends_the_chain_rotated_from_the_same_login(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    first = await token_pair(client, await create_user(log_in=False))
    second = (await refresh(client, first["refresh_token"])).json()

    await logout(client, second["refresh_token"])

    assert_unauthorized(await refresh(client, second["refresh_token"]))


async def test_logout_leaves_other_logins_alone(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)
    phone = await token_pair(client, user)
    laptop = await token_pair(client, user)

    await logout(client, phone["refresh_token"])

    assert (await refresh(client, laptop["refresh_token"])).status_code == 200


async def test_logout_with_garbage_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await logout(client, "garbage"))


async def test_logout_with_an_access_token_is_401(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    pair = await token_pair(client, await create_user(log_in=False))

    assert_unauthorized(await logout(client, pair["access_token"]))


async def test_logout_with_a_signed_but_never_issued_token_is_401(
    client: httpx.AsyncClient, customer: Account
) -> None:
    assert_unauthorized(await logout(client, make_token(sub=str(customer.id), type="refresh")))


async def test_logout_without_a_body_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.post("/auth/logout")).status_code == 422


# ---------------------------------------------------------------- bad access tokens


async def test_a_protected_route_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    assert_unauthorized(await client.get("/users/me"))


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer a.b", "token"],
)
async def test_a_malformed_authorization_header_is_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/users/me", headers={"Authorization": authorization})

    assert_unauthorized(response)


async def test_an_access_token_signed_with_another_key_is_401(
    client: httpx.AsyncClient, customer: Account
) -> None:
    token = make_token(sub=str(customer.id), key="another-secret-key-that-is-long-enough-42")

    response = await me(client, token)

    assert_unauthorized(response)
    assert detail_of(response) == "Could not validate token"


async def test_an_access_token_with_a_tampered_payload_is_401(
    client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    header, _, signature = make_token(sub=str(customer.id)).split(".")
    forged_payload = base64.urlsafe_b64encode(
        json.dumps({"sub": str(admin.id), "type": "access", "exp": 9999999999}).encode()
    )

    response = await me(client, f"{header}.{forged_payload.rstrip(b'=').decode()}.{signature}")

    assert_unauthorized(response)


async def test_an_expired_access_token_is_401(client: httpx.AsyncClient, customer: Account) -> None:
    response = await me(client, make_token(sub=str(customer.id), ttl=timedelta(seconds=-1)))

    assert_unauthorized(response)
    assert detail_of(response) == "Token has expired"


async def test_an_alg_none_token_is_401(client: httpx.AsyncClient, customer: Account) -> None:
    response = await me(client, unsigned_token(sub=str(customer.id)))

    assert_unauthorized(response)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_a_token_signed_with_another_algorithm_is_401(
    client: httpx.AsyncClient, customer: Account, algorithm: str
) -> None:
    response = await me(client, make_token(sub=str(customer.id), algorithm=algorithm))

    assert_unauthorized(response)


@pytest.mark.parametrize(
    "subject",
    ["abc", "", "0", "-1", "2147483648", "9" * 40, "1.5", " 1", "\u0661", 1, None, ["1"]],
    ids=[
        "letters",
        "empty",
        "zero",
        "negative",
        "2^31",
        "huge",
        "decimal",
        "space",
        "arabic-digit",
        "integer",
        "null",
        "list",
    ],
)
async def test_an_access_token_with_a_bad_subject_is_401(
    client: httpx.AsyncClient, customer: Account, subject: Any
) -> None:
    response = await me(client, make_token(sub=subject))

    assert_unauthorized(response)


@pytest.mark.parametrize("claim", ["sub", "type", "exp", "iat", "jti"])
async def test_an_access_token_missing_a_required_claim_is_401(
    client: httpx.AsyncClient, customer: Account, claim: str
) -> None:
    response = await me(client, make_token(sub=str(customer.id), omit=(claim,)))

    assert_unauthorized(response)


@pytest.mark.parametrize("token_type", ["refresh", "id", "ACCESS", "", None, 1])
async def test_an_access_token_of_the_wrong_type_is_401(
    client: httpx.AsyncClient, customer: Account, token_type: Any
) -> None:
    response = await me(client, make_token(sub=str(customer.id), type=token_type))

    assert_unauthorized(response)


async def test_a_refresh_token_used_as_an_access_token_is_401(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    pair = await token_pair(client, await create_user(log_in=False))

    response = await me(client, pair["refresh_token"])

    assert_unauthorized(response)
    assert detail_of(response) == "Expected an access token"


async def test_an_access_token_issued_in_the_future_is_401(
    client: httpx.AsyncClient, customer: Account
) -> None:
    future = utcnow() + timedelta(hours=1)
    token = make_token(sub=str(customer.id), iat=future, exp=future + timedelta(minutes=15))

    assert_unauthorized(await me(client, token))


async def test_an_access_token_for_a_user_that_never_existed_is_401(
    client: httpx.AsyncClient, customer: Account
) -> None:
    assert_unauthorized(await me(client, make_token(sub=str(customer.id + 1000))))


async def test_a_deactivated_users_access_token_stops_working_at_once(
    client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    assert (await client.get("/users/me", headers=customer.headers)).status_code == 200
    await client.patch(f"/users/{customer.id}", json={"is_active": False}, headers=admin.headers)

    response = await client.get("/users/me", headers=customer.headers)

    assert_unauthorized(response)


async def test_a_reactivated_users_access_token_works_again(
    client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    path = f"/users/{customer.id}"
    await client.patch(path, json={"is_active": False}, headers=admin.headers)
    await client.patch(path, json={"is_active": True}, headers=admin.headers)

    assert (await client.get("/users/me", headers=customer.headers)).status_code == 200


async def test_a_deleted_users_access_token_is_401(
    client: httpx.AsyncClient, customer: Account, app: FastAPI
) -> None:
    await delete_user(app, customer.id)

    assert_unauthorized(await client.get("/users/me", headers=customer.headers))


async def test_a_demoted_admins_token_loses_admin_rights_at_once(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    other_admin = await create_user(is_admin=True)
    await client.patch(f"/users/{other_admin.id}", json={"is_admin": False}, headers=admin.headers)

    response = await client.get("/users", headers=other_admin.headers)

    assert response.status_code == 403


async def delete_user(app: FastAPI, user_id: int) -> None:
    """Delete the row directly, as an operator might; its refresh tokens go with it."""
    async with app.state.db.write_sessions() as session:
        await session.execute(delete(User).where(col(User.id) == user_id))
        await session.commit()
