"""A flood of logins must not slow a legitimate login beyond 3x its idle time (issue 18).

An app server of its own, with the abuse limits as shipped (`AUTH_RATE_LIMIT` 60/minute,
the failed-login throttle, the bounded hashing queue), at the real bcrypt cost. The
clients reach it from 127.0.0.1, a trusted proxy by default, so each one names its
address with `X-Forwarded-For`, as nginx would. A legitimate customer logs in alone
first (the idle time), then once every half second during each flood:

- one address: FLOODERS clients without pause, wrong passwords for that customer's email.
  The per-address limits cut them off (the throttle after 5 failures, AUTH_RATE_LIMIT after
  60 requests a minute): they get cheap 429s and the customer's logins keep their speed.
- many addresses: a flood from a new address at every request, each for another email
  (credential stuffing from a botnet), which no per-address limit stops. The bounded
  hashing queue does: the customer's login is either admitted, and then waits for at most
  one round of hashes before its own, or answered 503 with `Retry-After` at once. The
  measure is the time to an answer, either way: no login piles up behind the flood. How
  many were admitted is reported beside it (few, against a flood without pause: the
  per-address limits, or a proxy's, are what keep one customer's flood from mattering).
"""

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from bench.wrk import BenchError

FLOODERS = 16
FLOOD_SECONDS = 8.0
LEGIT_PAUSE_S = 0.5
IDLE_LOGINS = 5
LIMIT = 3.0
CUSTOMER_ADDRESS = "192.0.2.10"
FLOOD_ADDRESS = "198.51.100.66"
WRONG_PASSWORD = "not-the-password-at-all"


@dataclass(frozen=True)
class Account:
    email: str
    password: str


async def timed_login(
    client: httpx.AsyncClient, account: Account, address: str
) -> tuple[int, float]:
    started = time.perf_counter()
    response = await client.post(
        "/auth/login",
        json={"email": account.email, "password": account.password},
        headers={"X-Forwarded-For": address},
    )
    return response.status_code, time.perf_counter() - started


async def flood(
    client: httpx.AsyncClient, target_email: str, spread: bool, until: float
) -> Counter[int]:
    """FLOODERS clients log in with wrong passwords without pause until `until`: for
    `target_email` from one address, or (`spread`) for a new email from a new address at
    every request, as credential stuffing does (one email's failures from every address
    together would soon hit the throttle's ceiling)."""
    statuses: Counter[int] = Counter()
    counter = iter(range(10**9))

    async def flooder() -> None:
        while time.monotonic() < until:
            number = next(counter)
            address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
            email = f"stuffed-{number}@example.com" if spread else target_email
            response = await client.post(
                "/auth/login",
                json={"email": email, "password": WRONG_PASSWORD},
                headers={"X-Forwarded-For": address if spread else FLOOD_ADDRESS},
            )
            statuses[response.status_code] += 1

    await asyncio.gather(*(flooder() for _ in range(FLOODERS)))
    return statuses


async def legit_during(
    client: httpx.AsyncClient, account: Account, until: float
) -> list[tuple[int, float]]:
    await asyncio.sleep(1.0)  # the flood is in full swing
    outcomes = []
    while time.monotonic() < until:
        outcomes.append(await timed_login(client, account, CUSTOMER_ADDRESS))
        await asyncio.sleep(LEGIT_PAUSE_S)
    return outcomes


async def flood_run(
    client: httpx.AsyncClient, account: Account, spread: bool, idle_s: float
) -> dict[str, Any]:
    until = time.monotonic() + FLOOD_SECONDS
    statuses, outcomes = await asyncio.gather(
        flood(client, account.email, spread, until), legit_during(client, account, until)
    )
    unexpected = sorted({status for status, _ in outcomes} - {200, 503})
    if unexpected:
        raise BenchError(f"the customer's logins during the flood answered {outcomes}")
    admitted = [seconds for status, seconds in outcomes if status == 200]
    answered = [seconds for _, seconds in outcomes]
    return {
        "flood_statuses": {str(status): count for status, count in sorted(statuses.items())},
        "customer_logins": len(outcomes),
        "admitted": len(admitted),
        "admitted_p50_ms": round(statistics.median(admitted) * 1000, 1) if admitted else None,
        "answered_p50_ms": round(statistics.median(answered) * 1000, 1),
        "answered_max_ms": round(max(answered) * 1000, 1),
        "factor": round(statistics.median(answered) / idle_s, 2),
    }


async def measure(base_url: str, customer: Account) -> dict[str, Any]:
    """The idle time of a login, then the customer's logins under each flood."""
    limits = httpx.Limits(max_connections=FLOODERS + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        idle = []
        for _ in range(IDLE_LOGINS):
            status, seconds = await timed_login(client, customer, CUSTOMER_ADDRESS)
            if status != 200:
                raise RuntimeError(f"an idle login answered {status}")
            idle.append(seconds)
        idle_s = statistics.median(idle)
        one = await flood_run(client, customer, spread=False, idle_s=idle_s)
        many = await flood_run(client, customer, spread=True, idle_s=idle_s)
    return {
        "idle_ms": round(idle_s * 1000, 1),
        "flooders": FLOODERS,
        "flood_s": FLOOD_SECONDS,
        "one_address": one,
        "many_addresses": many,
        "limit": LIMIT,
        # From one address every login must get in, in time; from many, every login must be
        # answered in time (admitted, or turned away at once), none left piling up.
        "met": one["admitted"] == one["customer_logins"]
        and one["factor"] <= LIMIT
        and many["factor"] <= LIMIT,
    }


def summary_lines(flood_results: dict[str, Any]) -> list[str]:
    one, many = flood_results["one_address"], flood_results["many_addresses"]
    verdict = "met" if flood_results["met"] else "UNMET"
    return [
        f"a customer's login during a flood of {flood_results['flooders']} clients "
        f"(idle {flood_results['idle_ms']:.0f} ms, limit {flood_results['limit']:g}x): {verdict}",
        f"  from one address: {one['admitted']} of {one['customer_logins']} logins in, p50 "
        f"{one['answered_p50_ms']:.0f} ms = {one['factor']:.2f}x idle "
        f"(the flood got {one['flood_statuses']})",
        f"  from many addresses: answered in p50 {many['answered_p50_ms']:.0f} ms = "
        f"{many['factor']:.2f}x idle, {many['admitted']} of {many['customer_logins']} admitted, "
        f"the others 503 with Retry-After (the flood got {many['flood_statuses']})",
    ]
