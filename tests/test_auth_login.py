"""POST /auth/login and /auth/token: credentials, inactive accounts and the login throttle."""

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import bcrypt
import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.auth_tables import LoginFailure
from app.config import Settings
from app.main import create_app
from app.security import HASHING_THREADS
from app.timestamps import utcnow
from tests.conftest import PASSWORD, TEST_SECRET_KEY, Account, CreateUser, detail_of

INCORRECT = "Incorrect email or password"
WRONG = "not the password"


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def log_in_form(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/auth/token", data={"username": username, "password": password})


async def fail_logins(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        response = await log_in(client, email, WRONG)
        assert response.status_code == 401, response.text


async def failure_count(app: FastAPI, email: str) -> int:
    async with app.state.db.read_sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(LoginFailure).where(col(LoginFailure.email) == email)
        )
        return count or 0


async def age_failures(app: FastAPI, email: str, by: timedelta) -> None:
    """Move this email's recorded failures into the past, as if time had passed."""
    async with app.state.db.write_sessions() as session:
        failures = await session.scalars(
            select(LoginFailure).where(col(LoginFailure.email) == email)
        )
        for failure in failures:
            failure.created_at = failure.created_at - by
        await session.commit()


# ---------------------------------------------------------------- the token pair


async def test_login_returns_a_bearer_token_pair(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(email="carla@example.com", log_in=False)

    response = await log_in(client, user.email, user.password)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] != body["refresh_token"]


async def test_login_tokens_name_the_user_and_their_type(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)

    body = (await log_in(client, user.email, user.password)).json()

    access = jwt.decode(body["access_token"], TEST_SECRET_KEY, algorithms=["HS256"])
    refresh = jwt.decode(body["refresh_token"], TEST_SECRET_KEY, algorithms=["HS256"])
    assert (access["sub"], access["type"]) == (str(user.id), "access")
    assert (refresh["sub"], refresh["type"]) == (str(user.id), "refresh")
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


async def test_login_access_token_opens_protected_routes(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)
    token = (await log_in(client, user.email, user.password)).json()["access_token"]

    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["id"] == user.id


async def test_login_matches_the_email_case_insensitively(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(email="carla@example.com", log_in=False)

    response = await log_in(client, "Carla@EXAMPLE.com", user.password)

    assert response.status_code == 200, response.text


# ---------------------------------------------------------------- failures


async def test_login_with_an_unknown_email_is_401(client: httpx.AsyncClient) -> None:
    response = await log_in(client, "nobody@example.com", PASSWORD)

    assert response.status_code == 401
    assert detail_of(response) == INCORRECT
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_login_with_a_wrong_password_is_401_with_the_same_detail(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)

    wrong_password = await log_in(client, user.email, WRONG)
    unknown_email = await log_in(client, "nobody@example.com", WRONG)

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json() == {"detail": INCORRECT}


async def test_login_with_a_password_that_only_shares_the_first_72_bytes_is_401(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    """bcrypt reads 72 bytes; a longer password must not log in by its prefix."""
    user = await create_user(password="p" * 72, log_in=False)

    response = await log_in(client, user.email, "p" * 72 + "suffix")

    assert response.status_code == 401
    assert detail_of(response) == INCORRECT


async def test_login_of_a_deactivated_user_with_the_right_password_is_403(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(is_active=False, log_in=False)

    response = await log_in(client, user.email, user.password)

    assert response.status_code == 403
    assert detail_of(response) == "This account is deactivated"


async def test_login_of_a_deactivated_user_with_a_wrong_password_is_401(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    """Whether an account is deactivated is only told to someone who knows its password."""
    user = await create_user(is_active=False, log_in=False)

    response = await log_in(client, user.email, WRONG)

    assert response.status_code == 401
    assert detail_of(response) == INCORRECT


@pytest.mark.parametrize(
    "body",
    [
        {"email": "carla@example.com", "password": PASSWORD, "remember": True},
        {"email": "carla@example.com"},
        {"password": PASSWORD},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "carla@example.com", "password": "nul\x00byte"},
    ],
    ids=["unknown-field", "no-password", "no-email", "bad-email", "nul-password"],
)
async def test_login_rejects_a_malformed_body(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/auth/login", json=body)

    assert response.status_code == 422


# ---------------------------------------------------------------- the throttle


async def test_five_failed_logins_lock_the_email_with_429_and_retry_after(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 5)

    response = await log_in(client, user.email, WRONG)

    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert f"{retry_after} seconds" in detail_of(response)


async def test_four_failed_logins_do_not_lock_the_email(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 4)

    response = await log_in(client, user.email, user.password)

    assert response.status_code == 200


async def test_a_locked_email_is_refused_even_with_the_right_password(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 5)

    response = await log_in(client, user.email, user.password)

    assert response.status_code == 429
    assert "Retry-After" in response.headers


async def test_the_throttle_also_locks_unknown_emails(client: httpx.AsyncClient) -> None:
    await fail_logins(client, "nobody@example.com", 5)

    response = await log_in(client, "nobody@example.com", WRONG)

    assert response.status_code == 429


async def test_the_throttle_is_per_email(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    locked = await create_user(log_in=False)
    other = await create_user(log_in=False)
    await fail_logins(client, locked.email, 5)

    response = await log_in(client, other.email, other.password)

    assert response.status_code == 200


async def test_the_throttle_ignores_the_case_of_the_email(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(email="carla@example.com", log_in=False)
    await fail_logins(client, "CARLA@example.com", 5)

    response = await log_in(client, "carla@example.com", user.password)

    assert response.status_code == 429


async def test_a_successful_login_resets_the_failure_count(
    client: httpx.AsyncClient, create_user: CreateUser, app: FastAPI
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 4)
    assert (await log_in(client, user.email, user.password)).status_code == 200
    await fail_logins(client, user.email, 4)

    response = await log_in(client, user.email, user.password)

    assert response.status_code == 200
    assert await failure_count(app, user.email) == 0


async def test_refused_attempts_while_locked_do_not_extend_the_lock(
    client: httpx.AsyncClient, create_user: CreateUser, app: FastAPI
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 5)

    for _ in range(3):
        assert (await log_in(client, user.email, WRONG)).status_code == 429

    assert await failure_count(app, user.email) == 5


async def test_the_lock_lifts_once_the_window_has_passed(
    client: httpx.AsyncClient, create_user: CreateUser, app: FastAPI
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 5)
    await age_failures(app, user.email, by=timedelta(minutes=15, seconds=1))

    response = await log_in(client, user.email, user.password)

    assert response.status_code == 200


async def test_retry_after_counts_down_to_the_end_of_the_window(
    client: httpx.AsyncClient, create_user: CreateUser, app: FastAPI
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 5)
    await age_failures(app, user.email, by=timedelta(minutes=10))

    response = await log_in(client, user.email, user.password)

    assert response.status_code == 429
    # Five minutes of the window are left; allow for the seconds this test itself takes.
    assert 240 <= int(response.headers["Retry-After"]) <= 300


async def test_failures_older_than_the_window_do_not_count(
    client: httpx.AsyncClient, create_user: CreateUser, app: FastAPI
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 4)
    await age_failures(app, user.email, by=timedelta(minutes=16))
    await fail_logins(client, user.email, 4)

    response = await log_in(client, user.email, user.password)

    assert response.status_code == 200


async def test_a_new_failure_forgets_failures_older_than_the_window(
    client: httpx.AsyncClient, create_user: CreateUser, app: FastAPI
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 3)
    await age_failures(app, user.email, by=timedelta(minutes=16))

    await fail_logins(client, user.email, 1)

    assert await failure_count(app, user.email) == 1


async def test_any_login_forgets_other_emails_failures_older_than_the_window(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await fail_logins(client, "once@example.com", 2)
    await age_failures(app, "once@example.com", by=timedelta(minutes=16))

    await fail_logins(client, "someone-else@example.com", 1)

    assert await failure_count(app, "once@example.com") == 0


async def test_the_throttle_follows_the_login_settings(
    settings: Settings, create_user: CreateUser, app: FastAPI
) -> None:
    strict = settings.model_copy(
        update={"login_max_failures": 2, "login_failure_window_minutes": 1}
    )
    strict_app = create_app(strict)
    user = await create_user(log_in=False)
    transport = httpx.ASGITransport(app=strict_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await fail_logins(client, user.email, 2)
        locked = await log_in(client, user.email, user.password)
    await strict_app.state.db.dispose()

    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 60


# ---------------------------------------------------------------- the OAuth2 form


async def test_token_form_returns_a_bearer_token_pair(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)

    response = await log_in_form(client, user.email, user.password)

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"
    assert response.json()["expires_in"] == 900


async def test_token_form_with_a_wrong_password_is_401(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)

    response = await log_in_form(client, user.email, WRONG)

    assert response.status_code == 401
    assert detail_of(response) == INCORRECT
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_token_form_with_an_unknown_email_is_401(client: httpx.AsyncClient) -> None:
    response = await log_in_form(client, "nobody@example.com", WRONG)

    assert response.status_code == 401
    assert detail_of(response) == INCORRECT


async def test_token_form_of_a_deactivated_user_is_403(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(is_active=False, log_in=False)

    response = await log_in_form(client, user.email, user.password)

    assert response.status_code == 403


async def test_token_form_shares_the_throttle_with_json_login(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)
    await fail_logins(client, user.email, 5)

    response = await log_in_form(client, user.email, user.password)

    assert response.status_code == 429
    assert "Retry-After" in response.headers


async def test_token_form_with_an_invalid_username_is_422(client: httpx.AsyncClient) -> None:
    response = await log_in_form(client, "not-an-email", PASSWORD)

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "username"]


async def test_token_form_with_a_nul_in_the_password_is_422(client: httpx.AsyncClient) -> None:
    response = await log_in_form(client, "carla@example.com", "nul\x00byte")

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "password"]


async def test_token_form_without_a_password_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/token", data={"username": "carla@example.com"})

    assert response.status_code == 422


async def test_token_form_refuses_a_json_body(
    client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(log_in=False)

    response = await client.post(
        "/auth/token", json={"username": user.email, "password": user.password}
    )

    assert response.status_code == 422


# ---------------------------------------------------------------- hashing off the event loop


@pytest.fixture
def gated_bcrypt(monkeypatch: pytest.MonkeyPatch) -> Iterator["BcryptGate"]:
    gate = BcryptGate()
    monkeypatch.setattr(bcrypt, "checkpw", gate.checkpw)
    yield gate
    gate.release.set()


class BcryptGate:
    """Holds every password check until released, noting which threads ran them."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.threads: list[threading.Thread] = []
        self.on_enter: Callable[[], object] = lambda: None
        self._checkpw = bcrypt.checkpw

    def checkpw(self, password: bytes, hashed: bytes) -> bool:
        self.threads.append(threading.current_thread())
        self.entered.release()
        self.on_enter()
        # A bounded wait: were this on the event loop, the test fails instead of hanging.
        self.release.wait(timeout=5)
        return self._checkpw(password, hashed)


async def test_a_get_is_served_while_logins_are_hashing_passwords(
    client: httpx.AsyncClient, create_user: CreateUser, gated_bcrypt: BcryptGate
) -> None:
    # As many logins as there are hashing threads: a further one would wait for a thread.
    users: list[Account] = [await create_user(log_in=False) for _ in range(HASHING_THREADS)]
    logins = [asyncio.create_task(log_in(client, u.email, u.password)) for u in users]
    for _ in users:
        assert await asyncio.to_thread(gated_bcrypt.entered.acquire, True, 5)

    health = await client.get("/health")

    assert health.status_code == 200
    assert not any(login.done() for login in logins)
    gated_bcrypt.release.set()
    assert [r.status_code for r in await asyncio.gather(*logins)] == [200] * HASHING_THREADS
    assert threading.main_thread() not in gated_bcrypt.threads


async def test_unknown_email_logins_hash_off_the_event_loop_too(
    client: httpx.AsyncClient, gated_bcrypt: BcryptGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashing_threads: list[threading.Thread] = []
    real_hashpw = bcrypt.hashpw

    def recording_hashpw(password: bytes, salt: bytes) -> bytes:
        hashing_threads.append(threading.current_thread())
        return real_hashpw(password, salt)

    monkeypatch.setattr(bcrypt, "hashpw", recording_hashpw)
    monkeypatch.setattr("app.security._dummy_hashes", {})
    login = asyncio.create_task(log_in(client, "nobody@example.com", WRONG))
    assert await asyncio.to_thread(gated_bcrypt.entered.acquire, True, 5)

    health = await client.get("/health")

    assert health.status_code == 200
    assert not login.done()
    gated_bcrypt.release.set()
    assert (await login).status_code == 401
    assert threading.main_thread() not in hashing_threads + gated_bcrypt.threads


async def test_a_burst_of_concurrent_wrong_passwords_gets_only_the_allowed_tries(
    client: httpx.AsyncClient, create_user: CreateUser, gated_bcrypt: BcryptGate
) -> None:
    """Attempts whose passwords are still being checked count: a burst cannot outrun the
    throttle: at most five passwords are checked. Every check is held until each attempt is
    either checking or answered. The others get 429, or 503 when the hashing queue is full
    (SPEC §11)."""
    user = await create_user(log_in=False)
    loop = asyncio.get_running_loop()
    settled = asyncio.Event()
    attempts: list[asyncio.Task[httpx.Response]] = []

    def check_settled(*_: object) -> None:
        # At least, not exactly: only HASHING_THREADS checks are held at once, the others
        # enter as held ones time out, and an attempt may be counted as entered and done.
        if len(gated_bcrypt.threads) + sum(a.done() for a in attempts) >= len(attempts):
            settled.set()

    gated_bcrypt.on_enter = lambda: loop.call_soon_threadsafe(check_settled)
    for _ in range(10):
        attempts.append(asyncio.create_task(log_in(client, user.email, WRONG)))
        attempts[-1].add_done_callback(check_settled)

    await asyncio.wait_for(settled.wait(), timeout=30)
    gated_bcrypt.release.set()
    codes = sorted(response.status_code for response in await asyncio.gather(*attempts))

    assert 1 <= codes.count(401) <= 5
    assert set(codes) <= {401, 429, 503}


async def test_failed_login_records_carry_a_recent_timestamp(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    before = utcnow()
    await fail_logins(client, "nobody@example.com", 1)

    async with app.state.db.read_sessions() as session:
        failure = await session.scalar(select(LoginFailure))
    assert failure is not None
    assert failure.email == "nobody@example.com"
    assert before <= failure.created_at <= utcnow()


# ---------------------------------------------------------------- the published contract


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        ("/auth/signup", {"201", "409", "413", "422", "503"}),
        ("/auth/login", {"200", "401", "403", "413", "422", "429", "503"}),
        ("/auth/token", {"200", "401", "403", "413", "422", "429", "503"}),
        ("/auth/refresh", {"200", "401", "413", "422", "503"}),
        ("/auth/logout", {"204", "401", "413", "422", "503"}),
    ],
)
def test_openapi_declares_every_code_an_auth_route_returns(
    app: FastAPI, path: str, codes: set[str]
) -> None:
    responses = app.openapi()["paths"][path]["post"]["responses"]

    assert codes <= set(responses), f"undeclared: {codes - set(responses)}"
    for code in codes - {"200", "201", "204", "422"}:
        schema = responses[code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorDetail"}
