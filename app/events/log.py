"""The order event log: one row per change to an order, written in the change's transaction.

The table is the truth. A change that rolls back leaves no event; a change that commits
has its event, and readers find it by id (`app.events.broker`). Ids must increase in
commit order: a reader that has seen id 42 must never later find a 41.

- SQLite: every write transaction holds the database's one write lock from its
  `BEGIN IMMEDIATE` to its commit, so rows are numbered in commit order already.
- PostgreSQL: a sequence hands out ids when rows are inserted, not when they commit; two
  transactions can commit in the other order. So the id a row is inserted with is only a
  placeholder: a deferred constraint trigger (`app.order_event_triggers`) gives it
  its id during the commit itself, under a transaction advisory lock held until the
  commit is done, so the next transaction's event is numbered only after this one has
  committed. The lock is held for the commit alone (never while the app is between two
  statements), and the rest of the work of concurrent changes overlaps. The trigger also
  sends a NOTIFY, which PostgreSQL delivers when (and only if) the transaction commits, to
  wake the readers of every process.

After the commit this process's readers are woken at once, without waiting for the
notification.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from weakref import WeakSet

import orjson
from sqlalchemy import Integer, String, Text, bindparam, delete, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from sqlalchemy.sql.elements import BindParameter

from app.db import write_rows
from app.errors import UserGone
from app.schemas import public_json
from app.services.callers import active_caller_condition
from app.tables import EVENTS, USERS
from app.timestamps import UTCDateTime, utcnow


class OrderEventKind(StrEnum):
    CREATED = "order.created"
    UPDATED = "order.updated"
    COMPLETED = "order.completed"
    CANCELLED = "order.cancelled"


KIND_AFTER_CHANGE = {
    "pending": OrderEventKind.UPDATED,  # only a pending order's items change
    "completed": OrderEventKind.COMPLETED,
    "cancelled": OrderEventKind.CANCELLED,
}

EVENT_VALUES: dict[str, BindParameter[Any]] = {
    "kind": bindparam("kind", type_=String),
    "order_id": bindparam("order_id", type_=Integer),
    "user_id": bindparam("user_id", type_=Integer),
    "data": bindparam("data", type_=Text),
    "created_at": bindparam("created_at", type_=UTCDateTime),
}

INSERT_EVENT = insert(EVENTS).values(EVENT_VALUES)


# ---------------------------------------------------------------- waking this process


class _Readers:
    """The event readers of this process, each known by its engine's connection pool: a
    commit through a pool wakes the readers of that database."""

    def __init__(self) -> None:
        self._by_pool: dict[Pool, WeakSet[Any]] = {}

    def add(self, pool: Pool, reader: Any) -> None:
        self._by_pool.setdefault(pool, WeakSet()).add(reader)

    def remove(self, pool: Pool, reader: Any) -> None:
        readers = self._by_pool.get(pool)
        if readers is not None:
            readers.discard(reader)
            if not readers:
                del self._by_pool[pool]

    def wake(self, pool: Pool) -> None:
        for reader in self._by_pool.get(pool, ()):
            reader.wake()


readers = _Readers()
WAKE_AFTER_COMMIT = "order_events_written"


@event.listens_for(Session, "after_commit")
def _wake_readers(session: Session) -> None:
    if session.info.pop(WAKE_AFTER_COMMIT, False):
        bind = session.get_bind()
        readers.wake(bind.pool)  # type: ignore[union-attr]


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(WAKE_AFTER_COMMIT, None)


# ---------------------------------------------------------------- writing


def kind_after_change(order: dict[str, Any]) -> OrderEventKind:
    """The kind of event of a change to an existing order, from its status after it."""
    return KIND_AFTER_CHANGE[order["status"]]


async def record_order_event(
    session: AsyncSession, order: dict[str, Any] | str, kind: OrderEventKind | None = None
) -> None:
    """Write the event of a change to `order` (as `GET /orders/{id}` returns it after the
    change: its dict, or its JSON text) in the session's transaction. `kind` defaults to
    what the order's status says of a change to an existing order (`kind_after_change`)."""
    if isinstance(order, str):
        data, fields = order, orjson.loads(order)
    else:
        data, fields = public_json(order).decode(), order
    await write_rows(
        session,
        INSERT_EVENT,
        {
            "kind": kind or kind_after_change(fields),
            "order_id": fields["id"],
            "user_id": fields["user_id"],
            "data": data,
            "created_at": utcnow(),
        },
    )
    session.info[WAKE_AFTER_COMMIT] = True


# ---------------------------------------------------------------- purging

OLDEST_KEPT = (
    select(EVENTS.c.id)
    .where(EVENTS.c.created_at >= bindparam("kept_since"))
    .order_by(EVENTS.c.id)
    .limit(1)
    .scalar_subquery()
)
# Ids follow time, so the expired events are the ones before the oldest event kept: found
# by walking the primary key from its start, past the rows about to go (no index on the
# time needed, so no second index to write at every change).
PURGE_EXPIRED = delete(EVENTS).where(
    EVENTS.c.id.in_(
        select(EVENTS.c.id)
        .where(
            EVENTS.c.id
            < func.coalesce(OLDEST_KEPT, select(func.max(EVENTS.c.id) + 1).scalar_subquery())
        )
        .order_by(EVENTS.c.id)
        .limit(bindparam("limit", type_=Integer))
        .scalar_subquery()
    )
)


async def purge_expired_events(
    session: AsyncSession, now: datetime, retention: timedelta, limit: int
) -> int:
    """Delete at most `limit` of the events older than `retention` at `now`, the oldest
    first; how many went. The caller commits (see `app.services.purge`)."""
    result = await session.execute(PURGE_EXPIRED, {"kept_since": now - retention, "limit": limit})
    return int(result.rowcount)  # type: ignore[attr-defined]


CALLER_AND_NEWEST_EVENT = select(
    USERS.c.is_admin, select(func.coalesce(func.max(EVENTS.c.id), 0)).scalar_subquery()
).where(active_caller_condition())
"""The caller's `is_admin` and the id of the newest event; no row when the caller is gone."""


async def caller_and_newest_event(session: AsyncSession, caller_id: int) -> tuple[bool, int]:
    """Whether the caller is an admin (`UserGone` when gone or deactivated) and the id of
    the newest event, where a stream opened now starts."""
    row = (await session.execute(CALLER_AND_NEWEST_EVENT, {"caller_id": caller_id})).first()
    if row is None:
        raise UserGone
    return bool(row[0]), int(row[1])
