"""Timestamps: timezone-aware UTC on every backend, decoded through a memo when read."""

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":
            return _utc_from_sqlite_text
        if dialect.driver == "asyncpg":
            # asyncpg decodes a `timestamptz` to an aware datetime in UTC already, whatever
            # the session's time zone: nothing to do, for every timestamp of every row.
            return None
        return super().result_processor(dialect, coltype)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Timestamps read back are decoded through a memo of the last values, on both databases
# (here for SQLite's text, in `app.pg_timestamp_codec` for asyncpg's binary): the same
# ones come back again and again, an order's on every row of its items, the menu's at
# every read. A datetime is immutable, so one object may serve every row and request.
DECODED_TIMESTAMPS_KEPT = 4096


@lru_cache(maxsize=DECODED_TIMESTAMPS_KEPT)
def _utc_from_sqlite_text(value: str | None) -> datetime | None:
    """SQLite keeps a timestamp as ISO 8601 text in UTC, without an offset: reading it with
    one appended gives an aware datetime in a single C call, where parsing then
    `replace(tzinfo=UTC)` takes several, on every timestamp of every row read (and the
    memo above skips even that for a value read before)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # text that already carries an offset
        return _as_utc(datetime.fromisoformat(value))


def timestamp_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
