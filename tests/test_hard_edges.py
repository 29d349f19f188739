"""The hard edges: oversized bodies, out-of-range ids, NUL characters, wrong methods, bytes
that are not JSON, and a database that goes away and comes back.

Each answer is a 4xx or a clean JSON 503, never a 500 or a traceback, and the app recovers
from an outage by itself, without a restart. The id and NUL tests walk the OpenAPI schema,
so a route added later is covered without being listed here.
"""

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.main import create_app
from app.middleware import MAX_BODY_BYTES
from app.tables import ProductPublic
from tests.conftest import TEST_DATABASE_URL, Account, detail_of, open_order
from tests.live_server import LiveServer, live_server
from tests.schema_conformance import SchemaCheckedClient

MAX_ID = 2**31 - 1
OUT_OF_RANGE_IDS = ["0", "-1", str(MAX_ID + 1), "1" + "0" * 30]
UNAVAILABLE = "The database is unavailable; try again shortly"


def all_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, path_item in schema["paths"].items()
        for method, operation in path_item.items()
    ]


def component(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind `node`: a reference, or the one reference of `X | None`."""
    if "anyOf" in node:
        [node] = [alternative for alternative in node["anyOf"] if "$ref" in alternative]
    name = node["$ref"].removeprefix("#/components/schemas/")
    resolved: dict[str, Any] = schema["components"]["schemas"][name]
    return resolved


def fill_path(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


# ---------------------------------------------------------------- bodies over 1 MiB, over HTTP


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`python -m app serve` on a fresh SQLite file: the limit seen through uvicorn."""
    workdir = tmp_path_factory.mktemp("hard-edges")
    with live_server(f"sqlite+aiosqlite:///{workdir / 'edges.db'}", workdir) as running:
        yield running


def exchange(server: LiveServer, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes over one connection; the status and body of the response."""
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request)
        response = b""
        while chunk := connection.recv(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_a_declared_oversized_body_is_refused_before_a_byte_of_it_is_read(
    server: LiveServer,
) -> None:
    """Only the headers are sent: an answer at all proves the body was not waited for."""
    status, body = exchange(
        server,
        b"POST /auth/signup HTTP/1.1\r\nHost: edges\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10485760\r\nConnection: close\r\n\r\n",
    )

    assert status == 413
    assert b"Request body is larger than the limit of 1048576 bytes" in body


def test_a_chunked_body_over_the_limit_is_413_over_http(server: LiveServer) -> None:
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(17))
    status, body = exchange(
        server,
        b"POST /orders HTTP/1.1\r\nHost: edges\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n",
    )

    assert status == 413
    assert b"Request body is larger than the limit" in body


def test_an_oversized_login_form_is_413_not_parsed(server: LiveServer) -> None:
    form = b"username=carla%40example.com&password=" + b"p" * MAX_BODY_BYTES
    response = httpx.post(
        f"{server.base_url}/auth/token",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413


def test_the_server_keeps_serving_after_refusing_bodies(server: LiveServer) -> None:
    test_a_declared_oversized_body_is_refused_before_a_byte_of_it_is_read(server)

    assert httpx.get(f"{server.base_url}/health").json() == {"status": "ok"}


# ---------------------------------------------------------------- ids outside 1 .. 2^31-1


async def test_every_path_id_outside_1_to_2_31_minus_1_is_422(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    checked = 0
    for method, path, operation in all_operations(app.openapi()):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "path":
                continue
            for bad in OUT_OF_RANGE_IDS:
                url = fill_path(path.replace(f"{{{parameter['name']}}}", bad))
                body = {} if "requestBody" in operation else None
                response = await client.request(method, url, json=body, headers=admin.headers)
                assert response.status_code == 422, (method, url, response.text)
                locations = [error["loc"] for error in detail_of(response)]
                assert ["path", parameter["name"]] in locations, (method, url)
                checked += 1
    assert checked >= 4 * len(OUT_OF_RANGE_IDS)


async def test_every_id_in_a_request_body_outside_the_range_is_422(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    schema = app.openapi()
    checked = 0
    for method, path, operation in all_operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        model = component(schema, content["application/json"]["schema"])
        for example in model.get("examples", [])[:1]:
            for field_path in id_fields(schema, model, example):
                for bad in (0, -1, MAX_ID + 1, 10**30):
                    body = replace_at(example, field_path, bad)
                    response = await client.request(
                        method, fill_path(path), json=body, headers=admin.headers
                    )
                    assert response.status_code == 422, (method, path, body, response.text)
                    checked += 1
    assert checked >= 4


def id_fields(
    schema: dict[str, Any], model: dict[str, Any], example: Any, prefix: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    """The paths to the `..._id` integers in an example body, following its schema."""
    for name, value in example.items():
        field = model["properties"][name]
        if name.endswith("_id") and isinstance(value, int):
            yield (*prefix, name)
        elif isinstance(value, list) and value and "$ref" in field.get("items", {}):
            item_model = component(schema, field["items"])
            yield from id_fields(schema, item_model, value[0], (*prefix, name, 0))


def replace_at(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(document, list):
        return [
            replace_at(item, tuple(rest), value) if i == head else item
            for i, item in enumerate(document)
        ]
    return {**document, head: replace_at(document[head], tuple(rest), value)}


async def test_a_query_id_outside_the_range_is_422(
    client: httpx.AsyncClient, admin: Account
) -> None:
    for bad in OUT_OF_RANGE_IDS:
        response = await client.get("/orders", params={"user_id": bad}, headers=admin.headers)

        assert response.status_code == 422, bad
        assert detail_of(response)[0]["loc"] == ["query", "user_id"]


# ---------------------------------------------------------------- integers


async def test_a_number_without_a_fraction_is_an_integer_as_the_schema_says(
    client: httpx.AsyncClient, admin: Account
) -> None:
    """JSON Schema's `integer` is any number with no fractional part: 2.0 is 2."""
    product = await client.post(
        "/products", json={"name": "Diavola", "price_cents": 1150.0}, headers=admin.headers
    )
    assert product.status_code == 201, product.text
    assert product.json()["price_cents"] == 1150

    line = {"product_id": float(product.json()["id"]), "quantity": 2.0}
    order = await client.post("/orders", json={"items": [line]}, headers=admin.headers)

    assert order.status_code == 201, order.text
    assert order.json()["items"][0]["quantity"] == 2
    assert order.json()["total_cents"] == 2300


@pytest.mark.parametrize("quantity", [2.5, "2", True, 1e300])
async def test_a_fraction_a_string_a_boolean_or_a_huge_number_is_not_an_integer(
    client: httpx.AsyncClient, admin: Account, quantity: object
) -> None:
    line = {"product_id": 1, "quantity": quantity}

    response = await client.post("/orders", json={"items": [line]}, headers=admin.headers)

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "items", 0, "quantity"]


# ---------------------------------------------------------------- names


async def test_a_name_is_measured_as_sent_then_stripped(
    client: httpx.AsyncClient, admin: Account
) -> None:
    """The schema's maxLength counts what is sent, so the app does too."""
    over = await client.post(
        "/products", json={"name": " " + "x" * 100, "price_cents": 100}, headers=admin.headers
    )
    padded = await client.post(
        "/products", json={"name": "  Calzone\u3000", "price_cents": 100}, headers=admin.headers
    )

    assert over.status_code == 422
    assert padded.status_code == 201
    assert padded.json()["name"] == "Calzone"


async def test_a_name_of_whitespace_alone_is_422(client: httpx.AsyncClient) -> None:
    body = {"name": "\u00a0\t ", "email": "carla@example.com", "password": "pepperoni-42"}

    response = await client.post("/auth/signup", json=body)

    assert response.status_code == 422
    assert detail_of(response)[0]["type"] == "string_too_short"


# ---------------------------------------------------------------- NUL characters


async def test_a_nul_in_any_string_of_any_json_body_is_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    schema = app.openapi()
    checked = 0
    for method, path, operation in all_operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        model = component(schema, content["application/json"]["schema"])
        for name, field in model["properties"].items():
            if field.get("type") != "string":
                continue
            example = next((e for e in model["examples"] if name in e), model["examples"][0])
            body = {**example, name: "Marghe\x00rita"}
            response = await client.request(
                method, fill_path(path), json=body, headers=admin.headers
            )
            assert response.status_code == 422, (method, path, name, response.text)
            assert ["body", name] in [error["loc"] for error in detail_of(response)]
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("field", ["username", "password"])
async def test_a_nul_in_the_login_form_is_422(client: httpx.AsyncClient, field: str) -> None:
    form = {"username": "carla@example.com", "password": "pepperoni-42"}
    form[field] = form[field][:3] + "\x00" + form[field][3:]

    response = await client.post("/auth/token", data=form)

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", field]


async def test_a_nul_in_a_query_string_is_422(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.get("/orders", params={"status": "pend\x00ing"}, headers=admin.headers)

    assert response.status_code == 422


# ---------------------------------------------------------------- methods and undecodable bodies


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/orders", "GET, HEAD, POST"),
        ("PUT", "/orders/1/items/2", "DELETE, PATCH"),
        ("DELETE", "/products", "GET, HEAD, POST"),
        ("POST", "/health", "GET, HEAD"),
        ("PUT", "/users/me", "DELETE, GET, HEAD, PATCH"),
        ("PUT", "/users/7", "DELETE, GET, HEAD, PATCH"),
    ],
)
async def test_a_method_the_path_does_not_have_is_405_listing_every_method_it_has(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)

    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert detail_of(response) == "Method Not Allowed"


@pytest.mark.parametrize("path", ["/health", "/products", "/products?limit=1&offset=1"])
async def test_head_answers_what_get_does_without_the_body(
    client: httpx.AsyncClient, product: ProductPublic, path: str
) -> None:
    await _assert_head_is_get_without_the_body(client, path)


async def _assert_head_is_get_without_the_body(
    client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
) -> None:
    got = await client.get(path, headers=headers)
    head = await client.head(path, headers=headers)

    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0
    for header in ("content-type", "content-length"):
        assert head.headers[header] == got.headers[header]


async def test_head_where_the_path_has_no_get_is_405_listing_its_methods(
    client: httpx.AsyncClient,
) -> None:
    response = await client.head("/auth/login")

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.content == b""


async def test_head_of_an_order_needs_a_token_as_get_does(client: httpx.AsyncClient) -> None:
    response = await client.head("/orders/1")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.content == b""


async def test_head_of_your_order_is_200_without_the_body(
    client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer, (product.id, 1))

    await _assert_head_is_get_without_the_body(client, f"/orders/{order['id']}", customer.headers)


async def test_a_body_that_is_not_utf8_is_400_not_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/signup",
        content=b'{"name": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert detail_of(response) == "There was an error parsing the body"


async def test_an_empty_grant_type_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token",
        content=b"username=carla%40example.com&password=pepperoni-42&grant_type=",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "grant_type"]


# ---------------------------------------------------------------- the database goes away


class TcpProxy:
    """Forwards a local port to PostgreSQL; stopping it is PostgreSQL going away."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and cut every open one, as a crashed server does."""
        assert self.server is not None
        self.server.close()
        for writer in list(self.pipes):
            writer.transport.abort()
        self.pipes.clear()
        await self.server.wait_closed()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.pipes |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self.pipes.discard(writer)


class Outage:
    """Takes the app's database away and brings it back, on SQLite or PostgreSQL."""

    def __init__(self, app: FastAPI, settings: Settings, proxy: TcpProxy | None) -> None:
        self.app = app
        self.settings = settings
        self.proxy = proxy

    @property
    def sqlite_file(self) -> Path:
        database = make_url(self.settings.database_url).database
        assert database is not None
        return Path(database)

    async def begin(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()
            return
        # The pool's open connections would go on using the file they opened; a server that
        # restarts cuts them, so they are closed here first.
        await self.app.state.db.engine.dispose()
        self._hide_sqlite_file()

    async def end(self) -> None:
        if self.proxy is not None:
            await self.proxy.start()
            return
        self._restore_sqlite_file()

    def _hide_sqlite_file(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{self.sqlite_file}{suffix}")
            if path.exists():
                path.rename(f"{path}.away")
        self.sqlite_file.mkdir()  # SQLite cannot open a directory

    def _restore_sqlite_file(self) -> None:
        self.sqlite_file.rmdir()
        for suffix in ("", "-wal", "-shm"):
            away = Path(f"{self.sqlite_file}{suffix}.away")
            if away.exists():
                away.rename(f"{self.sqlite_file}{suffix}")


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy | None]:
    if TEST_DATABASE_URL is None:
        yield None
        return
    url = make_url(TEST_DATABASE_URL)
    running = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await running.start()
    yield running
    with suppress(AssertionError):
        await running.stop()


@pytest.fixture
async def outage_app(
    app: FastAPI, settings: Settings, proxy: TcpProxy | None
) -> AsyncIterator[FastAPI]:
    """The app (its tables made by the `app` fixture), reaching PostgreSQL through the proxy."""
    if proxy is None:
        yield app
        return
    url = make_url(settings.database_url).set(host="127.0.0.1", port=proxy.port)
    proxied = create_app(settings.model_copy(update={"database_url": url.render_as_string(False)}))
    yield proxied
    await proxied.state.db.dispose()


@pytest.fixture
async def outage_client(outage_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with SchemaCheckedClient(outage_app) as http:
        yield http


@pytest.fixture
def outage(outage_app: FastAPI, settings: Settings, proxy: TcpProxy | None) -> Outage:
    return Outage(outage_app, settings, proxy)


def assert_clean_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": UNAVAILABLE}
    assert response.headers["Retry-After"] == "5"


async def test_health_is_503_while_the_database_is_down_and_200_once_it_is_back(
    outage_client: httpx.AsyncClient, outage: Outage
) -> None:
    assert (await outage_client.get("/health")).status_code == 200

    await outage.begin()
    down = await outage_client.get("/health")
    await outage.end()
    back = await outage_client.get("/health")

    assert down.status_code == 503
    assert down.json() == {"status": "unavailable", "detail": "The database does not answer"}
    assert down.headers["Retry-After"] == "5"
    assert back.status_code == 200
    assert back.json() == {"status": "ok"}


async def test_every_kind_of_route_is_a_clean_503_while_the_database_is_down(
    outage_client: httpx.AsyncClient, outage: Outage, customer: Account
) -> None:
    await outage.begin()
    responses = [
        await outage_client.post(
            "/auth/signup",
            json={"name": "Dora", "email": "dora@example.com", "password": "pepperoni-42"},
        ),
        await outage_client.post(
            "/auth/login", json={"email": customer.email, "password": customer.password}
        ),
        await outage_client.get("/users/me", headers=customer.headers),
        await outage_client.get("/products"),
        await outage_client.post("/orders", json={}, headers=customer.headers),
        await outage_client.get("/orders", headers=customer.headers),
    ]
    await outage.end()

    for response in responses:
        assert_clean_503(response)


ANY_LOGIN = {"email": "carla@example.com", "password": "whatever1"}
"""A login runs statements through `AsyncSession.execute` before it checks a password."""


@pytest.fixture
def failing_execute(monkeypatch: pytest.MonkeyPatch) -> Callable[[Exception], None]:
    """Call it with an error to make every later statement raise it."""

    def arm(error: Exception) -> None:
        async def execute(*args: Any, **kwargs: Any) -> Any:
            raise error

        monkeypatch.setattr(AsyncSession, "execute", execute)

    return arm


async def test_a_connection_lost_mid_query_is_a_clean_503(
    client: httpx.AsyncClient, failing_execute: Callable[[Exception], None]
) -> None:
    """asyncpg reports a connection cut mid-query as a bare driver error."""
    failing_execute(
        DBAPIError("SELECT 1", {}, Exception("connection was closed"), connection_invalidated=True)
    )

    assert_clean_503(await client.post("/auth/login", json=ANY_LOGIN))


async def test_a_database_error_that_is_not_a_lost_connection_is_a_500(
    app: FastAPI, failing_execute: Callable[[Exception], None]
) -> None:
    failing_execute(ProgrammingError("SELEC 1", {}, Exception("syntax error")))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post("/auth/login", json=ANY_LOGIN)

    assert response.status_code == 500


async def test_an_os_error_that_is_not_the_database_is_a_500_not_database_unavailable(
    app: FastAPI, tmp_path: Path
) -> None:
    @app.get("/reads-a-missing-file")
    async def reads_a_missing_file() -> str:
        return (tmp_path / "missing.txt").read_text()

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/reads-a-missing-file")

    assert response.status_code == 500
    assert UNAVAILABLE not in response.text


async def test_the_app_serves_again_when_the_database_is_back_without_a_restart(
    outage_client: httpx.AsyncClient, outage: Outage, customer: Account
) -> None:
    await outage.begin()
    assert (await outage_client.get("/users/me", headers=customer.headers)).status_code == 503
    await outage.end()

    me = await outage_client.get("/users/me", headers=customer.headers)
    signup = await outage_client.post(
        "/auth/signup",
        json={"name": "Dora", "email": "dora@example.com", "password": "pepperoni-42"},
    )
    order = await outage_client.post("/orders", json={}, headers=customer.headers)

    assert me.status_code == 200
    assert me.json()["email"] == customer.email
    assert signup.status_code == 201
    assert order.status_code == 201


if TEST_DATABASE_URL is not None:
    # PostgreSQL only: SQLite has no server whose restart could leave stale connections.

    # A read of the user through the ORM, and the hot reads that `app.db.read_rows` sends
    # straight to asyncpg (the menu read anonymously, so that it is the first statement).
    @pytest.mark.parametrize(
        ("path", "signed_in"), [("/users/me", True), ("/orders", True), ("/products", False)]
    )
    async def test_after_postgresql_drops_every_connection_at_most_one_request_fails(
        app: FastAPI, client: httpx.AsyncClient, customer: Account, path: str, signed_in: bool
    ) -> None:
        """Without pre-ping, the first request on a dropped connection fails; SQLAlchemy then
        invalidates the whole pool, so every later request gets a fresh connection."""
        headers = customer.headers if signed_in else {}
        # Fill the pool with several connections, then have PostgreSQL terminate them all.
        warm = await asyncio.gather(*(client.get(path, headers=headers) for _ in range(8)))
        assert {response.status_code for response in warm} == {200}
        assert app.state.db.engine.pool.checkedin() > 1
        await terminate_other_connections(TEST_DATABASE_URL)

        statuses = [(await client.get(path, headers=headers)).status_code for _ in range(10)]

        assert statuses.count(503) <= 1, statuses
        assert statuses[1:] == [200] * 9, statuses

    async def terminate_other_connections(database_url: str) -> None:
        url = make_url(database_url)
        connection = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, database=url.database
        )
        try:
            terminated = await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()
        assert terminated > 1
