"""What the order event tests share: a live server's database, accounts, and a client-side
reader of a Server-Sent Events stream.

Streams are read from a live server (`tests.live_server`): over `httpx.ASGITransport`
a response only arrives once it is complete, and a stream never completes.
"""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from sqlalchemy import make_url

from tests.conftest import PASSWORD
from tests.live_server import LiveServer

EVENT_WAIT_SECONDS = 2.0


@contextmanager
def scratch_postgresql(test_url: str, suffix: str) -> Iterator[str]:
    """A new, empty database beside the test database (`<name>_<suffix>`), dropped after."""
    url = make_url(test_url)
    name = f"{url.database}_{suffix}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database,
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Caller:
    id: int
    email: str
    headers: dict[str, str]
    token: str


def log_in(base_url: str, email: str) -> Caller:
    response = httpx.post(f"{base_url}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = httpx.get(f"{base_url}/users/me", headers=headers).json()
    return Caller(me["id"], email, headers, token)


def sign_up(base_url: str) -> Caller:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    response = httpx.post(
        f"{base_url}/auth/signup", json={"name": "Eve Events", "email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return log_in(base_url, email)


def make_admin(server: LiveServer) -> Caller:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    server.cli("create-admin", "--email", email, "--name", "Ada Admin", stdin=PASSWORD)
    return log_in(server.base_url, email)


@dataclass
class Event:
    id: int
    kind: str
    data: dict[str, Any]


@dataclass
class Stream:
    """The events and comments read so far from one open stream."""

    response: httpx.Response
    events: "asyncio.Queue[Event]" = field(default_factory=asyncio.Queue)
    comments: list[tuple[float, str]] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments.append((time.monotonic(), line))
                elif line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif fields:
                    event = Event(int(fields["id"]), fields["event"], json.loads(fields["data"]))
                    self.events.put_nowait(event)
                    fields = {}
        finally:
            self.ended.set()

    async def next(self, within: float = EVENT_WAIT_SECONDS) -> Event:
        async with asyncio.timeout(within):
            return await self.events.get()

    async def take(self, count: int, within: float = EVENT_WAIT_SECONDS) -> list[Event]:
        """`count` events, each within `within` seconds of the one before."""
        return [await self.next(within) for _ in range(count)]

    async def nothing_within(self, seconds: float) -> bool:
        with suppress(TimeoutError):
            await self.next(seconds)
            return False
        return True

    async def ends_within(self, seconds: float) -> bool:
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.ended.wait()
            return True
        return False


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, caller: Caller, **options: Any
) -> AsyncIterator[Stream]:
    """`GET /orders/events` as `caller` (`headers=`, `params=` as httpx takes them), read in
    the background until the block ends."""
    headers = {**caller.headers, **options.pop("headers", {})}
    async with client.stream("GET", "/orders/events", headers=headers, **options) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        stream = Stream(response)
        reader = asyncio.create_task(stream.read())
        try:
            yield stream
        finally:
            reader.cancel()
            with suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader


async def place_order(
    client: httpx.AsyncClient, caller: Caller, *lines: tuple[int, int]
) -> dict[str, Any]:
    body = {"items": [{"product_id": pid, "quantity": qty} for pid, qty in lines]}
    response = await client.post("/orders", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order
