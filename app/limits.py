"""Abuse limits on the auth routes: at most `AUTH_RATE_LIMIT` requests per client address to
each route (SPEC §11), counted in the database so the limit holds across workers and
instances with no other server.

A route takes the limit with one line: `dependencies=[AUTH_RATE_LIMITED]`.

The client address is the peer's, or, when the peer is a trusted proxy
(`FORWARDED_ALLOW_IPS`), the one its `X-Forwarded-For` names: uvicorn's proxy-headers
middleware (which `python -m app serve` turns on) has already put it in `request.client`.
"""

import math
import time
from collections.abc import Callable

from fastapi import Depends, Request
from starlette.routing import BaseRoute

from app.auth_tables import CLIENT_ADDRESS_MAX_LENGTH
from app.db import SessionDep
from app.errors import TooManyRequests
from app.security import SettingsDep, hashing_client
from app.services import rate_limits
from app.unit_of_work import commit

clock: Callable[[], float] = time.time  # the limits' clock (Unix time), moved by the tests
UNKNOWN_CLIENT = "unknown"  # no peer address (a Unix socket): such clients share one count
LIMITED_CLIENTS_KEPT = 10_000


class _LimitedClients:
    """The (route, address) pairs this process has seen past their limit, each with the end
    of its window: their further requests in that window are refused without a database
    write. Sound across processes: a window's count only grows, so a pair past its limit
    stays past it until the window ends. Keeps a flood from one address cheap."""

    def __init__(self, kept: int) -> None:
        self._kept = kept
        self._until: dict[tuple[str, str], float] = {}

    def retry_after(self, key: tuple[str, str], now: float) -> int | None:
        until = self._until.get(key)
        if until is None or until <= now:
            return None
        return max(1, math.ceil(until - now))

    def remember(self, key: tuple[str, str], now: float, retry_after: int) -> None:
        if len(self._until) >= self._kept:
            self._until = {k: until for k, until in self._until.items() if until > now}
            if len(self._until) >= self._kept:
                self._until.clear()
        self._until[key] = now + retry_after


def _limited_clients(request: Request) -> _LimitedClients:
    """This app's memory of limited clients (one per app, as its database is)."""
    state = request.app.state
    if not hasattr(state, "limited_clients"):
        state.limited_clients = _LimitedClients(LIMITED_CLIENTS_KEPT)
    limited: _LimitedClients = state.limited_clients
    return limited


def client_address(request: Request) -> str:
    """The address the limits count a request under."""
    if request.client is None or not request.client.host:
        return UNKNOWN_CLIENT
    return request.client.host[:CLIENT_ADDRESS_MAX_LENGTH]


async def limit_auth_requests(request: Request, session: SessionDep, settings: SettingsDep) -> None:
    """Count this request against its route's limit for the client address: 429 past it.

    Committed at once, before the route runs: a request counts whatever its outcome. The
    address is also the one the request's password hashes are counted under, for its
    share of the hashing queue.
    """
    route: BaseRoute = request.scope["route"]
    address = client_address(request)
    hashing_client.set(address)
    key = (getattr(route, "path", request.url.path), address)
    now = clock()
    limited = _limited_clients(request)
    retry_after = limited.retry_after(key, now)
    if retry_after is None:
        retry_after = await rate_limits.count_request(
            session, key[0], address, settings.auth_rate, now
        )
        await commit(session)
        if retry_after is not None:
            limited.remember(key, now, retry_after)
    if retry_after is not None:
        raise TooManyRequests(retry_after)


AUTH_RATE_LIMITED = Depends(limit_auth_requests)
