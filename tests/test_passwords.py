"""Passwords (SPEC section 9): compared in Unicode NFKC, limits on the normalized form, and
hashes made at an old bcrypt cost renewed at the next login."""

import unicodedata

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.security import hash_password
from app.tables import User
from tests.conftest import CreateUser

COMPOSED = "caf\u00e9-cr\u00e8me"  # é and è as one code point each
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)  # e + combining accent
FULL_WIDTH = "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44"  # "password" in full-width letters
# U+FDFA is 3 bytes, and 33 bytes once NFKC spells it out.
EXPANDING = "\ufdfa" * 3


async def sign_up(client: httpx.AsyncClient, password: str) -> httpx.Response:
    return await client.post(
        "/auth/signup", json={"name": "Zoë", "email": "zoe@example.com", "password": password}
    )


async def log_in(client: httpx.AsyncClient, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": "zoe@example.com", "password": password})


async def test_a_password_typed_decomposed_matches_the_composed_one(
    client: httpx.AsyncClient,
) -> None:
    assert DECOMPOSED != COMPOSED
    await sign_up(client, COMPOSED)

    assert (await log_in(client, DECOMPOSED)).status_code == 200


async def test_a_full_width_password_matches_its_ascii_form(client: httpx.AsyncClient) -> None:
    await sign_up(client, FULL_WIDTH)

    assert (await log_in(client, "password")).status_code == 200


async def test_a_password_too_long_once_normalized_is_422(client: httpx.AsyncClient) -> None:
    assert len(EXPANDING.encode()) < 72 < len(unicodedata.normalize("NFKC", EXPANDING).encode())

    response = await sign_up(client, EXPANDING)

    assert response.status_code == 422


async def test_a_login_renews_a_hash_made_at_another_cost(
    client: httpx.AsyncClient, app: FastAPI, create_user: CreateUser, settings: Settings
) -> None:
    account = await create_user(email="old@example.com", log_in=False)
    async with app.state.db.write_sessions() as session:
        user = await session.get(User, account.id)
        assert user is not None
        user.hashed_password = await hash_password(account.password, settings.bcrypt_rounds + 1)
        await session.commit()

    response = await client.post(
        "/auth/login", json={"email": account.email, "password": account.password}
    )

    assert response.status_code == 200
    async with app.state.db.read_sessions() as session:
        user = await session.get(User, account.id)
    assert user is not None
    assert user.hashed_password.startswith(f"$2b${settings.bcrypt_rounds:02d}$")


async def test_a_login_keeps_a_hash_made_at_the_current_cost(
    client: httpx.AsyncClient, app: FastAPI, create_user: CreateUser
) -> None:
    account = await create_user(email="new@example.com", log_in=False)
    async with app.state.db.read_sessions() as session:
        before = (await session.get(User, account.id)).hashed_password  # type: ignore[union-attr]

    await client.post("/auth/login", json={"email": account.email, "password": account.password})

    async with app.state.db.read_sessions() as session:
        after = (await session.get(User, account.id)).hashed_password  # type: ignore[union-attr]
    assert after == before
