"""§11: a 422 never echoes a secret, whatever shape the body comes in."""

import httpx
import pytest

SECRET = "hunter2-very-secret-password"
REFRESH = "eyJhbGciOiJIUzI1NiJ9.refresh.token-value"


@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh", "/auth/signup"])
async def test_a_text_body_is_not_echoed(client: httpx.AsyncClient, path: str) -> None:
    body = f'{{"email": "a@example.com", "password": "{SECRET}", "refresh_token": "{REFRESH}"}}'

    response = await client.post(path, content=body, headers={"Content-Type": "text/plain"})

    assert response.status_code == 422
    assert SECRET not in response.text
    assert REFRESH not in response.text


async def test_a_json_string_body_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json=f"password={SECRET}")

    assert response.status_code == 422
    assert SECRET not in response.text


async def test_a_list_body_holding_a_password_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json=[{"password": SECRET}])

    assert response.status_code == 422
    assert SECRET not in response.text


async def test_a_password_of_the_wrong_type_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", json={"email": "not an email", "password": [SECRET]}
    )

    assert response.status_code == 422
    assert SECRET not in response.text


async def test_a_form_password_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token", data={"username": "x", "password": SECRET, "grant_type": "other"}
    )

    assert response.status_code == 422
    assert SECRET not in response.text


async def test_the_422_still_says_what_is_wrong_with_a_text_body(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/auth/login", content="x", headers={"Content-Type": "text/plain"})

    [error] = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert error["input"] == "(hidden)"
