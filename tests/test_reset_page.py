"""The page a reset link opens: the app's own HTML, script and style, safe to serve."""

import re

import httpx

CSP = "Content-Security-Policy"


async def test_the_reset_page_is_html_with_a_password_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/reset-password", params={"token": "abc"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'type="password"' in response.text


async def test_the_reset_page_may_not_be_framed(client: httpx.AsyncClient) -> None:
    response = await client.get("/reset-password")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers[CSP]


async def test_the_reset_page_allows_scripts_from_the_app_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/reset-password")

    directives = dict(
        directive.strip().split(" ", 1) for directive in response.headers[CSP].split(";")
    )
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "<script>" not in response.text  # nothing inline: the CSP would block it


async def test_the_reset_page_is_never_cached(client: httpx.AsyncClient) -> None:
    response = await client.get("/reset-password", params={"token": "abc"})

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_the_reset_page_loads_nothing_from_another_origin(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/reset-password")).text

    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)


async def test_the_reset_pages_script_and_style_are_served_by_the_app(
    client: httpx.AsyncClient,
) -> None:
    script = await client.get("/reset-password/script.js")
    style = await client.get("/reset-password/style.css")

    assert script.status_code == style.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/auth/password-reset/confirm" in "/" + script.text.split('fetch("')[1].split('"')[0]
    assert style.headers["content-type"].startswith("text/css")


async def test_the_reset_page_is_not_in_the_api_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert not [path for path in paths if path.startswith("/reset-password")]
