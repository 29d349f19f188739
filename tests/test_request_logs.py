"""§11 request ids and logs: X-Request-ID in and out, one access line per request, the
request id on every line, JSON lines, the security events by name."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.logging_setup import RequestIdFilter, UtcTextFormatter, configure_logging
from app.logging_setup import _json_formatter as json_formatter
from app.main import create_app
from app.tables import metadata
from tests.conftest import Account, CreateUser
from tests.schema_conformance import SchemaCheckedClient


class Lines(logging.Handler):
    """Every record, formatted as the app's JSON handler writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.setFormatter(json_formatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def named(self, logger: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["logger"] == logger]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == event]


@pytest.fixture
def logs() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


async def test_a_valid_request_id_is_sent_back(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "abc-123_X.y"})

    assert response.headers["X-Request-ID"] == "abc-123_X.y"


@pytest.mark.parametrize("sent", ["", "has space", "x" * 129, "semi;colon", "é"])
async def test_an_invalid_request_id_is_replaced_by_a_new_one(
    client: httpx.AsyncClient, sent: str
) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": sent.encode()})

    returned = response.headers["X-Request-ID"]
    assert returned != sent
    assert 1 <= len(returned) <= 128


async def test_a_request_without_an_id_gets_a_new_one_each_time(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")

    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_an_error_response_has_a_request_id_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/path")

    assert response.status_code == 404
    assert response.headers["X-Request-ID"]


async def test_one_access_line_names_the_route_template_status_user_and_request(
    client: httpx.AsyncClient, customer: Account, logs: Lines
) -> None:
    response = await client.get(
        "/orders/12345", headers={**customer.headers, "X-Request-ID": "req-1"}
    )

    [line] = logs.named("app.access")
    assert response.status_code == 404
    assert line["method"] == "GET"
    assert line["route"] == "/orders/{order_id}"
    assert line["status"] == 404
    assert line["user_id"] == customer.id
    assert line["request_id"] == "req-1"
    assert line["client"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)


async def test_the_access_line_of_an_unknown_path_has_one_route_label(
    client: httpx.AsyncClient, logs: Lines
) -> None:
    await client.get("/wp-admin/secret-42")

    [line] = logs.named("app.access")
    assert line["route"] == "(unmatched)"


async def test_a_head_request_is_logged_as_head_with_its_route(
    client: httpx.AsyncClient, logs: Lines
) -> None:
    await client.head("/products/7")

    [line] = logs.named("app.access")
    assert (line["method"], line["route"]) == ("HEAD", "/products/{product_id}")


async def test_a_json_line_has_a_utc_timestamp_level_logger_and_message(
    client: httpx.AsyncClient, logs: Lines
) -> None:
    await client.get("/health/live")

    [line] = logs.named("app.access")
    assert line["timestamp"].endswith("+00:00")
    assert line["level"] == "INFO"
    assert line["message"].startswith('"GET /health/live" 200')


async def test_a_line_written_while_serving_carries_the_request_id(
    client: httpx.AsyncClient, logs: Lines
) -> None:
    await client.post(
        "/auth/login",
        json={"email": "nobody@example.com", "password": "wrong password"},
        headers={"X-Request-ID": "trace-me"},
    )

    [failed] = logs.events("login.failed")
    assert failed["request_id"] == "trace-me"


def test_a_line_written_outside_a_request_has_no_request_id(logs: Lines) -> None:
    logging.getLogger("app").warning("start-up")

    assert logs.lines[-1]["request_id"] == "-"


async def test_a_failed_login_is_a_login_failed_event_without_the_password(
    client: httpx.AsyncClient, customer: Account, logs: Lines
) -> None:
    await client.post("/auth/login", json={"email": customer.email, "password": "not-the-password"})

    [failed] = logs.events("login.failed")
    assert failed["email"] == customer.email
    assert "not-the-password" not in json.dumps(logs.lines)


async def test_a_throttled_login_is_a_login_throttled_event(
    client: httpx.AsyncClient, create_user: CreateUser, logs: Lines
) -> None:
    account = await create_user(log_in=False)
    for _ in range(6):
        await client.post("/auth/login", json={"email": account.email, "password": "wrong one"})

    assert logs.events("login.throttled")


async def test_a_replayed_refresh_token_is_a_reuse_detected_event(
    client: httpx.AsyncClient, customer: Account, logs: Lines
) -> None:
    login = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )
    token = login.json()["refresh_token"]
    await client.post("/auth/refresh", json={"refresh_token": token})
    await client.post("/auth/refresh", json={"refresh_token": token})

    [reuse] = logs.events("refresh.reuse_detected")
    assert reuse["user_id"] == customer.id
    assert token not in json.dumps(logs.lines)


async def test_an_admin_change_to_a_user_is_a_user_updated_event(
    client: httpx.AsyncClient, admin: Account, customer: Account, logs: Lines
) -> None:
    await client.patch(f"/users/{customer.id}", json={"is_active": False}, headers=admin.headers)

    [updated] = logs.events("user.updated")
    assert (updated["user_id"], updated["by"]) == (customer.id, admin.id)
    assert updated["changes"] == ["is_active"]


def test_text_lines_carry_a_utc_timestamp_and_the_request_id() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdFilter().filter(record)

    line = UtcTextFormatter("%(asctime)s %(levelname)s [%(request_id)s] %(message)s").format(record)

    assert line.endswith("+00:00 INFO [-] hello")


def test_configuring_twice_leaves_one_app_handler() -> None:
    root = logging.getLogger()
    configure_logging("INFO", "text")
    before = len(root.handlers)
    configure_logging("INFO", "json")
    configure_logging("INFO", "text")

    assert len(root.handlers) == before


async def test_a_database_error_is_logged_without_sql_parameters(
    settings: Settings, tmp_path: Path, logs: Lines
) -> None:
    """A signup against a read-only database: neither the email nor the hash is logged."""
    path = tmp_path / "read-only.db"
    writable = create_app(
        settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{path}"})
    )
    async with writable.state.db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await writable.state.db.dispose()
    url = f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true"
    read_only = create_app(settings.model_copy(update={"database_url": url}))
    async with SchemaCheckedClient(read_only) as client:
        response = await client.post(
            "/auth/signup",
            json={"email": "hidden@example.com", "name": "Hid", "password": "pass-word-42"},
        )
    await read_only.state.db.dispose()

    logged = json.dumps(logs.lines)
    assert response.status_code == 503
    assert "read-only database" in logged  # the trouble is named, its statement is not
    assert "hidden@example.com" not in logged
    assert "$2b$" not in logged
    assert "INSERT" not in logged
