"""The cursor codec and the bounds of pages, without HTTP (the lists' tests use them)."""

from datetime import UTC, datetime

import pytest

from app.errors import InvalidPage
from app.paging import (
    COUNT_LIMIT,
    MAX_CURSOR_LENGTH,
    MAX_OFFSET,
    CursorCodec,
    PagedList,
    Position,
    bounded_count,
    check_offset,
)

SECRET = "a-secret-key-that-is-long-enough-for-the-settings"
POSITION = Position(datetime(2026, 12, 2, 13, 45, 1, 123456, tzinfo=UTC), 4242)


@pytest.fixture
def codec() -> CursorCodec:
    return CursorCodec(SECRET)


def test_a_cursor_reads_back_as_the_position_it_marks(codec: CursorCodec) -> None:
    cursor = codec.encode(PagedList.ORDERS, POSITION)
    assert codec.decode(PagedList.ORDERS, cursor) == POSITION


def test_a_cursor_keeps_microseconds_and_utc(codec: CursorCodec) -> None:
    decoded = codec.decode(PagedList.USERS, codec.encode(PagedList.USERS, POSITION))
    assert decoded.created_at.microsecond == 123456
    assert decoded.created_at.utcoffset() is not None
    assert decoded.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_a_cursor_is_url_safe_and_short(codec: CursorCodec) -> None:
    cursor = codec.encode(PagedList.PRODUCTS, Position(datetime.max.replace(tzinfo=UTC), 2**31))
    assert len(cursor) < MAX_CURSOR_LENGTH
    assert cursor.replace("-", "").replace("_", "").isalnum()


def test_a_cursor_does_not_show_the_position_in_clear(codec: CursorCodec) -> None:
    assert "4242" not in codec.encode(PagedList.ORDERS, POSITION)


def test_a_cursor_of_one_list_is_refused_by_another(codec: CursorCodec) -> None:
    cursor = codec.encode(PagedList.ORDERS, POSITION)
    with pytest.raises(InvalidPage, match="Invalid cursor"):
        codec.decode(PagedList.PRODUCTS, cursor)


def test_a_cursor_made_with_another_secret_is_refused(codec: CursorCodec) -> None:
    forged = CursorCodec("another-secret-key-that-is-long-enough-0000").encode(
        PagedList.ORDERS, POSITION
    )
    with pytest.raises(InvalidPage, match="Invalid cursor"):
        codec.decode(PagedList.ORDERS, forged)


def test_every_altered_character_is_refused(codec: CursorCodec) -> None:
    cursor = codec.encode(PagedList.ORDERS, POSITION)
    for index, character in enumerate(cursor):
        replacement = "A" if character != "A" else "B"
        tampered = cursor[:index] + replacement + cursor[index + 1 :]
        with pytest.raises(InvalidPage):
            codec.decode(PagedList.ORDERS, tampered)


@pytest.mark.parametrize(
    "malformed",
    ["", "x", "not a cursor", "%%%%", "é" * 10, "A" * (MAX_CURSOR_LENGTH + 1), "====", "\x00"],
)
def test_malformed_cursors_are_refused(codec: CursorCodec, malformed: str) -> None:
    with pytest.raises(InvalidPage, match="Invalid cursor"):
        codec.decode(PagedList.ORDERS, malformed)


def test_a_truncated_cursor_is_refused(codec: CursorCodec) -> None:
    cursor = codec.encode(PagedList.ORDERS, POSITION)
    with pytest.raises(InvalidPage):
        codec.decode(PagedList.ORDERS, cursor[:-4])


def test_an_offset_defaults_to_zero() -> None:
    assert check_offset(None, None) == 0


def test_an_offset_up_to_the_bound_is_kept() -> None:
    assert check_offset(MAX_OFFSET, None) == MAX_OFFSET


def test_an_offset_past_the_bound_names_cursor() -> None:
    with pytest.raises(InvalidPage, match="`cursor`"):
        check_offset(MAX_OFFSET + 1, None)


def test_an_offset_with_a_cursor_is_refused() -> None:
    with pytest.raises(InvalidPage, match="either `cursor` or `offset`"):
        check_offset(0, "some-cursor")


def test_a_count_up_to_the_limit_is_exact() -> None:
    assert bounded_count(COUNT_LIMIT) == (COUNT_LIMIT, True)


def test_a_count_past_the_limit_is_capped_and_flagged() -> None:
    assert bounded_count(COUNT_LIMIT + 1) == (COUNT_LIMIT, False)
