"""Pure ASGI middleware: HEAD answered as GET, a guard that refuses request bodies over
a size limit before they are parsed, and the security headers of every response."""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024


def _too_large(limit: int) -> str:
    return f"Request body is larger than the limit of {limit} bytes"


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(Headers(scope=scope).get("content-length"))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _refusal(self, declared: str | None) -> JSONResponse | None:
        """The answer to a Content-Length that is malformed or over the limit, else None."""
        if declared is None:
            return None
        # isdigit() alone admits "²" and other non-ASCII digits that int() refuses.
        if not (declared.isascii() and declared.isdigit()):
            return JSONResponse({"detail": "Invalid Content-Length"}, 400)
        size = declared.lstrip("0") or "0"
        # Lengths first: int() refuses more than 4300 digits.
        if len(size) > len(str(self.max_bytes)) or int(size) > self.max_bytes:
            return JSONResponse({"detail": _too_large(self.max_bytes)}, 413)
        return None

    def _counting(self, receive: Receive) -> Receive:
        """Count streamed (chunked) bodies too; the route sees a 413 once past the limit."""
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, detail=_too_large(self.max_bytes))
            return message

        return counting_receive


class HeadAsGetMiddleware:
    """Answers HEAD as GET, without the body: every resource that answers GET answers HEAD
    too (RFC 9110), the same status and headers (`Content-Length` included), so that
    `curl -I` and uptime monitors see what a GET would. Where the path has no GET, HEAD is
    405 like any other method it lacks. The routes, and so the OpenAPI schema, list GET
    only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        get_scope = {**scope, "method": "GET"}
        try:
            await self.app(get_scope, receive, send_without_body)
        finally:
            # The route that served it, for the access line and the metrics outside.
            if "route" in get_scope:
                scope["route"] = get_scope["route"]


EVERY_RESPONSE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
# Swagger UI and ReDoc are started by an inline script, draw data: images, and ReDoc runs
# a web worker from a blob: URL; everything else they load comes from this origin.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", PAGE_CONTENT_SECURITY_POLICY.encode()),
]
# `/reset-password` sends a stricter policy of its own (no inline script): `app.routers.pages`.
PAGE_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
# RFC 6749 §5.1: a response carrying tokens must not be stored by any cache.
TOKEN_HEADERS = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
TOKEN_PATHS = frozenset({"/auth/login", "/auth/token", "/auth/refresh", "/users/me/password"})


class SecurityHeadersMiddleware:
    """`nosniff` and `no-referrer` on every response; the pages may not be framed; token
    responses may not be cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self._headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _headers_for(path: str) -> list[tuple[bytes, bytes]]:
        if path in TOKEN_PATHS:
            return [*EVERY_RESPONSE_HEADERS, *TOKEN_HEADERS]
        if path in PAGE_PATHS:
            return [*EVERY_RESPONSE_HEADERS, *PAGE_HEADERS]
        return EVERY_RESPONSE_HEADERS
