"""What every router shares: the router class, documented error responses, paging and path
ids."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette._utils import get_route_path  # what Starlette and FastAPI match paths by
from starlette.routing import Match
from starlette.types import Scope

from app.tables import MAX_ID, ErrorDetail, public_json


class PrefixedRouter(APIRouter):
    """An `APIRouter` that FastAPI passes over at once for a path outside its prefix.

    FastAPI tries an included router by trying each of its routes, and every route it
    tries costs: a request for the orders would try each of the menu's routes first
    (measured: 5 % of the instructions of `GET /orders/{id}`). Included without a prefix
    of its own (as every router here is), a router's paths all start with its prefix.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return Match.NONE, {}
        return super().matches(scope)


ERROR_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, invalid or expired bearer token",
    403: "Not allowed for this user",
    404: "Not found (or not yours)",
    409: "Conflicts with the current state",
    413: "Request body larger than 1 MiB",
    422: "Invalid input: `detail` lists each problem",
    429: "Too many requests, or too many failed logins: see `Retry-After`",
    503: "Database unavailable, or the password checks are full: see `Retry-After`",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error codes, each with the `{"detail": ...}` body."""
    return {code: {"model": ErrorDetail, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


# A page's `limit` and `offset`, as two query parameters of their own (each route gives
# the defaults, `DEFAULT_LIMIT` and 0). Not one query model: FastAPI validates a model
# from the query string on every request, even an empty one, where a parameter that is
# absent just takes its default (measured: 6 % of the CPU time of `GET /products`).
DEFAULT_LIMIT = 20
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip")]


def id_path(name: str) -> Any:
    return Path(ge=1, le=MAX_ID, description=f"The {name}'s id")


async def count_rows(session: AsyncSession, query: Select[Any]) -> int:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return total or 0


def json_response(content: Any, status_code: int = 200) -> Response:
    """`content`, already in the shape of the route's `response_model`, as a JSON response.

    For rows read from the database (whose constraints hold every rule the models check)
    on the hot paths: FastAPI would validate them against the response model, then
    serialize them; `public_json` writes the same bytes directly. The route keeps its
    `response_model` for the OpenAPI schema, and the tests check the responses against it.
    """
    return Response(public_json(content), status_code=status_code, media_type="application/json")
