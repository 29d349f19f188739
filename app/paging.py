"""Pages of a list (SPEC §12): signed cursors, and the bounds of offsets and counts.

A cursor marks a position in one list, newest first: the `created_at` and `id` of the
last row of a page. The next page is the rows strictly after it in the list's order, found
through the list's index whatever the depth (keyset paging, no offset walked). A cursor is
opaque to clients and signed with HMAC-SHA256 under a key derived from `SECRET_KEY`, bound
to the list it was made for: a cursor that was altered, forged, or made for another list
is refused. It only marks a position: the caller's visibility and the request's filters
still apply to every page, so a cursor can never show more than the first page could.

No FastAPI here: the routes turn `InvalidCursor` into a 422.
"""

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, tuple_

from app.errors import CursorWithOffset, InvalidCursor, OffsetTooDeep
from app.timestamps import UTCDateTime

MAX_OFFSET = 10_000
"""Offsets serve the first pages; past this a client follows `next_cursor`."""
COUNT_LIMIT = 10_000
"""Counts are exact up to this; past it `count` is this and `count_exact` is false."""
MAX_CURSOR_LENGTH = 512

CURSOR_VERSION = b"1"
KEY_PURPOSE = b"orders-api page cursor"
SIGNATURE_BYTES = 16  # 128 bits of HMAC-SHA256: far beyond guessing, and a short cursor
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


class PagedList(StrEnum):
    """The lists a cursor can belong to: one list's cursor is refused by the others."""

    ORDERS = "orders"
    PRODUCTS = "products"
    USERS = "users"


OFFSET_TOO_DEEP = (
    f"`offset` may be at most {MAX_OFFSET:,}: to read further, follow each page's "
    "`next_cursor` with `cursor`"
)


@dataclass(frozen=True)
class Position:
    """The sort key of the last row of a page: the next page starts after it."""

    created_at: datetime
    id: int


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text.isascii():
        raise InvalidCursor
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor from None
    if _b64encode(data) != text:  # other spellings of the same bytes (stray bits, padding)
        raise InvalidCursor
    return data


CURSORS_REMEMBERED = 1024
"""Cursors a codec keeps once made: a first page is read again and again, and its cursor
(the signature above all) costs 2 % of a read of the menu to make."""


class CursorCodec:
    """Makes and reads the cursors of every list, under one key derived from the secret."""

    def __init__(self, secret_key: str) -> None:
        key = hmac.new(secret_key.encode(), KEY_PURPOSE, hashlib.sha256).digest()
        self._signer = hmac.new(key, digestmod=hashlib.sha256)  # copied for each signature
        self.encode = lru_cache(maxsize=CURSORS_REMEMBERED)(self._encode)

    def _signature(self, paged_list: PagedList, payload: bytes) -> bytes:
        signer = self._signer.copy()
        signer.update(paged_list.value.encode() + b"\n" + payload)
        return signer.digest()[:SIGNATURE_BYTES]

    def _encode(self, paged_list: PagedList, position: Position) -> str:
        """The cursor of `position` in `paged_list` (`encode`, remembered)."""
        microseconds = (position.created_at - EPOCH) // ONE_MICROSECOND
        payload = b"%s.%d.%d" % (CURSOR_VERSION, microseconds, position.id)
        return _b64encode(payload + self._signature(paged_list, payload))

    def decode(self, paged_list: PagedList, cursor: str) -> Position:
        """The position `cursor` marks in `paged_list`; `InvalidCursor` unless this codec
        made it for that list, exactly as it is."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor
        raw = _b64decode(cursor)
        payload, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
        if len(raw) <= SIGNATURE_BYTES or not hmac.compare_digest(
            signature, self._signature(paged_list, payload)
        ):
            raise InvalidCursor
        # Signed by this key, so made by `encode`: the payload is well formed.
        _version, microseconds, row_id = payload.split(b".")
        return Position(EPOCH + int(microseconds) * ONE_MICROSECOND, int(row_id))


def check_offset(offset: int | None, cursor: str | None) -> int:
    """The page's offset (0 for a page reached by cursor); `InvalidCursor` for an offset
    given together with a cursor, or past `MAX_OFFSET`."""
    if offset is None:
        return 0
    if cursor is not None:
        raise CursorWithOffset
    if offset > MAX_OFFSET:
        raise OffsetTooDeep(OFFSET_TOO_DEEP)
    return offset


def bounded_count(matching: int) -> tuple[int, bool]:
    """`count` and `count_exact` for a list where `matching` rows match (or, when more
    than `COUNT_LIMIT` match, at least that many)."""
    if matching > COUNT_LIMIT:
        return COUNT_LIMIT, False
    return matching, True


# ---------------------------------------------------------------- in SQL

AFTER_POSITION_PARAMS = ("after_created_at", "after_id")


def after_position(created_at: ColumnElement[Any], row_id: ColumnElement[Any]) -> Any:
    """The rows after the position bound as `after_created_at` and `after_id`, newest
    first: with the list's filters, one range of the index that ends in (created_at, id)."""
    return tuple_(created_at, row_id) < tuple_(
        bindparam("after_created_at", type_=UTCDateTime()),
        bindparam("after_id", type_=Integer),
    )


def position_params(position: Position | None) -> dict[str, Any]:
    if position is None:
        return {}
    return {"after_created_at": position.created_at, "after_id": position.id}


def page(
    data: list[Any],
    *,
    limit: int,
    offset: int,
    matching: int,
    next_cursor: str | None,
) -> dict[str, Any]:
    """A page as `Page` describes it (`data` already cut to `limit`)."""
    count, count_exact = bounded_count(matching)
    return {
        "data": data,
        "count": count,
        "count_exact": count_exact,
        "limit": limit,
        "offset": offset,
        "next_cursor": next_cursor,
    }
