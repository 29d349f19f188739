"""What every router shares: documented error responses, paging and path ids."""

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.tables import MAX_ID, ErrorDetail

ERROR_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, invalid or expired bearer token",
    403: "Not allowed for this user",
    404: "Not found (or not yours)",
    409: "Conflicts with the current state",
    413: "Request body larger than 1 MiB",
    422: "Invalid input: `detail` lists each problem",
    429: "Too many failed logins: see `Retry-After`",
    503: "Database unavailable: retry later",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error codes, each with the `{"detail": ...}` body."""
    return {code: {"model": ErrorDetail, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def id_path(name: str) -> Any:
    return Path(ge=1, le=MAX_ID, description=f"The {name}'s id")


async def count_rows(session: AsyncSession, query: Select[Any]) -> int:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return total or 0
