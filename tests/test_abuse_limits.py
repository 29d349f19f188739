"""Abuse limits (SPEC §11): `AUTH_RATE_LIMIT` per client address on each auth route, held
across instances; the failed-login throttle per email and address with a ten-times-higher
ceiling per email; the bounded hashing queue; the client address behind trusted proxies.
"""

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import bcrypt
import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import func, select

from app import limits
from app.auth_tables import AuthRateCounter
from app.config import ConfigError, Settings, load_settings
from app.main import create_app
from app.security import HASHING_THREADS, MAX_HASHING_JOBS, hashing_queue_is_full
from app.services.auth import EMAIL_CEILING_FACTOR
from app.tables import User
from tests.conftest import PASSWORD, Account, CreateUser, detail_of
from tests.live_server import live_server
from tests.schema_conformance import SchemaCheckedClient
from tests.test_auth_login import WRONG, BcryptGate

RATE = 3  # requests per minute to each auth route, in these tests
ONE_ADDRESS = "198.51.100.7"
ANOTHER_ADDRESS = "198.51.100.8"

Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


class FakeClock:
    """The limits' clock (Unix time), still in the middle of a minute unless a test moves
    it: a window that ended between two requests would make the tests flaky."""

    def __init__(self) -> None:
        self.now = 1_800_000_030.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(limits, "clock", fake)
    return fake


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"auth_rate_limit": f"{RATE}/minute"})


@asynccontextmanager
async def client_from(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from `address` (the peer uvicorn would see)."""
    async with SchemaCheckedClient(app, peer=(address, 40_000)) as http:
        yield http


def signup_body(number: int = 0) -> dict[str, str]:
    return {"name": "Nina", "email": f"nina{number}@example.com", "password": PASSWORD}


AUTH_REQUESTS: dict[str, Send] = {
    "signup": lambda c: c.post("/auth/signup", json={"name": "", "email": "x", "password": ""}),
    "login": lambda c: c.post("/auth/login", json={"email": "a@example.com", "password": WRONG}),
    "token": lambda c: c.post("/auth/token", data={"username": "a@example.com", "password": WRONG}),
    "refresh": lambda c: c.post("/auth/refresh", json={"refresh_token": "not.a.token"}),
}


def assert_rate_limited(response: httpx.Response, window_seconds: int = 60) -> None:
    assert response.status_code == 429, response.text
    assert 0 < int(response.headers["Retry-After"]) <= window_seconds
    assert "Too many requests" in detail_of(response)


# ---------------------------------------------------------------- AUTH_RATE_LIMIT


@pytest.mark.parametrize("send", AUTH_REQUESTS.values(), ids=AUTH_REQUESTS.keys())
async def test_each_auth_route_answers_429_with_retry_after_past_the_limit(
    app: FastAPI, send: Send
) -> None:
    async with client_from(app, ONE_ADDRESS) as client:
        allowed = [await send(client) for _ in range(RATE)]
        refused = await send(client)

    assert all(response.status_code != 429 for response in allowed)
    assert_rate_limited(refused)


async def test_a_request_past_the_limit_does_not_reach_the_route(app: FastAPI) -> None:
    async with client_from(app, ONE_ADDRESS) as client:
        for number in range(RATE):
            assert (await client.post("/auth/signup", json=signup_body(number))).status_code == 201
        refused = await client.post("/auth/signup", json=signup_body(RATE))

    assert_rate_limited(refused)
    async with app.state.db.read_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == RATE


async def test_each_client_address_has_a_limit_of_its_own(app: FastAPI) -> None:
    login = AUTH_REQUESTS["login"]
    async with client_from(app, ONE_ADDRESS) as one, client_from(app, ANOTHER_ADDRESS) as other:
        for _ in range(RATE):
            await login(one)
        refused = await login(one)
        served = await login(other)

    assert_rate_limited(refused)
    assert served.status_code == 401


async def test_each_auth_route_has_a_limit_of_its_own(app: FastAPI) -> None:
    async with client_from(app, ONE_ADDRESS) as client:
        for _ in range(RATE):
            await AUTH_REQUESTS["login"](client)
        signup = await client.post("/auth/signup", json=signup_body())

    assert signup.status_code == 201


async def test_the_limit_holds_across_instances_sharing_the_database(
    app: FastAPI, settings: Settings
) -> None:
    """Two app instances (as two workers or two machines) on one database share the count."""
    second = create_app(settings)
    login = AUTH_REQUESTS["login"]
    try:
        async with client_from(app, ONE_ADDRESS) as one, client_from(second, ONE_ADDRESS) as two:
            for client in (one, two, one)[:RATE]:
                assert (await login(client)).status_code == 401
            refused = [await login(two), await login(one)]
    finally:
        await second.state.db.dispose()

    for response in refused:
        assert_rate_limited(response)


async def test_concurrent_requests_are_each_counted(app: FastAPI) -> None:
    login = AUTH_REQUESTS["login"]
    async with client_from(app, ONE_ADDRESS) as client:
        responses = await asyncio.gather(*(login(client) for _ in range(RATE * 3)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * RATE + [429] * (RATE * 2)


async def test_the_count_starts_again_in_the_next_window(app: FastAPI, clock: FakeClock) -> None:
    login = AUTH_REQUESTS["login"]
    async with client_from(app, ONE_ADDRESS) as client:
        for _ in range(RATE):
            await login(client)
        assert_rate_limited(await login(client))
        clock.now += 60
        next_window = await login(client)

    assert next_window.status_code == 401


async def test_a_request_in_a_new_window_leaves_ended_windows_to_the_purge(
    app: FastAPI, clock: FakeClock
) -> None:
    async with client_from(app, ONE_ADDRESS) as one, client_from(app, ANOTHER_ADDRESS) as other:
        await AUTH_REQUESTS["login"](one)
        await AUTH_REQUESTS["refresh"](one)
        clock.now += 120
        await AUTH_REQUESTS["login"](other)

    async with app.state.db.read_sessions() as session:
        counters = (await session.scalars(select(AuthRateCounter))).all()
    assert sorted((c.route, c.client_address) for c in counters) == [
        ("/auth/login", ONE_ADDRESS),
        ("/auth/login", ANOTHER_ADDRESS),
        ("/auth/refresh", ONE_ADDRESS),
    ]


async def test_a_malformed_rate_is_a_config_error_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="AUTH_RATE_LIMIT"):
        load_settings(_env_file=None, secret_key="k" * 40, auth_rate_limit="many")


# ---------------------------------------------------------------- the failed-login throttle


@pytest.fixture
def settings_with_room(settings: Settings) -> Settings:
    """Enough requests per address for the throttle to be what stops a client."""
    return settings.model_copy(update={"auth_rate_limit": "1000/minute", "login_max_failures": 3})


@pytest.fixture
async def throttle_app(settings_with_room: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings_with_room)
    yield application
    await application.state.db.dispose()


async def fail_from(app: FastAPI, address: str, email: str, times: int) -> None:
    async with client_from(app, address) as client:
        for _ in range(times):
            response = await client.post("/auth/login", json={"email": email, "password": WRONG})
            assert response.status_code == 401, response.text


async def log_in_from(app: FastAPI, address: str, account: Account) -> httpx.Response:
    async with client_from(app, address) as client:
        return await client.post(
            "/auth/login", json={"email": account.email, "password": account.password}
        )


async def test_failed_logins_lock_the_email_out_for_the_address_they_came_from(
    app: FastAPI, throttle_app: FastAPI, customer: Account
) -> None:
    await fail_from(throttle_app, ONE_ADDRESS, customer.email, 3)

    locked = await log_in_from(throttle_app, ONE_ADDRESS, customer)

    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "failed logins" in detail_of(locked)


async def test_failed_logins_from_one_address_do_not_lock_the_owner_out_elsewhere(
    app: FastAPI, throttle_app: FastAPI, customer: Account
) -> None:
    await fail_from(throttle_app, ONE_ADDRESS, customer.email, 3)

    owner = await log_in_from(throttle_app, ANOTHER_ADDRESS, customer)

    assert owner.status_code == 200, owner.text


async def test_a_login_clears_only_the_failures_of_its_own_address(
    app: FastAPI, throttle_app: FastAPI, customer: Account
) -> None:
    await fail_from(throttle_app, ONE_ADDRESS, customer.email, 3)

    owner = await log_in_from(throttle_app, ANOTHER_ADDRESS, customer)
    attacker = await log_in_from(throttle_app, ONE_ADDRESS, customer)

    assert owner.status_code == 200
    assert attacker.status_code == 429


async def test_failures_from_many_addresses_lock_the_email_at_ten_times_the_limit(
    app: FastAPI, throttle_app: FastAPI, customer: Account
) -> None:
    """3 failures allowed per address: 2 from each of 15 addresses reach the ceiling of 30
    without any address reaching its own limit."""
    ceiling = 3 * EMAIL_CEILING_FACTOR
    for number in range(ceiling // 2):
        await fail_from(throttle_app, f"203.0.113.{number + 1}", customer.email, 2)

    locked = await log_in_from(throttle_app, "192.0.2.200", customer)

    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0


async def test_below_the_ceiling_a_fresh_address_still_logs_in(
    app: FastAPI, throttle_app: FastAPI, customer: Account
) -> None:
    ceiling = 3 * EMAIL_CEILING_FACTOR
    for number in range(ceiling // 2 - 1):
        await fail_from(throttle_app, f"203.0.113.{number + 1}", customer.email, 2)

    owner = await log_in_from(throttle_app, "192.0.2.200", customer)

    assert owner.status_code == 200, owner.text


# ---------------------------------------------------------------- the bounded hashing queue


@pytest.fixture
def gated_bcrypt(monkeypatch: pytest.MonkeyPatch) -> Iterator[BcryptGate]:
    gate = BcryptGate()
    monkeypatch.setattr(bcrypt, "checkpw", gate.checkpw)
    yield gate
    gate.release.set()


@pytest.fixture
async def full_hashing_queue(
    throttle_app: FastAPI, gated_bcrypt: BcryptGate, create_user: CreateUser
) -> AsyncIterator[list[asyncio.Task[httpx.Response]]]:
    """Logins holding every place of the hashing queue (their checks held by the gate)."""
    users = [await create_user(log_in=False) for _ in range(MAX_HASHING_JOBS)]
    logins = [
        asyncio.create_task(log_in_from(throttle_app, f"203.0.113.{n + 1}", user))
        for n, user in enumerate(users)
    ]
    await wait_until(lambda: len(gated_bcrypt.threads) > 0 and hashing_queue_is_full())
    yield logins
    gated_bcrypt.release.set()
    await asyncio.gather(*logins)


async def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not come true in time")


async def test_a_login_past_the_full_hashing_queue_is_503_at_once(
    throttle_app: FastAPI,
    customer: Account,
    full_hashing_queue: list[asyncio.Task[httpx.Response]],
) -> None:
    turned_away = await log_in_from(throttle_app, ANOTHER_ADDRESS, customer)

    assert turned_away.status_code == 503
    assert int(turned_away.headers["Retry-After"]) > 0
    assert not any(login.done() for login in full_hashing_queue)


async def test_a_signup_past_the_full_hashing_queue_is_503_at_once(
    throttle_app: FastAPI, full_hashing_queue: list[asyncio.Task[httpx.Response]]
) -> None:
    async with client_from(throttle_app, ANOTHER_ADDRESS) as client:
        turned_away = await client.post("/auth/signup", json=signup_body())

    assert turned_away.status_code == 503
    assert int(turned_away.headers["Retry-After"]) > 0


async def test_a_login_turned_away_by_the_full_queue_is_not_a_failed_login(
    throttle_app: FastAPI,
    customer: Account,
    gated_bcrypt: BcryptGate,
    full_hashing_queue: list[asyncio.Task[httpx.Response]],
) -> None:
    for _ in range(5):
        assert (await log_in_from(throttle_app, ANOTHER_ADDRESS, customer)).status_code == 503
    gated_bcrypt.release.set()
    await asyncio.gather(*full_hashing_queue)

    owner = await log_in_from(throttle_app, ANOTHER_ADDRESS, customer)

    assert owner.status_code == 200, owner.text


async def test_one_address_holds_at_most_its_share_of_the_hashing_queue(
    throttle_app: FastAPI, gated_bcrypt: BcryptGate, create_user: CreateUser
) -> None:
    users = [await create_user(log_in=False) for _ in range(HASHING_THREADS + 2)]
    held = [
        asyncio.create_task(log_in_from(throttle_app, ONE_ADDRESS, user))
        for user in users[:HASHING_THREADS]
    ]
    await wait_until(lambda: len(gated_bcrypt.threads) == HASHING_THREADS)

    same_address = await log_in_from(throttle_app, ONE_ADDRESS, users[-2])
    other_address = asyncio.create_task(log_in_from(throttle_app, ANOTHER_ADDRESS, users[-1]))
    await asyncio.sleep(0.2)
    assert not other_address.done()
    gated_bcrypt.release.set()

    assert same_address.status_code == 503
    assert (await other_address).status_code == 200
    assert [response.status_code for response in await asyncio.gather(*held)] == [200] * len(held)


async def test_the_metrics_show_the_hashes_queued_and_their_end(
    throttle_app: FastAPI,
    gated_bcrypt: BcryptGate,
    full_hashing_queue: list[asyncio.Task[httpx.Response]],
) -> None:
    async with client_from(throttle_app, ANOTHER_ADDRESS) as client:
        assert queued_hashes((await client.get("/metrics")).text) == MAX_HASHING_JOBS
        gated_bcrypt.release.set()
        await asyncio.gather(*full_hashing_queue)
        assert queued_hashes((await client.get("/metrics")).text) == 0


def queued_hashes(exposition: str) -> float:
    (line,) = [
        line for line in exposition.splitlines() if line.startswith("password_hashes_queued ")
    ]
    return float(line.split()[1])


async def test_the_queued_logins_finish_once_the_checks_run(
    throttle_app: FastAPI,
    gated_bcrypt: BcryptGate,
    full_hashing_queue: list[asyncio.Task[httpx.Response]],
) -> None:
    gated_bcrypt.release.set()

    statuses = [response.status_code for response in await asyncio.gather(*full_hashing_queue)]

    assert statuses == [200] * MAX_HASHING_JOBS


# ---------------------------------------------------------------- behind a proxy, for real


@pytest.fixture
def live_workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="orders-limits-") as workdir:
        yield Path(workdir)


def signups(base_url: str, forwarded_for: list[str]) -> list[int]:
    """One bad signup (422: nothing to hash) per `X-Forwarded-For` value; the statuses."""
    return [
        httpx.post(
            f"{base_url}/auth/signup",
            json={"name": "", "email": "x", "password": ""},
            headers={"X-Forwarded-For": address},
        ).status_code
        for address in forwarded_for
    ]


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(
    live_workdir: Path,
) -> None:
    """The server's peer is 127.0.0.1, the default of FORWARDED_ALLOW_IPS."""
    url = f"sqlite+aiosqlite:///{live_workdir / 'limits.db'}"
    with live_server(url, live_workdir, AUTH_RATE_LIMIT="2/minute") as server:
        one = signups(server.base_url, [ONE_ADDRESS] * 3)
        other = signups(server.base_url, [f"10.1.2.3, {ANOTHER_ADDRESS}"])

    assert one == [422, 422, 429]
    assert other == [422]


def test_x_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(
    live_workdir: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{live_workdir / 'limits.db'}"
    with live_server(
        url, live_workdir, AUTH_RATE_LIMIT="2/minute", FORWARDED_ALLOW_IPS="192.0.2.1"
    ) as server:
        statuses = signups(server.base_url, [ONE_ADDRESS, ANOTHER_ADDRESS, "203.0.113.9"])

    assert statuses == [422, 422, 429]
