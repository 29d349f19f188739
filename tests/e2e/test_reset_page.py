"""A person who forgot their password: the reset mail arrives, its link opens the reset
page in Chromium, they choose a new password there and log in with it.

The server sends its mail over SMTP to a real server started here (aiosmtpd); the link is
read from the mail it received. Every request the page made went to the app itself.
"""

from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.conftest import PASSWORD, BrowserSession, Customer, LiveApp
from tests.live_server import free_port, live_server
from tests.mail_server import SMTPServer, smtp_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

NEW_PASSWORD = "quattro-formaggi-and-basil"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTPServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory, smtp: SMTPServer) -> Iterator[LiveApp]:
    """The app served by `python -m app serve`, mailing through the test's SMTP server,
    with reset links that point at its own reset page."""
    workdir = tmp_path_factory.mktemp("e2e-reset")
    port = free_port()
    with live_server(
        f"sqlite+aiosqlite:///{workdir / 'e2e.db'}",
        workdir,
        port=port,
        SMTP_HOST=smtp.host,
        SMTP_PORT=str(smtp.port),
        SMTP_SECURITY="none",
        PASSWORD_RESET_URL=f"http://127.0.0.1:{port}/reset-password",
    ) as server:
        yield LiveApp(
            server, Customer("", ""), product_id=0, product_name="", product_price_cents=0
        )


def sign_up(live_app: LiveApp, email: str) -> Customer:
    with httpx.Client(base_url=live_app.server.base_url) as http:
        response = http.post(
            "/auth/signup", json={"name": "Carla", "email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
    return Customer(email, PASSWORD)


async def mailed_link(live_app: LiveApp, smtp: SMTPServer, email: str) -> str:
    async with httpx.AsyncClient(base_url=live_app.server.base_url) as http:
        response = await http.post("/auth/password-reset", json={"email": email})
        assert response.status_code == 202
    [mail] = await smtp.mailbox.wait_for_async(email)
    return mail.reset_link()


async def choose_password(session: BrowserSession, link: str, password: str) -> None:
    await session.page.goto(link)
    await session.page.get_by_label("New password").fill(password)
    await session.page.get_by_role("button", name="Set the new password").click()


async def test_a_reset_link_from_the_mail_sets_a_new_password_in_the_browser(
    session: BrowserSession, live_app: LiveApp, smtp: SMTPServer
) -> None:
    customer = sign_up(live_app, "forgetful@example.com")
    link = await mailed_link(live_app, smtp, customer.email)
    assert link.startswith(f"{session.origin}/reset-password?token=")

    await choose_password(session, link, NEW_PASSWORD)

    await expect(session.page.locator("#message")).to_have_text(
        "Your password has been changed. You can now log in with it."
    )
    async with httpx.AsyncClient(base_url=live_app.server.base_url) as http:
        login = await http.post(
            "/auth/login", json={"email": customer.email, "password": NEW_PASSWORD}
        )
    assert login.status_code == 200
    assert session.off_machine() == []


async def test_a_spent_link_says_it_is_invalid(
    session: BrowserSession, live_app: LiveApp, smtp: SMTPServer
) -> None:
    customer = sign_up(live_app, "twice@example.com")
    link = await mailed_link(live_app, smtp, customer.email)
    await choose_password(session, link, NEW_PASSWORD)
    await expect(session.page.locator("#message")).to_contain_text("has been changed")

    await choose_password(session, link, "another-new-password")

    await expect(session.page.locator("#message")).to_contain_text("invalid or has expired")


async def test_a_too_short_password_is_explained_before_anything_is_sent(
    session: BrowserSession, live_app: LiveApp
) -> None:
    await choose_password(session, f"{session.origin}/reset-password?token=abc", "short")

    await expect(session.page.locator("#message")).to_contain_text("too short")
    confirms = [url for url in session.urls() if url.endswith("/auth/password-reset/confirm")]
    assert confirms == []


async def test_a_link_without_a_token_says_so(session: BrowserSession) -> None:
    await session.page.goto("/reset-password")

    await expect(session.page.locator("#message")).to_contain_text("no token")
    await expect(session.page.locator("form")).to_be_hidden()
