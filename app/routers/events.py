"""`GET /orders/events`: the order changes the caller may see, as Server-Sent Events.

Included before the orders router, whose `/orders/{order_id}` would otherwise take
`/orders/events` for an order id (and refuse it with a 422).
"""

import math
from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse

from app.db import Database
from app.errors import TooManyStreams
from app.events.broker import OrderEventBroker, TooManyStreamsError
from app.events.log import OrderEventKind, caller_and_newest_event
from app.events.stream import OrderEventResponse, order_event_frames, ping
from app.openapi import BEARER_TOKEN_REQUIRED
from app.routers.common import PrefixedRouter, error_responses
from app.schemas import ErrorDetail
from app.security import TokenUserId, app_settings, decode_token, oauth2_scheme

router = PrefixedRouter(prefix="/orders", tags=["orders"])

MAX_EVENT_ID = 2**63 - 1

EVENT_ID_DESCRIPTION = (
    "Resume after this event id: every kept event after it that you may see is sent first, "
    "then the live ones. Without it the stream starts with the changes committed after it "
    "opens."
)

STREAM_DESCRIPTION = f"""A stream of Server-Sent Events: each is

```
id: <event id, increasing in commit order>
event: <one of {", ".join(kind.value for kind in OrderEventKind)}>
data: <the order right after the change, as GET /orders/{{order_id}} returns it (OrderPublic)>
```

with `data` on one line. A `: ping` comment line comes every `EVENTS_PING_SECONDS`."""

EXAMPLE_STREAM = (
    "id: 42\nevent: order.created\n"
    'data: {"status":"pending","total_cents":1800,"id":7,"user_id":3,'
    '"created_at":"2026-12-02T12:00:00Z","updated_at":"2026-12-02T12:00:00Z","items":[]}\n\n'
    ": ping\n\n"
)

STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": STREAM_DESCRIPTION,
        "content": {
            "text/event-stream": {
                "schema": {"type": "string", "description": "Events carrying OrderPublic"},
                "example": EXAMPLE_STREAM,
                # The shape of each event's `data`, for client generators.
                "x-event-data": {"$ref": "#/components/schemas/OrderPublic"},
            },
        },
    },
    **error_responses(401, 422),
    429: {
        "model": ErrorDetail,
        "description": "Too many open streams of yours on this server: see `Retry-After`",
    },
}


def _broker(request: Request) -> OrderEventBroker:
    broker: OrderEventBroker = request.app.state.order_events
    return broker


async def _token_expiry(request: Request) -> float:
    """The Unix time at which the request's access token (already checked) expires."""
    token = await oauth2_scheme(request)
    assert token is not None
    return float(decode_token(token, "access", app_settings(request))["exp"])


async def _caller_and_newest_event(database: Database, caller_id: int) -> tuple[bool, int]:
    """In a session of its own, closed before the stream starts (a stream holds no
    connection)."""
    async with database.read_sessions() as session:
        return await caller_and_newest_event(session, caller_id)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    operation_id="stream_order_events",
    summary="A live stream of changes to your orders (every order for an admin)",
    responses=STREAM_RESPONSES,
    openapi_extra=BEARER_TOKEN_REQUIRED,
)
async def stream_order_events(
    request: Request,
    caller_id: TokenUserId,
    last_event_id_header: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, le=MAX_EVENT_ID, description=EVENT_ID_DESCRIPTION),
    ] = None,
    last_event_id: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_EVENT_ID,
            description="As the `Last-Event-ID` header (which wins when both are sent)",
        ),
    ] = None,
) -> Response:
    """Server-Sent Events (`text/event-stream`) of every change to the orders you may see:
    a customer their own, an admin every order. Event names: `order.created`,
    `order.updated` (items added, changed or removed), `order.completed`,
    `order.cancelled`; each event's `data` is the order (`OrderPublic`) right after the
    change, and its `id` increases in commit order.

    Reconnect with `Last-Event-ID` (as browsers' `EventSource` does by itself) to get every
    kept event after it first: a reconnect loses nothing. The stream ends when the access
    token that opened it expires, or when your account is deactivated; reconnect with a
    fresh token. 429 past `EVENTS_MAX_STREAMS_PER_USER` open streams of yours.

    Try it: `curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/orders/events`
    """
    settings = app_settings(request)
    database: Database = request.app.state.db
    expires_at = await _token_expiry(request)
    is_admin, newest_id = await _caller_and_newest_event(database, caller_id)
    resume_after = last_event_id_header if last_event_id_header is not None else last_event_id
    position = newest_id if resume_after is None else min(resume_after, newest_id)
    broker = _broker(request)
    await broker.ready()
    try:
        subscription = broker.subscribe(caller_id, is_admin, position)
    except TooManyStreamsError:
        raise TooManyStreams(math.ceil(settings.events_ping_seconds)) from None
    return OrderEventResponse(
        subscription,
        order_event_frames(database, subscription, expires_at),
        ping=settings.events_ping_seconds,
        ping_message_factory=ping,
    )
