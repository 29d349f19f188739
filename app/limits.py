"""Abuse limits on the auth routes: at most `AUTH_RATE_LIMIT` requests per client address to
each route (SPEC §11), counted in the database so the limit holds across workers and
instances with no other server.

A route takes the limit with one line: `dependencies=[AUTH_RATE_LIMITED]`.

The client address is the peer's, or, when the peer is a trusted proxy
(`FORWARDED_ALLOW_IPS`), the one its `X-Forwarded-For` names: uvicorn's proxy-headers
middleware (which `python -m app serve` turns on) has already put it in `request.client`.
"""

import time
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request, status
from starlette.routing import BaseRoute

from app.db import SessionDep
from app.security import SettingsDep
from app.services import rate_limits
from app.tables import CLIENT_ADDRESS_MAX_LENGTH

clock: Callable[[], float] = time.time  # the limits' clock (Unix time), moved by the tests
UNKNOWN_CLIENT = "unknown"  # no peer address (a Unix socket): such clients share one count


def client_address(request: Request) -> str:
    """The address the limits count a request under."""
    if request.client is None or not request.client.host:
        return UNKNOWN_CLIENT
    return request.client.host[:CLIENT_ADDRESS_MAX_LENGTH]


def too_many_requests(retry_after: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"Too many requests from your address; try again in {retry_after} seconds",
        headers={"Retry-After": str(retry_after)},
    )


async def limit_auth_requests(request: Request, session: SessionDep, settings: SettingsDep) -> None:
    """Count this request against its route's limit for the client address: 429 past it.

    Committed at once, before the route runs: a request counts whatever its outcome.
    """
    route: BaseRoute = request.scope["route"]
    retry_after = await rate_limits.count_request(
        session,
        getattr(route, "path", request.url.path),
        client_address(request),
        settings.auth_rate,
        clock(),
    )
    await session.commit()
    if retry_after is not None:
        raise too_many_requests(retry_after)


AUTH_RATE_LIMITED = Depends(limit_auth_requests)
