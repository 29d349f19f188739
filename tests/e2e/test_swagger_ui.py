"""A person on /docs: Authorize with email and password, then try protected routes.

Runs Chromium against `python -m app serve`. Each test also proves that the page works with
no internet: every request it made went to the app itself.
"""

import json
import re
from typing import Any

import pytest
from playwright.async_api import Locator, expect

from tests.e2e.conftest import ARTIFACTS, BrowserSession, Customer, LiveApp

# The tests share the module's Chromium, so they run on the module's event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

STATUS_CODE = re.compile(r"^\s*\d{3}\s*$")


async def open_docs(session: BrowserSession) -> None:
    await session.page.goto("/docs")
    await expect(session.page.locator(".swagger-ui .info .title")).to_contain_text("Orders API")


async def authorize(session: BrowserSession, customer: Customer) -> None:
    """Swagger's Authorize dialog: the OAuth2 password flow against /auth/token."""
    page = session.page
    await page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    await expect(dialog).to_be_visible()
    await dialog.locator("#oauth_username").fill(customer.email)
    await dialog.locator("#oauth_password").fill(customer.password)
    await dialog.locator(".auth-btn-wrapper button.authorize").click()
    # Once logged in, the dialog offers "Logout" in place of "Authorize".
    await expect(dialog.locator(".auth-btn-wrapper button.btn-done")).to_be_visible()
    await expect(dialog.locator(".auth-btn-wrapper button", has_text="Logout")).to_be_visible()
    await dialog.locator(".auth-btn-wrapper button.btn-done").click()
    await expect(dialog).to_be_hidden()


async def try_it_out(
    session: BrowserSession, tag: str, operation_id: str, body: dict[str, Any] | None = None
) -> tuple[Locator, int, Any]:
    """Expand the operation, "Try it out", optionally type a body, "Execute"; the operation's
    block, and the status and JSON body that the page shows."""
    block = session.page.locator(f"#operations-{tag}-{operation_id}")
    await block.locator(".opblock-summary").first.click()
    await block.locator("button.try-out__btn").click()
    if body is not None:
        await block.locator("textarea.body-param__text").fill(json.dumps(body))
    await block.locator("button.execute").click()
    response = block.locator(".live-responses-table .response")
    await expect(response.locator(".response-col_status")).to_have_text(STATUS_CODE)
    status = int((await response.locator(".response-col_status").inner_text()).strip())
    shown = await response.locator(".response-col_description pre.microlight").first.inner_text()
    await block.scroll_into_view_if_needed()
    return block, status, json.loads(shown)


async def test_authorized_docs_show_the_logged_in_user(
    session: BrowserSession, live_app: LiveApp
) -> None:
    await open_docs(session)
    await authorize(session, live_app.customer)

    block, status, shown = await try_it_out(session, "users", "read_me")

    assert status == 200
    assert shown["email"] == live_app.customer.email
    assert shown["is_admin"] is False
    ARTIFACTS.mkdir(exist_ok=True)
    await block.screenshot(path=ARTIFACTS / "users-me-authorized.png")
    token_requests = [r for r in session.requests if r.url == f"{session.origin}/auth/token"]
    assert [r.method for r in token_requests] == ["POST"]
    [me_request] = [r for r in session.requests if r.url == f"{session.origin}/users/me"]
    assert (await me_request.all_headers())["authorization"].startswith("Bearer ")
    assert session.off_machine() == []


async def test_authorized_docs_open_an_order(session: BrowserSession, live_app: LiveApp) -> None:
    await open_docs(session)
    await authorize(session, live_app.customer)

    body = {"items": [{"product_id": live_app.product_id, "quantity": 2}]}
    block, status, shown = await try_it_out(session, "orders", "create_order", body)

    assert status == 201
    assert shown["status"] == "pending"
    assert shown["total_cents"] == 2 * live_app.product_price_cents
    assert [(item["product_name"], item["quantity"]) for item in shown["items"]] == [
        (live_app.product_name, 2)
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    await block.screenshot(path=ARTIFACTS / "create-order-authorized.png")
    assert session.off_machine() == []


async def test_protected_route_without_authorize_shows_401(
    session: BrowserSession, live_app: LiveApp
) -> None:
    await open_docs(session)

    _, status, shown = await try_it_out(session, "users", "read_me")

    assert status == 401
    assert shown == {"detail": "Not authenticated"}


async def test_redoc_renders_with_no_request_off_the_machine(
    session: BrowserSession, live_app: LiveApp
) -> None:
    await session.page.goto("/redoc")
    await expect(session.page.locator("h1").first).to_contain_text("Orders API")
    operation = session.page.get_by_role("heading", name="Log in with email and password")
    await expect(operation).to_be_visible()

    assert f"{session.origin}/openapi.json" in session.urls()
    assert session.off_machine() == []
