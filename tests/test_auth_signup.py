"""POST /auth/signup: who may sign up, with what, and what is stored."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.security import MAX_HASHING_JOBS
from app.tables import User
from tests.conftest import Account, detail_of
from tests.schema_conformance import SchemaCheckedClient

VALID = {"name": "Carla Customer", "email": "carla@example.com", "password": "pizza-margherita"}


def signup_body(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


async def user_count(app: FastAPI) -> int:
    async with app.state.db.read_sessions() as session:
        return (await session.scalar(select(func.count()).select_from(User))) or 0


async def stored_user(app: FastAPI, email: str) -> User | None:
    async with app.state.db.read_sessions() as session:
        return await session.scalar(select(User).where(col(User.email) == email))


async def test_signup_returns_201_with_the_public_user(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/signup", json=VALID)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "name", "email", "is_active", "is_admin", "created_at"}
    assert body["name"] == "Carla Customer"
    assert body["email"] == "carla@example.com"
    assert isinstance(body["id"], int)
    assert body["created_at"].endswith(("Z", "+00:00"))


async def test_signup_creates_an_active_customer_never_an_admin(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.post("/auth/signup", json=VALID)).json()

    assert body["is_active"] is True
    assert body["is_admin"] is False


async def test_signup_stores_the_email_lower_cased(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post("/auth/signup", json=signup_body(email="Carla.Rossi@Example.COM"))

    assert response.json()["email"] == "carla.rossi@example.com"
    assert await stored_user(app, "carla.rossi@example.com") is not None


async def test_signup_response_never_contains_the_password_or_its_hash(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await client.post("/auth/signup", json=VALID)

    user = await stored_user(app, VALID["email"])
    assert user is not None
    assert VALID["password"] not in response.text
    assert user.hashed_password not in response.text
    assert "password" not in response.text


async def test_signup_stores_a_bcrypt_hash_not_the_password(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await client.post("/auth/signup", json=VALID)

    user = await stored_user(app, VALID["email"])
    assert user is not None
    assert user.hashed_password.startswith("$2b$04$")
    assert VALID["password"] not in user.hashed_password


async def test_signed_up_user_can_log_in(client: httpx.AsyncClient) -> None:
    await client.post("/auth/signup", json=VALID)

    response = await client.post(
        "/auth/login", json={"email": VALID["email"], "password": VALID["password"]}
    )

    assert response.status_code == 200, response.text


async def test_signup_strips_surrounding_whitespace_from_the_name(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/auth/signup", json=signup_body(name="  Carla  "))

    assert response.json()["name"] == "Carla"


async def test_signup_with_a_taken_email_is_409(
    client: httpx.AsyncClient, customer: Account, app: FastAPI
) -> None:
    response = await client.post("/auth/signup", json=signup_body(email=customer.email))

    assert response.status_code == 409
    assert detail_of(response) == "An account with this email already exists"
    assert await user_count(app) == 1


async def test_signup_compares_emails_case_insensitively(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    first = await client.post("/auth/signup", json=signup_body(email="carla@example.com"))
    second = await client.post("/auth/signup", json=signup_body(email="CARLA@Example.Com"))

    assert first.status_code == 201
    assert second.status_code == 409
    assert await user_count(app) == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"is_admin": True},
        {"is_active": False},
        {"id": 7},
        {"hashed_password": "$2b$04$abcdefghijklmnopqrstuv"},
        {"created_at": "2020-01-01T00:00:00Z"},
    ],
    ids=["is_admin", "is_active", "id", "hashed_password", "created_at"],
)
async def test_signup_rejects_fields_a_client_may_not_set(
    client: httpx.AsyncClient, app: FastAPI, extra: dict[str, Any]
) -> None:
    response = await client.post("/auth/signup", json=signup_body(**extra))

    assert response.status_code == 422
    (field,) = extra
    assert [error["loc"] for error in detail_of(response)] == [["body", field]]
    assert await user_count(app) == 0


@pytest.mark.parametrize(
    "password",
    ["", "short", "7 bytes", "\u20ac\u20ac"],
    ids=["empty", "5-ascii", "7-ascii", "2-euro-6-bytes"],
)
async def test_signup_rejects_a_password_under_8_bytes(
    client: httpx.AsyncClient, app: FastAPI, password: str
) -> None:
    response = await client.post("/auth/signup", json=signup_body(password=password))

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "password"]
    assert await user_count(app) == 0


@pytest.mark.parametrize(
    "password",
    ["x" * 8, "\u00e9" * 4, "x" * 72, "\u20ac" * 24],
    ids=["8-ascii", "4-e-acute-8-bytes", "72-ascii", "24-euro-72-bytes"],
)
async def test_signup_accepts_a_password_of_8_to_72_bytes(
    client: httpx.AsyncClient, password: str
) -> None:
    response = await client.post("/auth/signup", json=signup_body(password=password))
    login = await client.post("/auth/login", json={"email": VALID["email"], "password": password})

    assert response.status_code == 201, response.text
    assert login.status_code == 200, login.text


async def test_signup_rejects_a_password_over_72_ascii_bytes(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await client.post("/auth/signup", json=signup_body(password="x" * 73))

    assert response.status_code == 422
    assert "72 bytes" in detail_of(response)[0]["msg"]
    assert await user_count(app) == 0


async def test_signup_rejects_a_password_over_72_multibyte_bytes(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """25 euro signs are only 25 characters but 75 bytes: bcrypt would drop the tail."""
    response = await client.post("/auth/signup", json=signup_body(password="\u20ac" * 25))

    assert response.status_code == 422
    assert "got 75" in detail_of(response)[0]["msg"]
    assert await user_count(app) == 0


@pytest.mark.parametrize("field", ["name", "password", "email"])
async def test_signup_rejects_nul_characters(
    client: httpx.AsyncClient, app: FastAPI, field: str
) -> None:
    response = await client.post(
        "/auth/signup", json=signup_body(**{field: VALID[field][:3] + "\x00" + VALID[field][3:]})
    )

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", field]
    assert await user_count(app) == 0


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "carla@", "@example.com", "carla@@example.com", "carla example@x.com", ""],
)
async def test_signup_rejects_an_invalid_email(
    client: httpx.AsyncClient, app: FastAPI, email: str
) -> None:
    response = await client.post("/auth/signup", json=signup_body(email=email))

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "email"]
    assert await user_count(app) == 0


@pytest.mark.parametrize("name", ["", "   ", "\t\n"], ids=["empty", "spaces", "tab-newline"])
async def test_signup_rejects_an_empty_or_blank_name(
    client: httpx.AsyncClient, app: FastAPI, name: str
) -> None:
    response = await client.post("/auth/signup", json=signup_body(name=name))

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "name"]
    assert await user_count(app) == 0


async def test_signup_rejects_a_name_over_100_characters(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await client.post("/auth/signup", json=signup_body(name="n" * 101))

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "name"]
    assert await user_count(app) == 0


async def test_signup_accepts_a_name_of_100_multibyte_characters(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/auth/signup", json=signup_body(name="\u00e9" * 100))

    assert response.status_code == 201, response.text
    assert response.json()["name"] == "\u00e9" * 100


async def test_a_rejected_password_is_not_echoed_back(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/signup", json=signup_body(password="secret7"))

    assert response.status_code == 422
    assert detail_of(response)[0]["input"] == "(hidden)"
    assert "secret7" not in response.text


async def test_an_error_about_another_field_does_not_echo_the_password(
    client: httpx.AsyncClient,
) -> None:
    body = signup_body()
    del body["name"]

    response = await client.post("/auth/signup", json=body)

    assert response.status_code == 422
    assert VALID["password"] not in response.text


async def test_a_validation_error_explains_itself_in_words(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/signup", json=signup_body(name="Ca\x00rla"))

    (error,) = detail_of(response)
    assert error["msg"] == "Value error, must not contain NUL characters"
    assert error["ctx"] == {"error": "must not contain NUL characters"}


@pytest.mark.parametrize("field", ["name", "email", "password"])
async def test_signup_requires_every_field(
    client: httpx.AsyncClient, app: FastAPI, field: str
) -> None:
    body = signup_body()
    del body[field]

    response = await client.post("/auth/signup", json=body)

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", field]
    assert await user_count(app) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", 123), ("email", ["a@example.com"]), ("password", None), ("password", 12345678)],
)
async def test_signup_rejects_values_of_the_wrong_type(
    client: httpx.AsyncClient, app: FastAPI, field: str, value: object
) -> None:
    response = await client.post("/auth/signup", json=signup_body(**{field: value}))

    assert response.status_code == 422
    assert await user_count(app) == 0


@pytest.mark.parametrize("field", ["name", "password"])
async def test_signup_rejects_a_lone_surrogate_instead_of_failing(
    client: httpx.AsyncClient, app: FastAPI, field: str
) -> None:
    """JSON may escape half a UTF-16 pair; it cannot be encoded, so it must be a 422."""
    raw = (
        '{"name": "Carla", "email": "carla@example.com", "password": "pizza-margherita"}'
    ).replace(f'"{field}": "', f'"{field}": "\\ud800')

    response = await client.post(
        "/auth/signup", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert await user_count(app) == 0


async def signup_from(app: FastAPI, address: str, body: dict[str, Any]) -> httpx.Response:
    """A signup from a client address of its own: one address may hold only its share of
    the password-hashing queue (a burst from one address gets 503 past it)."""
    async with SchemaCheckedClient(app, peer=(address, 40_000)) as client:
        return await client.post("/auth/signup", json=body)


async def test_concurrent_signups_with_one_email_create_exactly_one_account(
    app: FastAPI,
) -> None:
    """As many racers as the hashing queue takes at once (more would get 503, SPEC §11)."""
    responses = await asyncio.gather(
        *(
            signup_from(
                app, f"198.51.100.{n + 1}", signup_body(name=f"Racer {n}", email="race@example.com")
            )
            for n in range(MAX_HASHING_JOBS)
        )
    )

    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * (MAX_HASHING_JOBS - 1), [r.text for r in responses]
    assert await user_count(app) == 1


async def test_concurrent_signups_differing_only_in_case_create_one_account(
    app: FastAPI,
) -> None:
    variants = ["race@example.com", "RACE@example.com", "Race@Example.com", "race@EXAMPLE.COM"]
    emails = variants[:MAX_HASHING_JOBS]  # at most what the hashing queue takes at once

    responses = await asyncio.gather(
        *(
            signup_from(app, f"198.51.100.{n + 1}", signup_body(email=email))
            for n, email in enumerate(emails)
        )
    )

    assert sorted(r.status_code for r in responses) == [201] + [409] * (len(emails) - 1)
    assert await user_count(app) == 1
