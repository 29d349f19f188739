"""`GET /orders/events`: every committed change, in commit order, to those who may see it,
live and after a reconnect, across processes, within bounds (SPEC §10).

Against live servers (one module-wide, a second on the same database for the
cross-instance cases), on SQLite or, with TEST_DATABASE_URL, on a PostgreSQL database of
their own beside the test database.
"""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest

from app.config import Settings
from app.security import encode_token
from tests.conftest import TEST_DATABASE_URL
from tests.events_support import (
    Caller,
    make_admin,
    open_stream,
    place_order,
    scratch_postgresql,
    sign_up,
)
from tests.live_server import SECRET_KEY, LiveServer, live_server

PING_SECONDS = 1
MAX_STREAMS = 3
SERVER_SETTINGS = {
    "EVENTS_PING_SECONDS": str(PING_SECONDS),
    "EVENTS_MAX_STREAMS_PER_USER": str(MAX_STREAMS),
}


@pytest.fixture(scope="module")
def events_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if TEST_DATABASE_URL:
        with scratch_postgresql(TEST_DATABASE_URL, "live") as url:
            yield url
        return
    yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('events') / 'events.db'}"


@pytest.fixture(scope="module")
def server(events_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(events_database, tmp_path_factory.mktemp("one"), **SERVER_SETTINGS) as one:
        yield one


@pytest.fixture(scope="module")
def other_server(
    server: LiveServer, events_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A second instance on the same database."""
    with live_server(events_database, tmp_path_factory.mktemp("two"), **SERVER_SETTINGS) as two:
        yield two


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> Caller:
    return make_admin(server)


@pytest.fixture(scope="module")
def product_ids(server: LiveServer, admin: Caller) -> list[int]:
    """Three products on the menu."""
    ids = []
    for number in range(3):
        response = httpx.post(
            f"{server.base_url}/products",
            json={"name": f"Events dish {number}", "price_cents": 100 + number},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


@pytest.fixture
def customer(server: LiveServer) -> Caller:
    return sign_up(server.base_url)


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        yield http


@pytest.fixture
async def other_client(other_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=other_server.base_url, timeout=30) as http:
        yield http


# ---------------------------------------------------------------- the stream itself


async def test_stream_is_an_unbuffered_event_stream(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    async with open_stream(client, customer) as stream:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["x-accel-buffering"] == "no"
        assert stream.response.headers["cache-control"] == "no-store"


async def test_each_change_is_one_event_in_order_carrying_the_order_as_returned(
    client: httpx.AsyncClient, customer: Caller, product_ids: list[int]
) -> None:
    first, second, _ = product_ids
    async with open_stream(client, customer) as stream:
        created = await place_order(client, customer, (first, 1))
        order_url = f"/orders/{created['id']}"
        added = await client.post(
            f"{order_url}/items",
            json={"product_id": second, "quantity": 2},
            headers=customer.headers,
        )
        line = added.json()["items"][1]["id"]
        changed = await client.patch(
            f"{order_url}/items/{line}", json={"quantity": 3}, headers=customer.headers
        )
        removed = await client.delete(f"{order_url}/items/{line}", headers=customer.headers)
        completed = await client.post(f"{order_url}/complete", headers=customer.headers)
        events = await stream.take(5)

    assert [event.kind for event in events] == [
        "order.created",
        "order.updated",
        "order.updated",
        "order.updated",
        "order.completed",
    ]
    assert [event.data for event in events] == [
        created,
        added.json(),
        changed.json(),
        removed.json(),
        completed.json(),
    ]
    ids = [event.id for event in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5


async def test_cancelling_is_an_order_cancelled_event(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    async with open_stream(client, customer) as stream:
        order = await place_order(client, customer)
        cancelled = await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)
        events = await stream.take(2)
    assert [event.kind for event in events] == ["order.created", "order.cancelled"]
    assert events[1].data == cancelled.json()


async def test_a_refused_change_sends_no_event(client: httpx.AsyncClient, customer: Caller) -> None:
    order = await place_order(client, customer)
    async with open_stream(client, customer) as stream:
        refused = await client.post(f"/orders/{order['id']}/complete", headers=customer.headers)
        assert refused.status_code == 409
        assert await stream.nothing_within(1.5)


async def test_an_idempotent_replay_sends_no_event(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    headers = {**customer.headers, "Idempotency-Key": "events-once"}
    async with open_stream(client, customer) as stream:
        first = await client.post("/orders", json={}, headers=headers)
        replayed = await client.post("/orders", json={}, headers=headers)
        assert replayed.headers["idempotent-replayed"] == "true"
        assert (await stream.next()).data == first.json()
        assert await stream.nothing_within(1.5)


async def test_a_customer_sees_only_their_own_orders(
    client: httpx.AsyncClient, customer: Caller, server: LiveServer
) -> None:
    someone_else = sign_up(server.base_url)
    async with open_stream(client, customer) as stream:
        await place_order(client, someone_else)
        own = await place_order(client, customer)
        event = await stream.next()
        assert event.data["id"] == own["id"]
        assert await stream.nothing_within(1.0)


async def test_an_admin_sees_every_order(
    client: httpx.AsyncClient, admin: Caller, server: LiveServer
) -> None:
    customers = [sign_up(server.base_url) for _ in range(2)]
    async with open_stream(client, admin) as stream:
        orders = [await place_order(client, customer) for customer in customers]
        events = await stream.take(2)
    assert [event.data["user_id"] for event in events] == [c.id for c in customers]
    assert [event.data for event in events] == orders


async def test_a_new_stream_starts_after_the_newest_event(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    await place_order(client, customer)
    async with open_stream(client, customer) as stream:
        assert await stream.nothing_within(1.0)
        later = await place_order(client, customer)
        assert (await stream.next()).data == later


async def test_reconnecting_with_last_event_id_replays_what_was_missed_then_goes_live(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    async with open_stream(client, customer) as stream:
        seen = await place_order(client, customer)
        last_seen = (await stream.next()).id
    missed = [await place_order(client, customer) for _ in range(3)]

    resume = {"Last-Event-ID": str(last_seen)}
    async with open_stream(client, customer, headers=resume) as stream:
        replayed = await stream.take(3)
        live = await place_order(client, customer)
        assert (await stream.next()).data == live
    assert seen["id"] not in {event.data["id"] for event in replayed}
    assert [event.data for event in replayed] == missed
    assert all(event.id > last_seen for event in replayed)


async def test_the_last_event_id_query_parameter_resumes_as_the_header_does(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    async with open_stream(client, customer) as stream:
        await place_order(client, customer)
        last_seen = (await stream.next()).id
    missed = await place_order(client, customer)
    async with open_stream(client, customer, params={"last_event_id": last_seen}) as stream:
        assert (await stream.next()).data == missed


async def test_a_replay_holds_only_the_callers_events(
    client: httpx.AsyncClient, customer: Caller, server: LiveServer
) -> None:
    someone_else = sign_up(server.base_url)
    async with open_stream(client, customer) as stream:
        await place_order(client, customer)
        last_seen = (await stream.next()).id
    await place_order(client, someone_else)
    own = await place_order(client, customer)
    async with open_stream(client, customer, headers={"Last-Event-ID": str(last_seen)}) as stream:
        assert (await stream.next()).data == own
        assert await stream.nothing_within(1.0)


async def test_pings_come_every_ping_interval(client: httpx.AsyncClient, customer: Caller) -> None:
    async with open_stream(client, customer) as stream:
        await asyncio.sleep(PING_SECONDS * 3.5)
        pings = [moment for moment, comment in stream.comments if comment == ": ping"]
    assert len(pings) >= 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
    assert all(gap < PING_SECONDS * 1.5 for gap in gaps)


async def test_more_streams_than_the_limit_is_429_with_retry_after(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    async with (
        open_stream(client, customer),
        open_stream(client, customer),
        open_stream(client, customer),
    ):
        refused = await client.get("/orders/events", headers=customer.headers)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "stream" in refused.json()["detail"]


async def test_a_closed_stream_frees_its_place(client: httpx.AsyncClient, customer: Caller) -> None:
    for _ in range(MAX_STREAMS + 1):
        async with open_stream(client, customer):
            pass
    await asyncio.sleep(0.5)  # the server notices the disconnects
    async with open_stream(client, customer) as stream:
        assert stream.response.status_code == 200


async def test_concurrent_item_adds_give_one_event_each_with_distinct_totals(
    client: httpx.AsyncClient, customer: Caller, product_ids: list[int]
) -> None:
    order = await place_order(client, customer)
    async with open_stream(client, customer) as stream:
        adds = [
            client.post(
                f"/orders/{order['id']}/items",
                json={"product_id": product_ids[0], "quantity": 1},
                headers=customer.headers,
            )
            for _ in range(10)
        ]
        responses = await asyncio.gather(*adds)
        assert {response.status_code for response in responses} == {201}
        events = await stream.take(10, within=5)
        assert await stream.nothing_within(1.0)
    totals = [event.data["total_cents"] for event in events]
    assert len(set(totals)) == 10
    # Numbered in commit order: each add committed after the one before, so the totals grow.
    assert totals == sorted(totals)
    assert [event.id for event in events] == sorted(event.id for event in events)


async def test_the_stream_ends_when_its_access_token_expires(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    settings = Settings(_env_file=None, secret_key=SECRET_KEY)  # type: ignore[call-arg]
    token, _ = encode_token(customer.id, "access", timedelta(seconds=2), settings)
    short_lived = Caller(customer.id, customer.email, {"Authorization": f"Bearer {token}"}, token)
    async with open_stream(client, short_lived) as stream:
        assert await stream.ends_within(5)


async def test_the_stream_of_a_deactivated_user_ends_within_a_ping_interval(
    client: httpx.AsyncClient, customer: Caller, admin: Caller
) -> None:
    async with open_stream(client, customer) as stream:
        deactivated = await client.patch(
            f"/users/{customer.id}", json={"is_active": False}, headers=admin.headers
        )
        assert deactivated.status_code == 200
        assert await stream.ends_within(PING_SECONDS + 1)


async def test_opening_a_stream_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/orders/events")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_last_event_id_that_is_not_a_number_is_422(
    client: httpx.AsyncClient, customer: Caller
) -> None:
    response = await client.get(
        "/orders/events", headers={**customer.headers, "Last-Event-ID": "latest"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]


# ---------------------------------------------------------------- across instances


async def test_a_change_through_one_instance_reaches_a_stream_on_the_other_within_2_s(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, customer: Caller
) -> None:
    async with open_stream(other_client, customer) as stream:
        started = time.monotonic()
        order = await place_order(client, customer)
        event = await stream.next(within=2.0)
        assert time.monotonic() - started < 2.0
    assert event.data == order


async def test_a_stream_resumes_on_the_other_instance_with_no_gap(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, customer: Caller
) -> None:
    async with open_stream(client, customer) as stream:
        await place_order(client, customer)
        last_seen = (await stream.next()).id
    missed = [await place_order(client, customer) for _ in range(2)]
    resume = {"Last-Event-ID": str(last_seen)}
    async with open_stream(other_client, customer, headers=resume) as stream:
        assert [event.data for event in await stream.take(2)] == missed
        live = await place_order(client, customer)
        assert (await stream.next()).data == live
