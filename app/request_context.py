"""What the app knows about the request being served, for its log lines and its metrics.

One pure ASGI middleware gives each HTTP request an id (the client's `X-Request-ID` when it
is 1-128 characters of `[A-Za-z0-9._-]`, else a new random one), sends it back, and when
the response is done writes the request's access line and its metrics. The id and the
caller's user id live in a context variable, so every log line written while serving the
request can carry them (see `app.logging_setup`).
"""

import logging
import re
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics

REQUEST_ID_HEADER = b"x-request-id"
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
UNMATCHED_ROUTE = "(unmatched)"
"""The route label of a path no route matches: one label, however many such paths come."""

access_logger = logging.getLogger("app.access")


@dataclass
class RequestContext:
    request_id: str
    user_id: int | None = None


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current_request() -> RequestContext | None:
    """The request being served, or None outside a request (start-up, the command line)."""
    return _current.get()


def set_user_id(user_id: int) -> None:
    """Name the caller of the request being served, once their token is checked."""
    context = _current.get()
    if context is not None:
        context.user_id = user_id


def request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            candidate: str = value.decode("latin-1")
            if VALID_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return secrets.token_hex(16)


def route_template(scope: Scope) -> str:
    """The path of the route that served the request (`/orders/{order_id}`), never the raw
    path, so that the metrics' label values stay few."""
    route = scope.get("route")
    path: str | None = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path or UNMATCHED_ROUTE


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = True, metrics_on: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics_on = metrics_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(request_id_from(scope))
        token = _current.set(context)
        header = (REQUEST_ID_HEADER, context.request_id.encode("latin-1"))
        status = 500  # what the client gets when the app raises before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, context, status, time.perf_counter() - started)
            _current.reset(token)

    def _record(self, scope: Scope, context: RequestContext, status: int, seconds: float) -> None:
        method = scope["method"]
        route = route_template(scope)
        if self.metrics_on:
            metrics.observe_request(method, route, status, seconds)
        if self.access_log and access_logger.isEnabledFor(logging.INFO):
            duration_ms = round(seconds * 1000, 2)
            client = client_address(scope)
            access_logger.info(
                '"%s %s" %d %.2f ms user=%s client=%s',
                method,
                route,
                status,
                duration_ms,
                context.user_id if context.user_id is not None else "-",
                client or "-",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                    "user_id": context.user_id,
                    "client": client,
                },
            )
