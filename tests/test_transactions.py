"""One request, one transaction; and bad input that must end in a 4xx, never a 500.

A write whose commit fails must answer with an error, never a 2xx, and leave nothing
behind. The commit is made to fail two ways: by replacing `AsyncSession.commit` with one
that writes and then fails like a lost connection, and for real, with a deferred
constraint that the database only checks at COMMIT.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from app.auth_tables import RefreshToken
from app.middleware import MAX_BODY_BYTES
from app.tables import User
from tests.conftest import Account, CreateUser, detail_of

SIGNUP = {"name": "Carla", "email": "carla@example.com", "password": "pizza-margherita"}


@pytest.fixture
def failing_commit(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to make every later commit write its changes and then fail."""

    async def flush_then_fail(self: AsyncSession) -> None:
        await self.flush()
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    def arm() -> None:
        monkeypatch.setattr(AsyncSession, "commit", flush_then_fail)

    return arm


async def count(app: FastAPI, model: Any, *where: Any) -> int:
    async with app.state.db.read_sessions() as session:
        return (await session.scalar(select(func.count()).select_from(model).where(*where))) or 0


async def load_user(app: FastAPI, user_id: int) -> User:
    async with app.state.db.read_sessions() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


async def log_in(client: httpx.AsyncClient, user: Account) -> dict[str, Any]:
    response = await client.post(
        "/auth/login", json={"email": user.email, "password": user.password}
    )
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert detail_of(response) == "The database is unavailable; try again shortly"


# ---------------------------------------------------------------- commits that fail


async def test_signup_whose_commit_fails_is_503_and_creates_no_user(
    client: httpx.AsyncClient, app: FastAPI, failing_commit: Callable[[], None]
) -> None:
    failing_commit()

    response = await client.post("/auth/signup", json=SIGNUP)

    assert_database_unavailable(response)
    assert await count(app, User) == 0


async def test_login_whose_commit_fails_is_503_and_records_no_refresh_token(
    client: httpx.AsyncClient,
    app: FastAPI,
    create_user: CreateUser,
    failing_commit: Callable[[], None],
) -> None:
    user = await create_user(log_in=False)
    failing_commit()

    response = await client.post(
        "/auth/login", json={"email": user.email, "password": user.password}
    )

    assert_database_unavailable(response)
    assert await count(app, RefreshToken) == 0


async def test_refresh_whose_commit_fails_is_503_and_keeps_the_old_token_valid(
    client: httpx.AsyncClient,
    app: FastAPI,
    create_user: CreateUser,
    failing_commit: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair = await log_in(client, await create_user(log_in=False))
    failing_commit()

    response = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})

    assert_database_unavailable(response)
    assert await count(app, RefreshToken) == 1
    assert await count(app, RefreshToken, col(RefreshToken.retired_at).is_not(None)) == 0
    monkeypatch.undo()
    retry = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert retry.status_code == 200


async def test_logout_whose_commit_fails_is_503_and_revokes_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    create_user: CreateUser,
    failing_commit: Callable[[], None],
) -> None:
    pair = await log_in(client, await create_user(log_in=False))
    failing_commit()

    response = await client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})

    assert_database_unavailable(response)
    assert await count(app, RefreshToken, col(RefreshToken.retired_at).is_not(None)) == 0


async def test_user_update_whose_commit_fails_is_503_and_changes_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    admin: Account,
    customer: Account,
    failing_commit: Callable[[], None],
) -> None:
    failing_commit()

    response = await client.patch(
        f"/users/{customer.id}", json={"is_active": False, "is_admin": True}, headers=admin.headers
    )

    assert_database_unavailable(response)
    user = await load_user(app, customer.id)
    assert (user.is_active, user.is_admin) == (True, False)


async def test_a_failed_commit_leaves_the_app_able_to_serve_the_next_write(
    client: httpx.AsyncClient,
    app: FastAPI,
    failing_commit: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing_commit()
    await client.post("/auth/signup", json=SIGNUP)
    monkeypatch.undo()

    response = await client.post("/auth/signup", json=SIGNUP)

    assert response.status_code == 201
    assert await count(app, User) == 1


@pytest.fixture
async def commit_guard(app: FastAPI) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """`await commit_guard("INSERT")` makes each later INSERT (or UPDATE) on users fail at COMMIT.

    A trigger adds a row whose foreign key points nowhere; the key is checked only when
    the transaction commits (DEFERRABLE INITIALLY DEFERRED), so the COMMIT itself fails.
    """
    engine = app.state.db.engine
    postgres = engine.dialect.name == "postgresql"

    async def install(event: str) -> None:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE guard_parent (id INTEGER PRIMARY KEY)")
            await connection.exec_driver_sql(
                "CREATE TABLE guard_child (id INTEGER PRIMARY KEY, parent_id INTEGER "
                "REFERENCES guard_parent (id) DEFERRABLE INITIALLY DEFERRED)"
            )
            if postgres:
                await connection.exec_driver_sql(
                    "CREATE FUNCTION guard_users() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN INSERT INTO guard_child (id, parent_id) VALUES (NEW.id, -1); "
                    "RETURN NEW; END $$"
                )
                await connection.exec_driver_sql(
                    f"CREATE TRIGGER guard_users AFTER {event} ON users "
                    "FOR EACH ROW EXECUTE FUNCTION guard_users()"
                )
            else:
                await connection.exec_driver_sql(
                    f"CREATE TRIGGER guard_users AFTER {event} ON users BEGIN "  # noqa: S608
                    "INSERT INTO guard_child (id, parent_id) VALUES (NEW.id, -1); END"
                )

    yield install

    async with engine.begin() as connection:
        await connection.execute(
            text("DROP TRIGGER IF EXISTS guard_users" + (" ON users" if postgres else ""))
        )
        if postgres:
            await connection.exec_driver_sql("DROP FUNCTION IF EXISTS guard_users()")
        await connection.exec_driver_sql("DROP TABLE IF EXISTS guard_child")
        await connection.exec_driver_sql("DROP TABLE IF EXISTS guard_parent")


async def test_signup_whose_commit_is_refused_by_the_database_is_an_error_and_no_row(
    client: httpx.AsyncClient,
    app: FastAPI,
    commit_guard: Callable[[str], Awaitable[None]],
) -> None:
    await commit_guard("INSERT")

    response = await client.post("/auth/signup", json=SIGNUP)

    assert response.status_code >= 400, response.text
    assert await count(app, User) == 0


async def test_user_update_whose_commit_is_refused_by_the_database_is_an_error_and_no_change(
    client: httpx.AsyncClient,
    app: FastAPI,
    admin: Account,
    customer: Account,
    commit_guard: Callable[[str], Awaitable[None]],
) -> None:
    await commit_guard("UPDATE")

    response = await client.patch(
        f"/users/{customer.id}", json={"is_admin": True}, headers=admin.headers
    )

    assert response.status_code >= 400, response.text
    assert (await load_user(app, customer.id)).is_admin is False


# ---------------------------------------------------------------- the body size limit


def padded_signup(size: int) -> bytes:
    """A JSON signup body of exactly `size` bytes (the padding goes into the name)."""
    empty = b'{"name": "", "email": "carla@example.com", "password": "pizza-margherita"}'
    body = empty.replace(b'"name": ""', b'"name": "' + b"n" * (size - len(empty)) + b'"')
    assert len(body) == size
    return body


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_over_1_mib_is_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post(
        "/auth/signup",
        content=padded_signup(MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert detail_of(response) == "Request body is larger than the limit of 1048576 bytes"
    assert await count(app, User) == 0


async def test_a_body_of_exactly_1_mib_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/signup",
        content=padded_signup(MAX_BODY_BYTES),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "name"]


async def test_a_chunked_body_over_1_mib_without_content_length_is_413(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    request = client.build_request(
        "POST",
        "/auth/signup",
        content=chunks(padded_signup(MAX_BODY_BYTES + 1)),
        headers={"Content-Type": "application/json"},
    )
    assert "Content-Length" not in request.headers

    response = await client.send(request)

    assert response.status_code == 413
    assert detail_of(response) == "Request body is larger than the limit of 1048576 bytes"
    assert await count(app, User) == 0


async def test_a_chunked_body_under_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    body = b'{"name": "Carla", "email": "carla@example.com", "password": "pizza-margherita"}'

    response = await client.post(
        "/auth/signup", content=chunks(body, size=7), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201, response.text


async def test_a_chunked_form_over_1_mib_is_413(client: httpx.AsyncClient) -> None:
    form = b"username=carla%40example.com&password=" + b"p" * MAX_BODY_BYTES

    response = await client.post(
        "/auth/token",
        content=chunks(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413


@pytest.mark.parametrize("declared", [b"abc", b"-1", b"1e3", b"\xb2", b" 5"])
async def test_an_invalid_content_length_is_400(app: FastAPI, declared: bytes) -> None:
    status, body = await raw_request(
        app, "POST", "/auth/signup", headers=[(b"content-length", declared)]
    )

    assert status == 400
    assert body == b'{"detail":"Invalid Content-Length"}'


@pytest.mark.parametrize("declared", [b"1048577", b"9" * 5000], ids=["limit+1", "5000-digits"])
async def test_a_declared_content_length_over_the_limit_is_413_before_reading(
    app: FastAPI, declared: bytes
) -> None:
    status, body = await raw_request(
        app, "POST", "/auth/signup", headers=[(b"content-length", declared)]
    )

    assert status == 413
    assert body == b'{"detail":"Request body is larger than the limit of 1048576 bytes"}'


async def test_a_content_length_with_leading_zeros_is_read(app: FastAPI) -> None:
    body = b'{"name": "Carla", "email": "carla@example.com", "password": "pizza-pie"}'
    declared = b"000" + str(len(body)).encode()

    status, _ = await raw_request(
        app,
        "POST",
        "/auth/signup",
        headers=[(b"content-length", declared), (b"content-type", b"application/json")],
        body=body,
    )

    assert status == 201


async def raw_request(
    app: FastAPI, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, bytes]:
    """Call the ASGI app directly, with headers no HTTP client would send."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


# ---------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "Carla", "email": "carla@example.com"',
        b"{'name': 'Carla'}",
        b'{"name": "Carla",}',
        b"",
        b"null",
        b"[]",
        b'"a string"',
        b"42",
    ],
    ids=[
        "truncated",
        "single-quotes",
        "trailing-comma",
        "empty",
        "null",
        "list",
        "string",
        "number",
    ],
)
async def test_a_malformed_or_non_object_json_body_is_422(
    client: httpx.AsyncClient, app: FastAPI, raw: bytes
) -> None:
    response = await client.post(
        "/auth/signup", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert isinstance(detail_of(response), list)
    assert await count(app, User) == 0


async def test_malformed_json_reports_where_it_broke(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/signup", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )

    assert detail_of(response)[0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "Ca\x00rla", "email": "carla@example.com", "password": "pizza-margherita"}',
        b'\x00{"name": "Carla"}',
        b'{"name": "Carla\xff\xfe", "email": "carla@example.com", "password": "pizza-margherita"}',
        b"[" * 100_000,
    ],
    ids=["raw-nul-in-string", "raw-nul-before-object", "invalid-utf8", "deeply-nested"],
)
async def test_bytes_that_are_not_json_are_a_4xx(
    client: httpx.AsyncClient, app: FastAPI, raw: bytes
) -> None:
    response = await client.post(
        "/auth/signup", content=raw, headers={"Content-Type": "application/json"}
    )

    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()
    assert await count(app, User) == 0


async def test_an_escaped_nul_in_a_string_is_422(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post(
        "/auth/signup",
        content=b'{"name": "Ca\\u0000rla", "email": "carla@example.com", "password": "pizza-pie"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", "name"]


@pytest.mark.parametrize(
    "number",
    [b"1" + b"0" * 40, b"9" * 5000, b"1e400", b"NaN", b"-Infinity"],
    ids=["1e40-integer", "5000-digits", "1e400-float", "nan", "minus-infinity"],
)
async def test_a_huge_or_non_finite_number_is_a_4xx(
    client: httpx.AsyncClient, admin: Account, customer: Account, number: bytes
) -> None:
    response = await client.patch(
        f"/users/{customer.id}",
        content=b'{"is_admin": ' + number + b"}",
        headers={**admin.headers, "Content-Type": "application/json"},
    )

    assert 400 <= response.status_code < 500, response.text
    assert (await client.get("/users/me", headers=customer.headers)).json()["is_admin"] is False


async def test_a_huge_integer_in_a_name_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/signup", json={**SIGNUP, "name": 10**40})

    assert response.status_code == 422


async def test_a_json_body_sent_as_text_plain_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/signup",
        content=b'{"name": "Carla", "email": "carla@example.com", "password": "pizza-pie"}',
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 422


async def test_a_signup_sent_as_a_form_is_422(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post("/auth/signup", data=SIGNUP)

    assert response.status_code == 422
    assert await count(app, User) == 0
