"""One reader per process reads new order events by id and hands them to the open streams.

However many streams are open, a process costs the database one read per wake-up (not one
per stream), and no connection per stream: the reader reads the new rows in id order,
formats each event once, and offers it in memory to the streams that may see it (its
owner's, and every admin's). What wakes the reader:

- a commit of this process that wrote an event (`app.events.log`), at once;
- on PostgreSQL, a NOTIFY from any process, through one listening connection per process;
- a periodic read every `POLL_SECONDS`, which catches a notification lost while the
  listening connection was down, and, on SQLite, the commits of other processes.

The table is the truth: a wake-up only says "read now", so a lost or doubled one only
delays a read or repeats an empty one. With no stream open the reader is not even woken
(a write then costs its insert alone), reads nothing, and finds where the log ends again
before the next stream opens, which wakes it.

Each stream has a bounded buffer: a stream whose client stops reading is cut off once
`STREAM_BUFFER_EVENTS` events wait for it (it resumes with `Last-Event-ID`, losing
nothing). The reader also checks, every half ping interval, that the users with open
streams are still active (one query for all of them), ending the streams of those who are
not. Events past their retention are deleted by `app.services.purge`.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import Database
from app.events.log import readers
from app.metrics import event_streams_open
from app.order_event_triggers import ORDER_EVENTS_CHANNEL
from app.tables import EVENTS, USERS

logger = logging.getLogger("app.events")

READ_BATCH = 100
POLL_SECONDS = 1.0
STREAM_BUFFER_EVENTS = 256
USERS_CHECKED_AT_ONCE = 500

EVENT_COLUMNS = (EVENTS.c.id, EVENTS.c.kind, EVENTS.c.user_id, EVENTS.c.data)
EVENTS_AFTER = (
    select(*EVENT_COLUMNS)
    .where(EVENTS.c.id > bindparam("after"))
    .order_by(EVENTS.c.id)
    .limit(READ_BATCH)
)
NEWEST_EVENT_ID = select(func.coalesce(func.max(EVENTS.c.id), 0))
STILL_ACTIVE = select(USERS.c.id, USERS.c.is_admin).where(
    USERS.c.id.in_(bindparam("user_ids", expanding=True)), USERS.c.is_active
)


@dataclass(frozen=True, slots=True)
class StreamedEvent:
    """An event as every stream sends it: formatted once, shared by all of them."""

    id: int
    owner_id: int
    frame: bytes


def streamed_event(event_id: int, kind: str, owner_id: int, data: str) -> StreamedEvent:
    frame = f"id: {event_id}\r\nevent: {kind}\r\ndata: {data}\r\n\r\n".encode()
    return StreamedEvent(event_id, owner_id, frame)


def streamed_events(rows: Iterable[Any]) -> list[StreamedEvent]:
    """Rows of `EVENT_COLUMNS`, ready to send."""
    return [
        streamed_event(event_id, kind, owner_id, data) for event_id, kind, owner_id, data in rows
    ]


class TooManyStreamsError(Exception):
    """The user has `EVENTS_MAX_STREAMS_PER_USER` streams open in this process already."""


class Subscription:
    """One open stream: what its client may see, where it is, and the events waiting for it.

    `position` is the id of the last event sent: anything at or before it is skipped, so
    an event replayed from the table and offered live again is sent once.
    `replay_until` is the last id the reader had read when the stream opened: the events
    up to it (after `position`) are read from the table by the stream itself, the later
    ones are offered by the reader.
    """

    def __init__(
        self, broker: "OrderEventBroker", user_id: int, is_admin: bool, position: int
    ) -> None:
        self.user_id = user_id
        self.is_admin = is_admin
        self.position = position
        self.replay_until = broker.last_id
        self.ended = False
        self.overflowed = False
        self.on_overflow: Callable[[], None] | None = None
        self._broker = broker
        self._waiting: deque[StreamedEvent] = deque()
        self._ready = asyncio.Event()

    def offer(self, event: StreamedEvent) -> None:
        if self.ended:
            return
        if len(self._waiting) >= STREAM_BUFFER_EVENTS:
            self._cut_off()
            return
        self._waiting.append(event)
        self._ready.set()

    def _cut_off(self) -> None:
        logger.warning("event stream of user %s cut off: its client is not reading", self.user_id)
        self.overflowed = True
        self.end()
        if self.on_overflow is not None:
            self.on_overflow()

    def end(self) -> None:
        """End the stream: it sends nothing more and its generator returns."""
        self.ended = True
        self._waiting.clear()
        self._ready.set()

    async def next_events(self, seconds: float) -> list[StreamedEvent]:
        """The events waiting, once there are some (or after `timeout`, or when the stream
        ends: then none), past `position`, which moves to the last of them."""
        if not self._waiting and not self.ended:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._ready.wait()
        self._ready.clear()
        events = [event for event in self._waiting if event.id > self.position]
        self._waiting.clear()
        if events:
            self.position = events[-1].id
        return events

    def close(self) -> None:
        """The stream is over: forget it (safe to call more than once)."""
        self.end()
        self._broker.unsubscribe(self)


class OrderEventBroker:
    """The reader of one process (one app), and the streams it feeds."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._max_streams = settings.events_max_streams_per_user
        self._user_check_seconds = settings.events_ping_seconds / 2
        self._is_postgresql = database.engine.dialect.name == "postgresql"
        self.last_id: int | None = None
        self._finding_the_end = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._streams_of_user: dict[int, set[Subscription]] = {}
        self._admin_streams: set[Subscription] = set()
        self._reader: asyncio.Task[None] | None = None
        self._listener: AsyncConnection | None = None

    @property
    def open_streams(self) -> int:
        return sum(len(streams) for streams in self._streams_of_user.values())

    # ------------------------------------------------------------ life cycle

    def start_reading(self) -> None:
        """Start the reader (again, if it stopped); it finds where the log ends itself."""
        if self._reader is None or self._reader.done():
            readers.add(self._database.engine.sync_engine.pool, self)
            self._reader = asyncio.create_task(self._read_forever(), name="order-event-reader")

    async def ready(self) -> None:
        """Once the reader runs and knows where the log ends: before any subscription, whose
        replay ends where the reader's reading begins."""
        self.start_reading()
        await self._find_where_the_log_ends()

    async def _find_where_the_log_ends(self) -> None:
        async with self._finding_the_end:
            if self.last_id is None:
                async with self._database.read_sessions() as session:
                    self.last_id = int(await session.scalar(NEWEST_EVENT_ID) or 0)

    async def stop(self) -> None:
        """End every stream (their clients reconnect elsewhere with `Last-Event-ID`)."""
        readers.remove(self._database.engine.sync_engine.pool, self)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._stop_listening()
        for streams in list(self._streams_of_user.values()):
            for subscription in list(streams):
                subscription.end()

    def wake(self) -> None:
        """Read now, if any stream is open: with none, a wake-up would read nothing (a
        stream that opens wakes the reader itself)."""
        if self._streams_of_user:
            self._wakeup.set()

    # ------------------------------------------------------------ streams

    def subscribe(self, user_id: int, is_admin: bool, position: int) -> Subscription:
        """A new stream of `user_id`'s events (every event for an admin) after `position`;
        `TooManyStreamsError` past the limit. Only once `ready`."""
        streams = self._streams_of_user.setdefault(user_id, set())
        if len(streams) >= self._max_streams:
            raise TooManyStreamsError
        subscription = Subscription(self, user_id, is_admin, position)
        streams.add(subscription)
        if is_admin:
            self._admin_streams.add(subscription)
        event_streams_open.inc()
        # What committed while the stream was opening (a wake-up then found no stream).
        self.wake()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        streams = self._streams_of_user.get(subscription.user_id)
        if streams is None or subscription not in streams:
            return
        streams.discard(subscription)
        event_streams_open.dec()
        if not streams:
            del self._streams_of_user[subscription.user_id]
        self._admin_streams.discard(subscription)
        if not self._streams_of_user:
            # No stream to feed: the reader stops reading, and where the log ends is read
            # again before the next stream opens (rather than every event since).
            self.last_id = None

    def _fan_out(self, event: StreamedEvent) -> None:
        for subscription in self._admin_streams:
            subscription.offer(event)
        for subscription in self._streams_of_user.get(event.owner_id, ()):
            if not subscription.is_admin:
                subscription.offer(event)

    # ------------------------------------------------------------ reading

    async def _read_forever(self) -> None:
        next_user_check = time.monotonic()
        while True:
            try:
                if self._is_postgresql:
                    await self._listen()
                await self._wait_for_news(min(POLL_SECONDS, next_user_check - time.monotonic()))
                if self._streams_of_user:
                    await self._read_new_events()
                if time.monotonic() >= next_user_check:
                    next_user_check = time.monotonic() + self._user_check_seconds
                    await self._end_streams_of_inactive_users()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database is away or the connection dropped: try again shortly.
                logger.warning("reading order events failed; retrying", exc_info=True)
                await self._stop_listening()
                await asyncio.sleep(POLL_SECONDS)

    async def _wait_for_news(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0)):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def _read_new_events(self) -> None:
        await self._find_where_the_log_ends()
        after = self.last_id
        async with self._database.read_sessions() as session:
            while True:
                rows = (await session.execute(EVENTS_AFTER, {"after": after})).all()
                for event in streamed_events(rows):
                    self._fan_out(event)
                    after = self.last_id = event.id
                if len(rows) < READ_BATCH:
                    return
                await asyncio.sleep(0)  # let the streams send what they have

    async def _end_streams_of_inactive_users(self) -> None:
        """End the streams of users deactivated or deleted since; follow admin changes."""
        user_ids = list(self._streams_of_user)
        if not user_ids:
            return
        async with self._database.read_sessions() as session:
            for start in range(0, len(user_ids), USERS_CHECKED_AT_ONCE):
                batch = user_ids[start : start + USERS_CHECKED_AT_ONCE]
                rows = await session.execute(STILL_ACTIVE, {"user_ids": batch})
                active: dict[int, bool] = dict(rows.all())
                for user_id in batch:
                    self._follow_user(user_id, active.get(user_id))

    def _follow_user(self, user_id: int, is_admin: bool | None) -> None:
        for subscription in list(self._streams_of_user.get(user_id, ())):
            if is_admin is None:
                subscription.end()
                continue
            subscription.is_admin = is_admin
            if is_admin:
                self._admin_streams.add(subscription)
            else:
                self._admin_streams.discard(subscription)

    # ------------------------------------------------------------ PostgreSQL notifications

    async def _listen(self) -> None:
        """Keep one connection listening for the notifications of every process."""
        if self._listener is not None and not self._listener.closed:
            raw = await self._listener.get_raw_connection()
            if raw.driver_connection is not None and not raw.driver_connection.is_closed():
                return
            await self._stop_listening()
        connection = await self._database.engine.connect()
        raw = await connection.get_raw_connection()
        await raw.driver_connection.add_listener(ORDER_EVENTS_CHANNEL, self._notified)  # type: ignore[union-attr]
        self._listener = connection
        self.wake()  # what was committed while no one listened

    def _notified(self, *_notification: Any) -> None:
        self.wake()

    async def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        # A connection that listens goes back to the pool only without its listener: else
        # the next session on it would wake this process's reader for nothing.
        await listener.invalidate()
        with contextlib.suppress(Exception):
            await listener.close()
