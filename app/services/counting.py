"""The one way rows are counted: a page tells how many rows match over all pages."""

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, func, select


def count_of(table: FromClause, *filters: ColumnElement[bool]) -> Select[Any]:
    """How many of the table's rows pass the filters, as a statement (or, with
    `.scalar_subquery()`, a column that a page's statement carries on each row)."""
    return select(func.count()).select_from(table).where(*filters)
