"""Two app instances on one PostgreSQL behind nginx: proof that no state lives in a process.

Run by bench/multi_instance_check.sh (`make multi-check`), which starts the instances and
nginx (deploy/nginx.conf) and cleans up. Every property is checked twice: across the two
instances directly (one request to each, by address), and through nginx, whose access log
then shows that the requests of one scenario were answered by both instances.

    python -m bench.multi_instance_check --nginx URL --instances URL URL \
        --access-log PATH --admin-email E --admin-password P

Exits 1 when any check fails; every request is bounded by a timeout and only 127.0.0.1
is contacted.
"""

import argparse
import asyncio
import itertools
import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

PASSWORD = "multi-instance-password"
WRONG_PASSWORD = "not-the-password"
CONCURRENT_WRITES = 200
PRODUCTS = 4  # 200 adds of quantity 1 over 4 products: 50 per line, below the cap of 100
TIMEOUT = httpx.Timeout(60.0, connect=5.0)


class CheckError(AssertionError):
    """A property does not hold; the message says what was seen."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckError(message)


def expect_status(response: httpx.Response, *expected: int) -> httpx.Response:
    expect(
        response.status_code in expected,
        f"{response.request.method} {response.request.url} answered {response.status_code} "
        f"(expected {' or '.join(map(str, expected))}): {response.text[:300]}",
    )
    return response


def expect_all(responses: Sequence[httpx.Response], status_code: int) -> None:
    """Every response has this status; else the counts and the first other answer."""
    statuses = Counter(response.status_code for response in responses)
    other = next((r for r in responses if r.status_code != status_code), None)
    expect(
        other is None,
        f"statuses {dict(statuses)}; first other: "
        + (f"{other.status_code} {other.text[:300]}" if other is not None else ""),
    )


@dataclass
class Targets:
    nginx: httpx.AsyncClient
    one: httpx.AsyncClient
    two: httpx.AsyncClient
    access_log: Path

    @property
    def instances(self) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        return self.one, self.two

    def access_log_size(self) -> int:
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def upstreams_since(self, offset: int) -> Counter[str]:
        """Which instance nginx sent each request to, from its access log, since `offset`."""
        with self.access_log.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").splitlines()
        return Counter(
            part.removeprefix("upstream=")
            for line in lines
            for part in line.split()
            if part.startswith("upstream=")
        )


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    async def check(self, name: str, scenario: Callable[[], Awaitable[str | None]]) -> None:
        try:
            note = await scenario()
        except (CheckError, httpx.HTTPError) as exc:
            self.failed.append(name)
            print(f"FAIL  {name}\n      {type(exc).__name__}: {exc}", flush=True)
        else:
            self.passed.append(name)
            print(f"ok    {name}" + (f"\n      {note}" if note else ""), flush=True)


# ---------------------------------------------------------------- helpers


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    body: dict[str, Any] = expect_status(response, 200).json()
    return body


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def new_customer(client: httpx.AsyncClient, label: str) -> str:
    email = f"{label}-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post(
        "/auth/signup", json={"name": f"Customer {label}", "email": email, "password": PASSWORD}
    )
    expect_status(response, 201)
    return email


def both_served(upstreams: Counter[str], what: str) -> str:
    expect(
        len(upstreams) >= 2,
        f"nginx sent every request of {what} to one instance: {dict(upstreams)}",
    )
    return f"nginx spread {what} over {', '.join(f'{k} ({v})' for k, v in upstreams.items())}"


# ---------------------------------------------------------------- scenarios


async def refresh_rotates_across(first: httpx.AsyncClient, second: httpx.AsyncClient) -> None:
    """Issued by `first`, rotated by `second`; its reuse caught on `first`."""
    email = await new_customer(first, "refresh")
    issued = await login(first, email)
    rotated = expect_status(
        await second.post("/auth/refresh", json={"refresh_token": issued["refresh_token"]}), 200
    ).json()
    expect(rotated["refresh_token"] != issued["refresh_token"], "refresh returned the same token")
    expect_status(await second.get("/users/me", headers=bearer(rotated)), 200)
    reuse = await first.post("/auth/refresh", json={"refresh_token": issued["refresh_token"]})
    expect_status(reuse, 401)
    # Reuse revoked the whole chain: the token rotated on the other instance is dead too.
    expect_status(
        await second.post("/auth/refresh", json={"refresh_token": rotated["refresh_token"]}), 401
    )


async def refresh_through_nginx(targets: Targets) -> str:
    email = await new_customer(targets.nginx, "refresh-nginx")
    issued = await login(targets.nginx, email)
    offset = targets.access_log_size()
    for _ in range(2):  # round robin: the refresh and the reuse land on different instances
        rotated_or_not = await targets.nginx.post(
            "/auth/refresh", json={"refresh_token": issued["refresh_token"]}
        )
        if rotated_or_not.status_code == 200:
            rotated = rotated_or_not.json()
            break
    else:
        raise CheckError("the first refresh through nginx did not succeed")
    expect_status(
        await targets.nginx.post("/auth/refresh", json={"refresh_token": issued["refresh_token"]}),
        401,
    )
    expect_status(
        await targets.nginx.post("/auth/refresh", json={"refresh_token": rotated["refresh_token"]}),
        401,
    )
    return both_served(targets.upstreams_since(offset), "the rotation and the reuses")


async def throttle_across(targets: Targets, clients: Sequence[httpx.AsyncClient]) -> str:
    """Failures spread over `clients`; then the right password is 429 everywhere."""
    email = await new_customer(targets.one, "throttle")
    offset = targets.access_log_size()
    failures = 5  # LOGIN_MAX_FAILURES' default
    for client in itertools.islice(itertools.cycle(clients), failures):
        response = await client.post(
            "/auth/login", json={"email": email, "password": WRONG_PASSWORD}
        )
        expect_status(response, 401)
    for client in (targets.one, targets.two, targets.nginx):
        response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        expect_status(response, 429)
        expect("retry-after" in response.headers, "a 429 without Retry-After")
    if targets.nginx in clients:
        return both_served(targets.upstreams_since(offset), "the failed logins")
    return f"{failures} failures alternating over both instances, then 429 on each and via nginx"


async def idempotent_create(
    targets: Targets, clients: Sequence[httpx.AsyncClient], headers: dict[str, str], product: int
) -> str:
    key = f"multi-{uuid.uuid4().hex}"
    body = {"items": [{"product_id": product, "quantity": 2}]}
    request_headers = {**headers, "Idempotency-Key": key}
    offset = targets.access_log_size()
    responses = [
        await client.post("/orders", json=body, headers=request_headers) for client in clients
    ]
    for response in responses:
        expect_status(response, 201)
    first = responses[0].json()
    for response in responses[1:]:
        expect(response.json() == first, f"a replay differs: {response.json()} vs {first}")
    changed = await clients[-1].post(
        "/orders",
        json={"items": [{"product_id": product, "quantity": 3}]},
        headers=request_headers,
    )
    expect_status(changed, 409)
    if targets.nginx in clients:
        return both_served(targets.upstreams_since(offset), "the create and its replays")
    return f"order {first['id']} created on one instance, replayed on the other"


async def idempotent_race(
    targets: Targets, headers: dict[str, str], product: int, count: int = 20
) -> str:
    """The same key sent at once to both instances and nginx: one order, the same answer."""
    key = f"race-{uuid.uuid4().hex}"
    body = {"items": [{"product_id": product, "quantity": 1}]}
    before = await order_count(targets.one, headers)
    clients = itertools.islice(itertools.cycle((targets.one, targets.two, targets.nginx)), count)
    responses = await asyncio.gather(
        *(
            client.post("/orders", json=body, headers={**headers, "Idempotency-Key": key})
            for client in clients
        )
    )
    expect_all(responses, 201)
    ids = {response.json()["id"] for response in responses}
    expect(len(ids) == 1, f"{len(ids)} different orders for one key: {sorted(ids)}")
    after = await order_count(targets.one, headers)
    expect(after == before + 1, f"{after - before} orders were created for one key")
    return f"{count} concurrent requests with one key: one order ({ids.pop()})"


async def order_count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = expect_status(await client.get("/orders?limit=1", headers=headers), 200)
    count: int = response.json()["count"]
    return count


def spread(targets: Targets, count: int) -> list[httpx.AsyncClient]:
    """`count` clients taking turns: instance one, instance two, nginx."""
    return list(itertools.islice(itertools.cycle((targets.one, targets.two, targets.nginx)), count))


async def concurrent_item_adds(
    targets: Targets, headers: dict[str, str], prices: dict[int, int]
) -> str:
    """CONCURRENT_WRITES adds to one pending order at once, spread over both instances."""
    order = expect_status(await targets.two.post("/orders", json={}, headers=headers), 201).json()
    product_ids = list(itertools.islice(itertools.cycle(prices), CONCURRENT_WRITES))
    offset = targets.access_log_size()
    responses = await asyncio.gather(
        *(
            client.post(
                f"/orders/{order['id']}/items",
                json={"product_id": product_id, "quantity": 1},
                headers=headers,
            )
            for client, product_id in zip(
                spread(targets, CONCURRENT_WRITES), product_ids, strict=True
            )
        )
    )
    expect_all(responses, 201)

    for client in targets.instances:
        final = expect_status(await client.get(f"/orders/{order['id']}", headers=headers), 200)
        lines = {item["product_id"]: item["quantity"] for item in final.json()["items"]}
        expected = Counter(product_ids)
        expect(lines == dict(expected), f"lines {lines}, expected {dict(expected)}")
        total = sum(prices[product] * quantity for product, quantity in expected.items())
        expect(
            final.json()["total_cents"] == total,
            f"total_cents {final.json()['total_cents']}, expected {total}",
        )
    both_served(targets.upstreams_since(offset), "the adds")
    return (
        f"{CONCURRENT_WRITES} concurrent adds (one, two, nginx in turn): every one 201, "
        f"{len(prices)} lines of {CONCURRENT_WRITES // len(prices)}, total {total} cents "
        "on both instances"
    )


async def concurrent_order_creates(targets: Targets, headers: dict[str, str], product: int) -> str:
    """CONCURRENT_WRITES new orders at once, spread over both instances: none lost."""
    before = await order_count(targets.one, headers)
    responses = await asyncio.gather(
        *(
            client.post(
                "/orders", json={"items": [{"product_id": product, "quantity": 1}]}, headers=headers
            )
            for client in spread(targets, CONCURRENT_WRITES)
        )
    )
    expect_all(responses, 201)
    ids = {response.json()["id"] for response in responses}
    expect(len(ids) == CONCURRENT_WRITES, f"only {len(ids)} distinct order ids")
    counts = [await order_count(client, headers) for client in targets.instances]
    expect(
        counts == [before + CONCURRENT_WRITES] * 2,
        f"order counts {counts}, expected {before + CONCURRENT_WRITES} on both",
    )
    return f"{CONCURRENT_WRITES} concurrent creates: {len(ids)} distinct orders, counted on both"


EVENT_LATENCY_LIMIT = 2.0  # seconds, across instances (SPEC section 10)


def expect_stream(response: httpx.Response) -> None:
    """An event stream opened: its body is read as it comes, so only its status is checked."""
    expect(response.status_code == 200, f"GET /orders/events answered {response.status_code}")


async def _order_events(
    response: httpx.Response, events: "asyncio.Queue[tuple[int, dict[str, Any]]]"
) -> None:
    """Put each event of an open `GET /orders/events` response (its id, its order) on
    `events`."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line and not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
        elif not line and fields:
            events.put_nowait((int(fields["id"]), json.loads(fields["data"])))
            fields = {}


async def _next_event(
    events: "asyncio.Queue[tuple[int, dict[str, Any]]]", what: str
) -> tuple[int, dict[str, Any]]:
    try:
        async with asyncio.timeout(EVENT_LATENCY_LIMIT):
            return await events.get()
    except TimeoutError:
        raise CheckError(f"no event within {EVENT_LATENCY_LIMIT} s {what}") from None


async def events_across(targets: Targets, headers: dict[str, str]) -> str:
    """A stream on instance two sees an order placed through instance one within 2 s; after a
    disconnect, changes made through one meanwhile are replayed on two, then it goes live."""
    events: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()
    async with targets.two.stream("GET", "/orders/events", headers=headers) as response:
        expect_stream(response)
        reader = asyncio.create_task(_order_events(response, events))
        started = asyncio.get_running_loop().time()
        placed = expect_status(await targets.one.post("/orders", json={}, headers=headers), 201)
        last_id, order = await _next_event(events, "on two of an order placed on one")
        latency = asyncio.get_running_loop().time() - started
        reader.cancel()
    expect(order == placed.json(), f"the event carries {order}, not the order {placed.json()}")

    missed = [
        expect_status(await targets.one.post("/orders", json={}, headers=headers), 201).json()
        for _ in range(3)
    ]
    events = asyncio.Queue()
    resume = {**headers, "Last-Event-ID": str(last_id)}
    async with targets.two.stream("GET", "/orders/events", headers=resume) as response:
        expect_stream(response)
        reader = asyncio.create_task(_order_events(response, events))
        replayed = [await _next_event(events, "replayed on two") for _ in missed]
        live = expect_status(await targets.one.post("/orders", json={}, headers=headers), 201)
        after = await _next_event(events, "on two after the replay")
        reader.cancel()
    expect([order for _, order in replayed] == missed, f"replayed {replayed}, missed {missed}")
    ids = [last_id] + [event_id for event_id, _ in replayed] + [after[0]]
    expect(ids == sorted(set(ids)), f"event ids {ids} do not increase")
    expect(after[1] == live.json(), f"the live event carries {after[1]}, not {live.json()}")
    return (
        f"seen on two {latency * 1000:.0f} ms after the order was placed on one; "
        f"resumed on two after id {last_id}: {len(missed)} missed events replayed, then live"
    )


async def main_async(args: argparse.Namespace) -> int:
    # Idle connections are dropped after 2 s, before uvicorn's own 5 s keep-alive timeout:
    # with equal timeouts, a request could go out on a connection the server was closing
    # at that very moment (a transport error, not an answer).
    limits = httpx.Limits(
        max_connections=CONCURRENT_WRITES, max_keepalive_connections=50, keepalive_expiry=2.0
    )

    def client(url: str) -> httpx.AsyncClient:
        host = urlsplit(url).hostname
        if host != "127.0.0.1":
            raise SystemExit(f"only 127.0.0.1 may be contacted, not {host}")
        return httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=limits)

    async with (
        client(args.nginx) as nginx,
        client(args.instances[0]) as one,
        client(args.instances[1]) as two,
    ):
        targets = Targets(nginx=nginx, one=one, two=two, access_log=args.access_log)
        return await run_checks(targets, args.admin_email, args.admin_password)


async def run_checks(targets: Targets, admin_email: str, admin_password: str) -> int:
    report = Report()
    for name, client in (("nginx", targets.nginx), ("one", targets.one), ("two", targets.two)):
        expect_status(await client.get("/health"), 200)
        print(f"      {name}: {client.base_url} healthy", flush=True)

    # The menu: an admin logged in on one instance creates it on the other.
    admin = bearer(await login(targets.one, admin_email, admin_password))
    prices: dict[int, int] = {}
    for number in range(PRODUCTS):
        response = await targets.two.post(
            "/products",
            json={"name": f"Multi {uuid.uuid4().hex[:8]} {number}", "price_cents": 700 + number},
            headers=admin,
        )
        product = expect_status(response, 201).json()
        prices[product["id"]] = product["price_cents"]
    customer = bearer(await login(targets.nginx, await new_customer(targets.one, "orders")))
    first_product = next(iter(prices))

    await report.check(
        "refresh token issued by instance one rotates on two; its reuse is caught on one",
        lambda: _none(refresh_rotates_across(targets.one, targets.two)),
    )
    await report.check(
        "refresh token issued by instance two rotates on one; its reuse is caught on two",
        lambda: _none(refresh_rotates_across(targets.two, targets.one)),
    )
    await report.check(
        "refresh rotation and reuse detection through nginx",
        lambda: refresh_through_nginx(targets),
    )
    await report.check(
        "login throttle counts failures across both instances",
        lambda: throttle_across(targets, targets.instances),
    )
    await report.check(
        "login throttle counts failures through nginx",
        lambda: throttle_across(targets, (targets.nginx,)),
    )
    await report.check(
        "Idempotency-Key: created on one, replayed on two (another body: 409)",
        lambda: idempotent_create(targets, targets.instances, customer, first_product),
    )
    await report.check(
        "Idempotency-Key: replayed through nginx",
        lambda: idempotent_create(
            targets, (targets.nginx, targets.nginx, targets.nginx), customer, first_product
        ),
    )
    await report.check(
        "Idempotency-Key: concurrent requests on both instances make one order",
        lambda: idempotent_race(targets, customer, first_product),
    )
    await report.check(
        f"{CONCURRENT_WRITES} concurrent item adds on one order over both instances lose nothing",
        lambda: concurrent_item_adds(targets, customer, prices),
    )
    await report.check(
        f"{CONCURRENT_WRITES} concurrent order creates over both instances lose nothing",
        lambda: concurrent_order_creates(targets, customer, first_product),
    )
    await report.check(
        "order events: a stream on two sees a change made on one within 2 s, and resumes "
        "there with no gap",
        lambda: events_across(targets, customer),
    )

    total = len(report.passed) + len(report.failed)
    verdict = "all hold" if not report.failed else f"FAILED: {', '.join(report.failed)}"
    print(f"\nmulti-instance check: {len(report.passed)} of {total} properties hold; {verdict}")
    return 1 if report.failed else 0


async def _none(scenario: Awaitable[None]) -> str | None:
    await scenario
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.multi_instance_check")
    parser.add_argument("--nginx", required=True)
    parser.add_argument("--instances", nargs=2, required=True, metavar="URL")
    parser.add_argument("--access-log", type=Path, required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument(
        "--admin-password", default=os.environ.get("ADMIN_PASSWORD", ""), help="or ADMIN_PASSWORD"
    )
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
