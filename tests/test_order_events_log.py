"""The order event log and its streams from inside the process: the rows written with each
change, their purge, a stream whose client stops reading, and the end of every stream at
shutdown.

A stream here is the app called as ASGI with a `send` of the test's own: one that never
returns plays a client that stopped reading (its socket full), which no real socket on
one machine does before megabytes are buffered.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.events import broker as broker_module
from app.events.broker import OrderEventBroker
from app.events.log import EVENTS, purge_expired_events, record_order_event
from app.tables import OrderEvent, ProductPublic, utcnow
from tests.conftest import Account, open_order

STREAM_BUFFER_EVENTS = 4
POLL_SECONDS = 0.02
# The stream may hold a buffer's worth taken from its buffer, while a full buffer waits.
ENOUGH_TO_OVERFLOW = 2 * STREAM_BUFFER_EVENTS + 2


@pytest.fixture
async def order_events(app: FastAPI) -> AsyncIterator[OrderEventBroker]:
    """The app's event reader, stopped after the test (the test client runs no lifespan)."""
    broker: OrderEventBroker = app.state.order_events
    yield broker
    await broker.stop()


async def event_rows(app: FastAPI) -> list[Any]:
    async with app.state.db.read_sessions() as session:
        statement = select(EVENTS.c.id, EVENTS.c.kind, EVENTS.c.order_id, EVENTS.c.user_id)
        return list((await session.execute(statement.order_by(EVENTS.c.id))).all())


class RecordingClient:
    """An ASGI client of one stream: it keeps what the app sends; once `stalled`, the next
    body chunk is taken but the send never returns, as a full socket never drains."""

    def __init__(self, stall_after: int | None = None) -> None:
        self.chunks: list[bytes] = []
        self.finished = False
        self._request_read = False
        self._stall_after = stall_after
        self._never = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        if not self._request_read:
            self._request_read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._never.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] != "http.response.body":
            return
        self.chunks.append(message.get("body", b""))
        self.finished = not message.get("more_body", False)
        if self._stall_after is not None and len(self.chunks) >= self._stall_after:
            await self._never.wait()

    def event_ids(self) -> list[int]:
        text = b"".join(self.chunks).decode()
        return [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]


def stream_scope(account: Account, **headers: str) -> dict[str, Any]:
    raw_headers = [(b"host", b"test")] + [
        (name.lower().encode(), value.encode())
        for name, value in {**account.headers, **headers}.items()
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/orders/events",
        "raw_path": b"/orders/events",
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }


async def until(condition: Any, seconds: float = 5.0) -> None:
    """Wait until `condition()` holds; fail after `seconds`."""
    polls = int(seconds / POLL_SECONDS)
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"still not so after {seconds} s")


# ---------------------------------------------------------------- the log


async def test_each_change_writes_one_event_row_with_its_kind_order_and_owner(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, product: ProductPublic
) -> None:
    order = await open_order(client, customer)
    url = f"/orders/{order['id']}"
    added = await client.post(
        f"{url}/items", json={"product_id": product.id, "quantity": 1}, headers=customer.headers
    )
    await client.post(f"{url}/cancel", headers=customer.headers)
    assert added.status_code == 201
    rows = await event_rows(app)
    assert [(kind, order_id, user_id) for _, kind, order_id, user_id in rows] == [
        ("order.created", order["id"], customer.id),
        ("order.updated", order["id"], customer.id),
        ("order.cancelled", order["id"], customer.id),
    ]


async def test_events_are_numbered_in_commit_order_not_in_write_order(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    written_first, written_second = (
        await open_order(client, customer),
        await open_order(client, customer),
    )
    committed: list[int] = []
    first = app.state.db.write_sessions()
    second = app.state.db.write_sessions()

    async def write_and_commit_second() -> None:
        await record_order_event(second, written_second)
        await second.commit()
        committed.append(written_second["id"])

    try:
        await record_order_event(first, written_first)
        later = asyncio.create_task(write_and_commit_second())
        # PostgreSQL lets the second commit now; SQLite's second waits for the write lock.
        await asyncio.wait({later}, timeout=0.5)
        await first.commit()
        committed.append(written_first["id"])
        await later
    finally:
        await first.close()
        await second.close()
    newest_two = (await event_rows(app))[-2:]
    assert [order_id for _, _, order_id, _ in newest_two] == committed


async def test_a_refused_change_writes_no_event_row(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    order = await open_order(client, customer)
    refused = await client.post(f"/orders/{order['id']}/complete", headers=customer.headers)
    assert refused.status_code == 409
    assert len(await event_rows(app)) == 1


async def test_purging_deletes_the_events_past_their_retention_only(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    for _ in range(3):
        await open_order(client, customer)
    newest = (await event_rows(app))[-1][0]
    async with app.state.db.write_sessions() as session:
        await session.execute(
            EVENTS.update()
            .where(EVENTS.c.id < newest)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
        await session.commit()
    async with app.state.db.write_sessions() as session:
        purged = await purge_expired_events(session, utcnow(), timedelta(hours=24), 200)
        await session.commit()
    assert purged == 2
    assert [row[0] for row in await event_rows(app)] == [newest]


async def test_purging_when_every_event_expired_deletes_them_all(
    app: FastAPI, client: httpx.AsyncClient, customer: Account
) -> None:
    await open_order(client, customer)
    async with app.state.db.write_sessions() as session:
        purged = await purge_expired_events(
            session, utcnow() + timedelta(hours=25), timedelta(hours=24), 200
        )
        await session.commit()
        assert purged == 1
        assert await session.scalar(select(func.count()).select_from(OrderEvent)) == 0


async def test_a_commit_that_wrote_an_event_reaches_an_open_stream_at_once(
    app: FastAPI, client: httpx.AsyncClient, customer: Account, order_events: OrderEventBroker
) -> None:
    listening = RecordingClient()
    stream = asyncio.create_task(app(stream_scope(customer), listening.receive, listening.send))
    await until(lambda: order_events.open_streams == 1)
    await asyncio.sleep(0.1)  # the reader's first reads are over
    await open_order(client, customer)
    await until(lambda: listening.event_ids(), seconds=0.5)  # sooner than the periodic read
    await order_events.stop()
    await stream


# ---------------------------------------------------------------- streams in the process


async def test_a_stream_whose_client_stops_reading_is_cut_off(
    app: FastAPI,
    client: httpx.AsyncClient,
    customer: Account,
    order_events: OrderEventBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broker_module, "STREAM_BUFFER_EVENTS", STREAM_BUFFER_EVENTS)
    stalled = RecordingClient(stall_after=1)
    stream = asyncio.create_task(app(stream_scope(customer), stalled.receive, stalled.send))
    await until(lambda: order_events.open_streams == 1)
    for _ in range(ENOUGH_TO_OVERFLOW):
        await open_order(client, customer)
    async with asyncio.timeout(5):
        await stream  # cut off: the call returns though its send never did
    assert order_events.open_streams == 0


async def test_a_cut_off_client_resumes_with_last_event_id_losing_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    customer: Account,
    order_events: OrderEventBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broker_module, "STREAM_BUFFER_EVENTS", STREAM_BUFFER_EVENTS)
    stalled = RecordingClient(stall_after=1)
    stream = asyncio.create_task(app(stream_scope(customer), stalled.receive, stalled.send))
    await until(lambda: order_events.open_streams == 1)
    orders = [await open_order(client, customer) for _ in range(ENOUGH_TO_OVERFLOW)]
    async with asyncio.timeout(5):
        await stream
    await until(lambda: order_events.open_streams == 0)
    received = stalled.event_ids()

    resumed = RecordingClient()
    scope = stream_scope(customer, **{"Last-Event-ID": str(received[-1] if received else 0)})
    resuming = asyncio.create_task(app(scope, resumed.receive, resumed.send))
    await until(lambda: len(received) + len(resumed.event_ids()) >= len(orders))
    await order_events.stop()
    async with asyncio.timeout(5):
        await resuming
    all_ids = received + resumed.event_ids()
    assert all_ids == sorted(set(all_ids))
    assert len(all_ids) == len(orders)


async def test_shutdown_ends_every_stream_cleanly(
    app: FastAPI, customer: Account, admin: Account, order_events: OrderEventBroker
) -> None:
    clients = [RecordingClient(), RecordingClient()]
    streams = [
        asyncio.create_task(app(stream_scope(account), recording.receive, recording.send))
        for account, recording in zip((customer, admin), clients, strict=True)
    ]
    await until(lambda: order_events.open_streams == 2)
    await order_events.stop()
    async with asyncio.timeout(5):
        await asyncio.gather(*streams)
    assert all(recording.finished for recording in clients)
