"""Pure ASGI middleware: HEAD answered as GET, and a guard that refuses request bodies over
a size limit before they are parsed."""

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

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
