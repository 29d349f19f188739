"""Deleting what has expired, so that no table grows without bound (SPEC §12).

Everything that expires is one entry of `EXPIRABLES`: its name and a function that
deletes at most `limit` of its expired rows and says how many it deleted. The purge runs
each entry batch by batch, each batch a short transaction of its own: on SQLite no
statement holds the write lock (and, run in place, the event loop) for more than a few
milliseconds; on PostgreSQL a batch skips rows another purger has locked instead of
waiting for them. Purges are idempotent, so any number may run at once: `python -m app
purge` from cron or a timer, and every server instance at a low rate (`run_periodically`,
started by the app's lifespan).
"""

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, bindparam, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth_tables import AUTH_RATE_COUNTERS, LOGIN_FAILURES, REFRESH_TOKENS, RESET_TOKENS
from app.config import Settings
from app.events.log import purge_expired_events
from app.services.orders.idempotency import KEY_LIFETIME
from app.services.rate_limits import COUNTER_KEY
from app.tables import KEYS
from app.timestamps import utcnow

logger = logging.getLogger("app.purge")

BATCH_SIZE = 200
"""Rows per batch: deleted in about a millisecond on SQLite, whose write lock they hold."""
SERVER_BATCHES_PER_PASS = 50
"""A server deletes at most this many batches of each kind per pass: a backlog (say,
after the purge was off for a while) is worked through over several passes."""
PAUSE_BETWEEN_BATCHES_S = 0.05
"""A server's pause between batches, so that requests' writes take their turns."""
DEFAULT_INTERVAL_S = 300.0
JITTER = 0.2
"""Each pass waits the interval ± this share of it, so instances started together drift
apart instead of purging in step."""

PurgeBatch = Callable[[AsyncSession, datetime, Settings, int], Awaitable[int]]
"""Delete at most `limit` rows expired at `now`; return how many were deleted. Flush,
never commit: the purge commits each batch."""


@dataclass(frozen=True)
class Expirable:
    name: str
    purge_batch: PurgeBatch


def _batch_delete(table: Any, key: Any, expired: Any) -> Any:
    """DELETE at most :limit rows of `table` matching `expired`, found through their index
    and named by `key` (a column, or a tuple of the columns of a composite key); on
    PostgreSQL the rows another purger holds are skipped (SQLite has one writer)."""
    columns = key if isinstance(key, tuple) else (key,)
    doomed = (
        select(*columns)
        .where(expired)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    if len(columns) > 1:
        return delete(table).where(tuple_(*columns).in_(doomed))
    return delete(table).where(key.in_(doomed.scalar_subquery()))


PURGE_REFRESH_TOKENS = _batch_delete(
    REFRESH_TOKENS,
    REFRESH_TOKENS.c.jti,
    REFRESH_TOKENS.c.expires_at <= bindparam("cutoff"),
)
PURGE_LOGIN_FAILURES = _batch_delete(
    LOGIN_FAILURES,
    LOGIN_FAILURES.c.id,
    LOGIN_FAILURES.c.created_at <= bindparam("cutoff"),
)
PURGE_IDEMPOTENCY_KEYS = _batch_delete(KEYS, KEYS.c.id, KEYS.c.created_at <= bindparam("cutoff"))
# A reset token's row also counts towards the mails sent to its address in the last hour:
# it goes once it is both past that hour and unusable (spent, voided or expired).
PURGE_RESET_TOKENS = _batch_delete(
    RESET_TOKENS,
    RESET_TOKENS.c.id,
    and_(
        RESET_TOKENS.c.created_at <= bindparam("cutoff"),
        or_(RESET_TOKENS.c.retired_at.is_not(None), RESET_TOKENS.c.expires_at <= bindparam("now")),
    ),
)
RESET_MAILS_WINDOW = timedelta(hours=1)
# A counter's `expires_at` is the Unix second its window ends.
PURGE_AUTH_RATE_COUNTERS = _batch_delete(
    AUTH_RATE_COUNTERS, COUNTER_KEY, AUTH_RATE_COUNTERS.c.expires_at <= bindparam("cutoff")
)


async def _deleted(
    session: AsyncSession, statement: Any, cutoff: datetime | int, limit: int
) -> int:
    result = await session.execute(statement, {"cutoff": cutoff, "limit": limit})
    return int(result.rowcount)  # type: ignore[attr-defined]


async def purge_refresh_tokens(
    session: AsyncSession, now: datetime, _settings: Settings, limit: int
) -> int:
    """Refresh tokens past their expiry: they can no longer be presented, nor reused."""
    return await _deleted(session, PURGE_REFRESH_TOKENS, now, limit)


async def purge_login_failures(
    session: AsyncSession, now: datetime, settings: Settings, limit: int
) -> int:
    """Failed logins that have left the throttle's window: they no longer count."""
    window = timedelta(minutes=settings.login_failure_window_minutes)
    return await _deleted(session, PURGE_LOGIN_FAILURES, now - window, limit)


async def purge_idempotency_keys(
    session: AsyncSession, now: datetime, _settings: Settings, limit: int
) -> int:
    """Idempotency keys older than their lifetime: sent again, they open a new order."""
    return await _deleted(session, PURGE_IDEMPOTENCY_KEYS, now - KEY_LIFETIME, limit)


async def purge_reset_tokens(
    session: AsyncSession, now: datetime, _settings: Settings, limit: int
) -> int:
    """Password reset tokens spent, voided or expired, once past the hour of mail counting."""
    params = {"cutoff": now - RESET_MAILS_WINDOW, "now": now, "limit": limit}
    result = await session.execute(PURGE_RESET_TOKENS, params)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def purge_auth_rate_counters(
    session: AsyncSession, now: datetime, _settings: Settings, limit: int
) -> int:
    """The auth routes' request counters of windows that have ended: they no longer count."""
    return await _deleted(session, PURGE_AUTH_RATE_COUNTERS, math.floor(now.timestamp()), limit)


async def purge_order_events(
    session: AsyncSession, now: datetime, settings: Settings, limit: int
) -> int:
    """Order events older than `EVENTS_RETENTION_HOURS`: no client resumes from them."""
    retention = timedelta(hours=settings.events_retention_hours)
    return await purge_expired_events(session, now, retention, limit)


EXPIRABLES: tuple[Expirable, ...] = (
    Expirable("expired refresh tokens", purge_refresh_tokens),
    Expirable("old failed logins", purge_login_failures),
    Expirable("expired idempotency keys", purge_idempotency_keys),
    Expirable("spent or expired password reset tokens", purge_reset_tokens),
    Expirable("order events past their retention", purge_order_events),
    Expirable("auth rate counters of ended windows", purge_auth_rate_counters),
)
"""Everything the purge deletes: the one list to extend."""


async def purge_expirable(
    sessions: async_sessionmaker[AsyncSession],
    expirable: Expirable,
    settings: Settings,
    *,
    max_batches: int | None = None,
    pause_s: float = 0.0,
) -> int:
    """Delete `expirable`'s expired rows batch by batch, each batch committed on its own,
    until a batch finds fewer than `BATCH_SIZE` (or after `max_batches`); the rows deleted."""
    deleted, batches = 0, 0
    while max_batches is None or batches < max_batches:
        async with sessions() as session:
            in_batch = await expirable.purge_batch(session, utcnow(), settings, BATCH_SIZE)
            await session.commit()
        deleted, batches = deleted + in_batch, batches + 1
        if in_batch < BATCH_SIZE:
            break
        if pause_s:
            await asyncio.sleep(pause_s)
    return deleted


async def purge_everything(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    max_batches: int | None = None,
    pause_s: float = 0.0,
) -> dict[str, int]:
    """One pass over `EXPIRABLES`: the rows deleted, by name."""
    return {
        expirable.name: await purge_expirable(
            sessions, expirable, settings, max_batches=max_batches, pause_s=pause_s
        )
        for expirable in EXPIRABLES
    }


def next_wait(interval_s: float, rng: random.Random) -> float:
    return interval_s * rng.uniform(1 - JITTER, 1 + JITTER)


async def run_periodically(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    interval_s: float,
    rng: random.Random | None = None,
) -> None:
    """A server's low-rate purge, until cancelled: a pass every `interval_s` (± jitter),
    at most `SERVER_BATCHES_PER_PASS` batches of each kind, pausing between batches. A
    pass that fails (the database away) is logged, and the next one tries again."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
    while True:
        await asyncio.sleep(next_wait(interval_s, rng))
        try:
            purged = await purge_everything(
                sessions,
                settings,
                max_batches=SERVER_BATCHES_PER_PASS,
                pause_s=PAUSE_BETWEEN_BATCHES_S,
            )
        except Exception as exc:  # the next pass tries again; the server goes on
            logger.warning("purge pass failed: %s: %s", type(exc).__name__, exc)
            continue
        if any(purged.values()):
            logger.info("purged %s", describe(purged))


def describe(purged: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in purged.items())
