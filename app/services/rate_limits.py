"""Fixed-window request counters in the database, shared by every worker and instance.

One row per (route, client address, window): each request adds one to its row with a
single atomic upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, on PostgreSQL and
on SQLite alike), so concurrent requests on any number of processes never lose a count.
The rows of windows that have ended are deleted by the purge (`app.services.purge`), off
the requests' path.
"""

import math

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth_tables import AUTH_RATE_COUNTERS as COUNTERS
from app.config import RateLimit

COUNTER_KEY = (COUNTERS.c.route, COUNTERS.c.client_address, COUNTERS.c.window_start)


async def count_request(
    session: AsyncSession, route: str, client_address: str, rate: RateLimit, now: float
) -> int | None:
    """Count one request; the seconds until its window ends when it is over the limit,
    else None. The caller commits."""
    window_start = int(now) // rate.window_seconds * rate.window_seconds
    window_end = window_start + rate.window_seconds
    insert = (
        postgresql.insert(COUNTERS)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(COUNTERS)
    )
    statement = insert.values(
        route=route,
        client_address=client_address,
        window_start=window_start,
        requests=1,
        expires_at=window_end,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=list(COUNTER_KEY), set_={"requests": COUNTERS.c.requests + 1}
    ).returning(COUNTERS.c.requests)
    requests: int = (await session.execute(upsert)).scalar_one()
    if requests > rate.requests:
        return max(1, math.ceil(window_end - now))
    return None
