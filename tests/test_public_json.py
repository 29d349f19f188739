"""`public_json`, the encoder of the hot read paths, writes the bytes the response models
would: the routes skip the models for speed, and a client must not see the difference.

The values are what the database can hold: trimmed names free of NUL, UTC timestamps.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from app.schemas import Page, public_json
from app.tables import OrderPublic, ProductPublic

AWKWARD_TEXTS = [
    "Margherita",
    "Crème brûlée ✓ 🍕",
    "Tab\tnew line\ncarriage\rbell\x07 unit\x1f delete\x7f",
    'Quote " backslash \\ slash / </script>',
    "Line separators \u2028 \u2029 and a BOM \ufeff",
]
TIMESTAMPS = [
    datetime(2026, 11, 28, 20, 1, 2, tzinfo=UTC),
    datetime(2026, 11, 28, 20, 1, 2, 123456, tzinfo=UTC),
    datetime(2026, 11, 28, 20, 1, 2, 100000, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
]


def _as_the_model_writes_it(model: type[BaseModel], content: dict[str, Any]) -> bytes:
    return model.model_validate(content).model_dump_json().encode()


def _product(name: str, created_at: datetime) -> dict[str, Any]:
    return {
        "name": name,
        "description": name,
        "price_cents": 10_000_000,
        "is_available": False,
        "id": 2**31 - 1,
        "created_at": created_at,
    }


def _order(name: str, at: datetime) -> dict[str, Any]:
    item = {
        "product_id": 7,
        "quantity": 100,
        "id": 3,
        "order_id": 5,
        "product_name": name,
        "unit_price_cents": 1250,
        "line_total_cents": 125_000,
    }
    return {
        "status": "completed",
        "total_cents": 125_000,
        "id": 5,
        "user_id": 2,
        "created_at": at,
        "updated_at": at,
        "items": [item, {**item, "id": 4, "product_id": 8}],
    }


@pytest.mark.parametrize("created_at", TIMESTAMPS)
@pytest.mark.parametrize("name", AWKWARD_TEXTS)
def test_a_product_is_written_as_its_model_writes_it(name: str, created_at: datetime) -> None:
    product = _product(name, created_at)
    assert public_json(product) == _as_the_model_writes_it(ProductPublic, product)


@pytest.mark.parametrize("at", TIMESTAMPS)
@pytest.mark.parametrize("name", AWKWARD_TEXTS)
def test_an_order_is_written_as_its_model_writes_it(name: str, at: datetime) -> None:
    order = _order(name, at)
    assert public_json(order) == _as_the_model_writes_it(OrderPublic, order)


def test_a_page_is_written_as_its_model_writes_it() -> None:
    page = {
        "data": [_order(name, at) for name, at in zip(AWKWARD_TEXTS, TIMESTAMPS, strict=False)],
        "count": 41,
        "count_exact": True,
        "limit": 4,
        "offset": 0,
        "next_cursor": "MS4xNzk2MjIwOTU5LjQy",
    }
    assert public_json(page) == _as_the_model_writes_it(Page[OrderPublic], page)
