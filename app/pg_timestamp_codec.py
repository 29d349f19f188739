"""PostgreSQL's `timestamptz` values decoded through a memo of the last ones seen.

asyncpg decodes every `timestamptz` of every row to a new datetime, yet the same values
come back again and again: an order's timestamps on each row of its items, the menu's at
every read. The connections decode them through a memo of the last values instead (as
SQLite's timestamps are, see `app.tables`), giving what asyncpg gives
(`tests/test_timestamptz_codec.py` compares the two). Both functions follow asyncpg's
rules, in asyncpg's tuple format (microseconds since 2000-01-01 UTC).
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.timestamps import DECODED_TIMESTAMPS_KEPT

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PG_INFINITY = 2**63 - 1
PG_NEGATIVE_INFINITY = -(2**63)
ONE_MICROSECOND = timedelta(microseconds=1)
# The instants of `datetime.max` and `datetime.min` in UTC, which asyncpg sends as infinities.
INFINITIES = {252_455_615_999_999_999: PG_INFINITY, -63_082_281_600_000_000: PG_NEGATIVE_INFINITY}


@lru_cache(maxsize=DECODED_TIMESTAMPS_KEPT)
def decode_timestamptz(value: tuple[int]) -> datetime:
    """A `timestamptz` as asyncpg decodes it: an aware UTC datetime; the infinities as
    naive `datetime.max` and `datetime.min`."""
    (microseconds,) = value
    if microseconds == PG_INFINITY:
        return datetime.max
    if microseconds == PG_NEGATIVE_INFINITY:
        return datetime.min
    return PG_EPOCH + timedelta(microseconds=microseconds)


def encode_timestamptz(value: date) -> tuple[int]:
    """A datetime by asyncpg's rules: a naive one is local time; a date is its midnight at
    the current local offset; `datetime.max` and `datetime.min` (naive, or as instants)
    are the infinities."""
    if value == datetime.max:
        return (PG_INFINITY,)
    if value == datetime.min:
        return (PG_NEGATIVE_INFINITY,)
    if not isinstance(value, datetime):
        local = datetime.now(UTC).astimezone().tzinfo
        value = datetime(value.year, value.month, value.day, tzinfo=local)
    microseconds = (value.astimezone(UTC) - PG_EPOCH) // ONE_MICROSECOND
    return (INFINITIES.get(microseconds, microseconds),)


async def _decode_timestamps_through_the_memo(driver_connection: Any) -> None:
    """On a new `asyncpg.Connection` (asyncpg has no type hints)."""
    await driver_connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=encode_timestamptz,
        decoder=decode_timestamptz,
        format="tuple",
    )


def use_timestamp_codec(engine: AsyncEngine) -> None:
    """Give each new asyncpg connection of `engine` the memo's codec; other drivers keep
    their own."""
    if engine.dialect.driver != "asyncpg":
        return

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(_decode_timestamps_through_the_memo)
