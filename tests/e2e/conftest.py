"""A real server and Debian's Chromium, driven by Playwright.

The browser is `/usr/bin/chromium` (Playwright cannot download browsers here). Without it
these tests fail, they never skip: `make test` installs it when run as root. Every request
the browser makes is recorded, and any that would leave the machine is aborted, so a test
can assert that the docs work with the network cable pulled. A failing test leaves a
full-page screenshot in `tests/e2e/artifacts/`.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Request, async_playwright, expect

from tests.live_server import LiveServer, live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
# Upper bounds, not waits: a loaded 2-core CI machine can take seconds to render the docs.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)
PASSWORD = "pepperoni-and-basil"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell that a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@dataclass(frozen=True)
class Customer:
    email: str
    password: str


@dataclass
class LiveApp:
    server: LiveServer
    customer: Customer
    product_id: int
    product_name: str
    product_price_cents: int


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app served by `python -m app serve` on a fresh SQLite file, with the demo menu
    and a customer who signed up through the API."""
    workdir = tmp_path_factory.mktemp("e2e")
    with live_server(f"sqlite+aiosqlite:///{workdir / 'e2e.db'}", workdir) as server:
        server.cli("seed-demo")
        with httpx.Client(base_url=server.base_url) as http:
            customer = Customer(email="carla@example.com", password=PASSWORD)
            signup = http.post(
                "/auth/signup",
                json={"name": "Carla", "email": customer.email, "password": customer.password},
            )
            assert signup.status_code == 201, signup.text
            menu = http.get("/products").json()["data"]
        product = menu[0]
        yield LiveApp(server, customer, product["id"], product["name"], product["price_cents"])


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; its absence fails the browser tests instead of skipping them."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium`"
            " (`make test` does so when run as root)"
        )
    return CHROMIUM


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """One Chromium for the module (tests get a fresh context each, so nothing is shared)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@dataclass
class BrowserSession:
    """A page on the live app, and every request made from it."""

    page: Page
    origin: str
    requests: list[Request] = field(default_factory=list)

    def record(self, request: Request) -> None:
        self.requests.append(request)

    def urls(self) -> list[str]:
        return [request.url for request in self.requests]

    def off_machine(self) -> list[str]:
        """Requests to anywhere but the app (inline `data:` images never touch the network)."""
        return [
            url for url in self.urls() if not url.startswith((f"{self.origin}/", "data:", "blob:"))
        ]


@pytest_asyncio.fixture(loop_scope="module")
async def session(
    browser: Browser, live_app: LiveApp, request: pytest.FixtureRequest
) -> AsyncIterator[BrowserSession]:
    origin = live_app.server.base_url
    context = await browser.new_context(base_url=origin, viewport={"width": 1280, "height": 1400})
    context.set_default_timeout(TIMEOUT_MS)
    session = BrowserSession(page=await context.new_page(), origin=origin)
    context.on("request", session.record)
    # Pull the cable: anything bound for another origin is refused (and still recorded).
    await context.route(lambda url: not url.startswith(f"{origin}/"), lambda route: route.abort())
    yield session
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        await session.page.screenshot(
            path=ARTIFACTS / f"failure-{request.node.name}.png", full_page=True
        )
    await context.close()
