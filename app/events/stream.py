"""One event stream: the kept events the client missed, read from the table, then the live
ones its subscription is offered, until the token expires or the stream is ended."""

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from sqlalchemy import bindparam, select
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from app.db import Database
from app.events.broker import EVENT_COLUMNS, READ_BATCH, Subscription, streamed_events
from app.tables import EVENTS

MISSED_EVENTS = (
    select(*EVENT_COLUMNS)
    .where(EVENTS.c.id > bindparam("after"), EVENTS.c.id <= bindparam("until"))
    .order_by(EVENTS.c.id)
    .limit(READ_BATCH)
)
MISSED_OWN_EVENTS = MISSED_EVENTS.where(EVENTS.c.user_id == bindparam("owner_id"))


async def _missed_frames(database: Database, subscription: Subscription) -> AsyncIterator[bytes]:
    """The kept events after the stream's position, up to where the reader was when it
    opened, a page at a time (no connection is held while the client reads)."""
    until = subscription.replay_until or 0
    statement = MISSED_EVENTS if subscription.is_admin else MISSED_OWN_EVENTS
    while subscription.position < until and not subscription.ended:
        async with database.read_sessions() as session:
            params = {
                "after": subscription.position,
                "until": until,
                "owner_id": subscription.user_id,
            }
            rows = (await session.execute(statement, params)).all()
        if not rows:
            return
        for event in streamed_events(rows):
            subscription.position = event.id
            yield event.frame


async def order_event_frames(
    database: Database, subscription: Subscription, expires_at: float
) -> AsyncIterator[bytes]:
    """The stream's body: every event it may see after its position, in id order, until
    `expires_at` (the opening token's expiry, a Unix time) or the end of the stream."""
    try:
        async for frame in _missed_frames(database, subscription):
            yield frame
        while not subscription.ended:
            remaining = expires_at - time.time()
            if remaining <= 0:
                return
            for event in await subscription.next_events(remaining):
                yield event.frame
    finally:
        subscription.close()


def ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping")


class OrderEventResponse(EventSourceResponse):
    """sse-starlette's response for one subscription: always closes it, whether the body
    ever ran or not, and drops the connection at once when the client stops reading (its
    buffer overflowed), rather than wait on a send that may never complete."""

    def __init__(
        self, subscription: Subscription, body: AsyncIterator[bytes], **options: Any
    ) -> None:
        super().__init__(body, **options)
        self._subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with anyio.CancelScope() as cut_off:
                self._subscription.on_overflow = cut_off.cancel
                await super().__call__(scope, receive, send)
        finally:
            self._subscription.close()
