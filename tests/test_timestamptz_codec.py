"""PostgreSQL's `timestamptz` through the memo that `app.pg_timestamp_codec` gives asyncpg: the same
datetimes, both ways, as asyncpg's own codec.

The codec's functions are checked everywhere; against asyncpg's own decoding and encoding
on a real server when TEST_DATABASE_URL is set.
"""

from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import make_url, text

from app.pg_timestamp_codec import (
    PG_INFINITY,
    PG_NEGATIVE_INFINITY,
    decode_timestamptz,
    encode_timestamptz,
)
from tests.conftest import TEST_DATABASE_URL

# Microseconds since 2000-01-01 UTC, as PostgreSQL sends them, and what asyncpg makes of them.
KNOWN = [
    (0, datetime(2000, 1, 1, tzinfo=UTC)),
    (849_223_807_123_456, datetime(2026, 11, 28, 23, 30, 7, 123_456, tzinfo=UTC)),
    (-1, datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    (-63_082_281_600_000_000, datetime(1, 1, 1, tzinfo=UTC)),
    (252_455_615_999_999_999, datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
    (PG_INFINITY, datetime.max),
    (PG_NEGATIVE_INFINITY, datetime.min),
]
# What asyncpg sends for a value: the instants of `datetime.max` and `datetime.min` too
# are the infinities.
SENT = [
    (datetime(2000, 1, 1, tzinfo=UTC), 0),
    (datetime(2026, 11, 28, 23, 30, 7, 123_456, tzinfo=UTC), 849_223_807_123_456),
    (datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1),
    (datetime(1, 1, 1, tzinfo=UTC), PG_NEGATIVE_INFINITY),
    (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), PG_INFINITY),
    (datetime.max, PG_INFINITY),
    (datetime.min, PG_NEGATIVE_INFINITY),
]
STORED = [
    "2026-11-28 23:30:07.123456+00",
    "1999-12-31 23:59:59.999999+00",
    "2000-01-01 00:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2026-03-29 02:30:00+02",
    "infinity",
    "-infinity",
]


@pytest.mark.parametrize(("microseconds", "expected"), KNOWN)
def test_a_timestamp_decodes_as_asyncpg_decodes_it(microseconds: int, expected: datetime) -> None:
    decoded = decode_timestamptz((microseconds,))

    assert decoded == expected
    assert decoded.tzinfo == expected.tzinfo


@pytest.mark.parametrize(("value", "expected"), SENT)
def test_a_datetime_encodes_as_asyncpg_encodes_it(value: datetime, expected: int) -> None:
    assert encode_timestamptz(value) == (expected,)


def test_an_aware_datetime_in_another_zone_encodes_as_the_same_instant() -> None:
    in_utc = datetime(2026, 11, 28, 23, 30, 7, 123_456, tzinfo=UTC)
    in_tokyo = in_utc.astimezone(timezone(timedelta(hours=9)))

    assert encode_timestamptz(in_tokyo) == encode_timestamptz(in_utc)


def test_a_naive_datetime_encodes_as_local_time_like_asyncpg() -> None:
    naive = datetime(2026, 6, 1, 12, 0)

    assert encode_timestamptz(naive) == encode_timestamptz(naive.astimezone(UTC))


def test_a_date_encodes_as_its_midnight_at_the_local_offset_like_asyncpg() -> None:
    local = datetime.now(UTC).astimezone().tzinfo

    assert encode_timestamptz(date(2026, 11, 28)) == encode_timestamptz(
        datetime(2026, 11, 28, tzinfo=local)
    )


if TEST_DATABASE_URL is not None:

    async def asyncpg_itself() -> asyncpg.Connection:
        url = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
        return await asyncpg.connect(url.render_as_string(hide_password=False))

    async def test_the_apps_connections_decode_timestamps_through_the_memo(
        app: FastAPI,
    ) -> None:
        query = text("SELECT '2026-11-28 23:30:07.123456+00'::timestamptz")
        async with app.state.db.engine.connect() as connection:
            first = (await connection.execute(query)).scalar_one()
            again = (await connection.execute(query)).scalar_one()

        assert again is first  # asyncpg's own codec makes a new datetime every time

    async def test_timestamps_read_through_the_app_equal_asyncpgs_own(app: FastAPI) -> None:
        query = "SELECT " + ", ".join(f"'{value}'::timestamptz" for value in STORED)
        plain = await asyncpg_itself()
        try:
            expected = list(await plain.fetchrow(query))
        finally:
            await plain.close()

        async with app.state.db.engine.connect() as connection:
            row = (await connection.execute(text(query))).one()

        assert list(row) == expected
        assert [value.tzinfo for value in row] == [value.tzinfo for value in expected]

    async def test_timestamps_sent_through_the_app_are_stored_as_asyncpg_stores_them(
        app: FastAPI,
    ) -> None:
        values: list[date] = [value for value, _ in SENT]
        values += [
            datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 6, 1, 12, 0),
            date(2026, 11, 28),
        ]
        plain = await asyncpg_itself()
        try:
            expected = [await plain.fetchval("SELECT $1::timestamptz::text", v) for v in values]
        finally:
            await plain.close()

        async with app.state.db.engine.connect() as connection:
            as_text = text("SELECT CAST(:value AS timestamptz)::text")
            stored = [
                (await connection.execute(as_text, {"value": value})).scalar_one()
                for value in values
            ]

        assert stored == expected
