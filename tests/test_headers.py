"""§11 headers: every response, the documentation pages, the token responses."""

import httpx
import pytest

from tests.conftest import Account


@pytest.mark.parametrize("path", ["/health/live", "/products", "/no/such/path", "/docs"])
async def test_every_response_forbids_sniffing_and_referrers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_the_pages_cannot_be_framed(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_the_api_sends_no_page_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/products")

    assert "X-Frame-Options" not in response.headers


async def test_a_token_response_must_not_be_stored(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )

    assert response.headers["Cache-Control"] == "no-store"


async def test_a_form_login_response_must_not_be_stored(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.post(
        "/auth/token", data={"username": customer.email, "password": customer.password}
    )

    assert response.headers["Cache-Control"] == "no-store"


async def test_a_refresh_response_must_not_be_stored(
    client: httpx.AsyncClient, customer: Account
) -> None:
    login = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    response = await client.post(
        "/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
