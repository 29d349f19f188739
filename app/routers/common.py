"""What every router shares: documented error responses, paging and path ids."""

from typing import Annotated, Any

from fastapi import Path, Query, Response
from pydantic import BaseModel, Field
from pydantic_core import to_json
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
    """`limit` and `offset`, read from the query string as one model (not a dependency of
    its own: every sub-dependency costs FastAPI a resolution step on each request)."""

    limit: int = Field(20, ge=1, le=100, description="Items per page")
    offset: int = Field(0, ge=0, le=MAX_ID, description="Items to skip")


PageDep = Annotated[PageParams, Query()]


def id_path(name: str) -> Any:
    return Path(ge=1, le=MAX_ID, description=f"The {name}'s id")


async def count_rows(session: AsyncSession, query: Select[Any]) -> int:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return total or 0


def json_response(content: Any, status_code: int = 200) -> Response:
    """`content`, already in the shape of the route's `response_model`, as a JSON response.

    For rows read from the database (whose constraints hold every rule the models check)
    on the hot paths: FastAPI would validate them against the response model, then
    serialize them; pydantic-core's encoder (the one response models use) writes them
    directly. The route keeps its `response_model` for the OpenAPI schema, and the tests
    check the responses against it.
    """
    return Response(to_json(content), status_code=status_code, media_type="application/json")
