"""§11 against a real server with two workers, as an operator runs it: JSON log lines, no
secret in any of them, and metrics that add up every worker's requests."""

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.live_server import LiveServer, live_server

PASSWORD = "live-secret-password-4711"
WRONG_PASSWORD = "live-wrong-password-0815"
ADMIN_PASSWORD = "live-admin-password-9999"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("live-operations")
    # A database of its own, which `serve` migrates (the suite's test database holds tables
    # made without Alembic).
    database_url = f"sqlite+aiosqlite:///{workdir / 'live.db'}"
    with live_server(
        database_url,
        workdir,
        serve_options=("--workers", "2"),
        LOG_LEVEL="INFO",
        LOG_FORMAT="json",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def traffic(server: LiveServer) -> dict[str, str]:
    """Signups, logins, failures, refreshes, a replay, an admin change and errors; the
    secrets they carried."""
    server.cli(
        "create-admin", "--email", "boss@example.com", "--name", "Boss", stdin=ADMIN_PASSWORD + "\n"
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        signup = http.post(
            "/auth/signup",
            json={"email": "live@example.com", "name": "Live", "password": PASSWORD},
        )
        assert signup.status_code == 201
        user_id = signup.json()["id"]
        http.post(
            "/auth/signup", json={"email": "live@example.com", "name": "L", "password": PASSWORD}
        )
        http.post("/auth/login", json={"email": "live@example.com", "password": WRONG_PASSWORD})
        http.post(
            "/auth/login", content=f"password={PASSWORD}", headers={"Content-Type": "text/plain"}
        )
        tokens = http.post(
            "/auth/login", json={"email": "live@example.com", "password": PASSWORD}
        ).json()
        rotated = http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        admin = http.post(
            "/auth/token", data={"username": "boss@example.com", "password": ADMIN_PASSWORD}
        ).json()
        bearer = {"Authorization": f"Bearer {admin['access_token']}"}
        http.patch(f"/users/{user_id}", json={"is_admin": False}, headers=bearer)
        http.get("/orders/1", headers={"Authorization": "Bearer not.a.token"})
        for _ in range(6):
            http.get("/health/ready", headers={"X-Request-ID": "live-probe"})
    # A request's access line is written once its response has gone: wait for the last.
    deadline = time.monotonic() + 10
    while server.log().count("live-probe") < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    return {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "admin password": ADMIN_PASSWORD,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "rotated refresh token": rotated.json()["refresh_token"],
        "admin token": admin["access_token"],
    }


def json_lines(server: LiveServer) -> list[dict[str, object]]:
    return [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def test_no_secret_reaches_the_log(server: LiveServer, traffic: dict[str, str]) -> None:
    log = server.log()

    for name, secret in traffic.items():
        assert secret not in log, name
    assert not re.search(r"\$2[aby]\$\d\d\$", log), "a bcrypt hash"
    assert "[parameters:" not in log


def test_every_line_of_the_log_is_json(server: LiveServer, traffic: dict[str, str]) -> None:
    lines = server.log().strip().splitlines()

    assert lines
    assert len(json_lines(server)) == len(lines)


def test_the_security_events_are_in_the_log(server: LiveServer, traffic: dict[str, str]) -> None:
    events = {line.get("event") for line in json_lines(server)}

    assert {"login.failed", "refresh.reuse_detected", "user.updated"} <= events


def test_the_access_lines_carry_the_request_ids(
    server: LiveServer, traffic: dict[str, str]
) -> None:
    probes = [
        line
        for line in json_lines(server)
        if line.get("logger") == "app.access" and line.get("request_id") == "live-probe"
    ]

    assert len(probes) == 6
    assert {line["route"] for line in probes} == {"/health/ready"}


def test_uvicorn_writes_no_access_line_of_its_own(
    server: LiveServer, traffic: dict[str, str]
) -> None:
    assert not [line for line in json_lines(server) if line.get("logger") == "uvicorn.access"]


def test_the_metrics_add_up_both_workers(server: LiveServer, traffic: dict[str, str]) -> None:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text

    ready = re.search(
        r'http_requests_total\{method="GET",route="/health/ready",status="200"\} (\S+)', text
    )
    assert ready is not None
    assert float(ready.group(1)) >= 6


def test_the_server_names_no_software(server: LiveServer) -> None:
    response = httpx.get(f"{server.base_url}/health/live", timeout=10)

    assert "server" not in response.headers
    assert response.json() == {"status": "ok"}


def test_a_single_worker_server_counts_its_requests_in_the_metrics(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """One worker runs the app in the command's own process, which imported the metrics
    before `serve` chose their directory: its counts must show all the same."""
    workdir = tmp_path_factory.mktemp("live-one-worker")
    database_url = f"sqlite+aiosqlite:///{workdir / 'live.db'}"
    with live_server(database_url, workdir) as single:
        for _ in range(3):
            httpx.get(f"{single.base_url}/health/live", timeout=10)
        text = httpx.get(f"{single.base_url}/metrics", timeout=10).text

    live = re.search(
        r'http_requests_total\{method="GET",route="/health/live",status="200"\} (\S+)', text
    )
    assert live is not None
    assert float(live.group(1)) >= 3
