"""Swagger UI and ReDoc load everything from the app itself: they work with no internet.

(The browser test in tests/e2e/ proves it end to end by recording every request a real
Chromium makes; these tests pin the HTML and the assets.)
"""

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.docs import ASSETS_DIR

ASSET_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
}


def referenced_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)


async def test_swagger_ui_page_loads_its_assets_from_the_app(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = referenced_urls(response.text)
    assert sorted(urls) == [
        "/docs-assets/favicon.png",
        "/docs-assets/swagger-ui-bundle.js",
        "/docs-assets/swagger-ui.css",
    ]
    assert "url: '/openapi.json'" in response.text


async def test_redoc_page_loads_its_assets_from_the_app_without_google_fonts(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/redoc")
    assert response.status_code == 200
    assert "fonts.googleapis.com" not in response.text
    assert sorted(referenced_urls(response.text)) == [
        "/docs-assets/favicon.png",
        "/docs-assets/redoc.standalone.js",
    ]
    assert 'spec-url="/openapi.json"' in response.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_name_no_other_origin(client: httpx.AsyncClient, page: str) -> None:
    html = (await client.get(page)).text
    assert "http://" not in html
    assert "https://" not in html


@pytest.mark.parametrize(
    "asset", ["swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"]
)
async def test_docs_assets_are_served(client: httpx.AsyncClient, asset: str) -> None:
    response = await client.get(f"/docs-assets/{asset}")
    assert response.status_code == 200
    suffix = asset[asset.rindex(".") :]
    assert response.headers["content-type"].startswith(ASSET_TYPES[suffix])
    assert len(response.content) > 1000
    assert "etag" in response.headers


async def test_redoc_bundle_fetches_no_logo_from_redoclys_cdn(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs-assets/redoc.standalone.js")
    assert b"cdn.redoc.ly" not in response.content
    assert b"API docs by Redocly" in response.content
    packaged = (ASSETS_DIR / "redoc.standalone.js").read_bytes()
    assert b"https://cdn.redoc.ly/redoc/logo-mini.svg" in packaged


async def test_redoc_bundle_is_revalidated_with_its_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/docs-assets/redoc.standalone.js")
    again = await client.get(
        "/docs-assets/redoc.standalone.js", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_swagger_ui_is_told_where_the_oauth2_redirect_page_is(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/docs")).text
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in html


async def test_oauth2_redirect_page_hands_the_result_back_to_swagger_ui(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "window.opener.swaggerUIRedirectOauth2" in response.text


async def test_docs_keep_the_token_across_reloads(client: httpx.AsyncClient) -> None:
    html = (await client.get("/docs")).text
    assert '"persistAuthorization": true' in html


async def test_docs_pages_are_not_operations_in_the_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]


@pytest.fixture
async def proxied_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app mounted under /api by a proxy that sets the ASGI root_path."""
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_docs_behind_a_proxy_prefix_point_at_the_prefixed_urls(
    proxied_client: httpx.AsyncClient,
) -> None:
    swagger = (await proxied_client.get("/api/docs")).text
    assert "/api/docs-assets/swagger-ui-bundle.js" in swagger
    assert "url: '/api/openapi.json'" in swagger
    assert "window.location.origin + '/api/docs/oauth2-redirect'" in swagger
    redoc = (await proxied_client.get("/api/redoc")).text
    assert 'spec-url="/api/openapi.json"' in redoc
    assert "/api/docs-assets/redoc.standalone.js" in redoc
