"""The one way rows are counted: a page tells how many rows match over all pages, exactly
up to `COUNT_LIMIT` (SPEC §12).

The orders are not counted here: their counts are kept in `order_counts` (see
`app.services.orders.reads`).
"""

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, func, literal, select

from app.paging import COUNT_LIMIT


def count_of(table: FromClause, *filters: ColumnElement[bool]) -> Select[Any]:
    """How many of the table's rows pass the filters, counted no further than one past
    `COUNT_LIMIT` (so it reads at most that many index entries, whatever the table's
    size), as a statement (or, with `.scalar_subquery()`, a column that a page's
    statement carries on each row). `app.paging.bounded_count` tells the page's count."""
    matching = select(literal(1)).select_from(table).where(*filters).limit(COUNT_LIMIT + 1)
    return select(func.count()).select_from(matching.subquery())
