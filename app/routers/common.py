"""What every router shares: the router class, documented error responses, paging, path
ids and the app's mailer."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.routing import Match
from starlette.types import Scope

from app.fields import MAX_ID
from app.mail import Mailer
from app.paging import MAX_CURSOR_LENGTH, MAX_OFFSET
from app.schemas import ErrorDetail, ValidationErrorDetail, public_json


class PrefixedRouter(APIRouter):
    """An `APIRouter` that a request whose path cannot be one of its routes passes over at once.

    FastAPI tries an included router by trying each of its routes in turn (a request for an
    order would otherwise try every route of the menu, included before it). A path that one
    of these routes serves ends with the route's full path, which holds the router's prefix
    followed by `/` or the end of the path, whatever prefix the router is included under
    (`app.include_router(router, prefix="/v1")`) and whatever root path the app is served
    at. So a path without it is no match, and only the others are matched route by route.
    A prefix with a path parameter (`/shops/{shop_id}`) is not literal text of the path:
    such a router is always matched route by route.

    `matches` is the public method of every Starlette route. Where a FastAPI release tries
    an included router's routes without asking the router (earlier releases copied them
    into the app), the check is simply not called: the routes answer the same, at the cost
    of the routes tried in vain.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope["path"]
        prefix = self.prefix
        if prefix and "{" not in prefix and not (path.endswith(prefix) or prefix + "/" in path):
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
    """OpenAPI `responses` for the given error codes, each with its `{"detail": ...}` body:
    the list of problems for 422, a sentence for the others."""
    return {
        code: {
            "model": ValidationErrorDetail if code == 422 else ErrorDetail,
            "description": ERROR_DESCRIPTIONS[code],
        }
        for code in codes
    }


# A page's `limit` and `offset`, as two query parameters of their own (each route gives
# the defaults, `DEFAULT_LIMIT` and 0). Not one query model: FastAPI validates a model
# from the query string on every request, even an empty one, where a parameter that is
# absent just takes its default.
DEFAULT_LIMIT = 20
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page")]
Offset = Annotated[
    int | None,
    Query(
        ge=0,
        description=f"Items to skip, 0 to {MAX_OFFSET:,} (default 0); not with `cursor`. "
        "Past the first pages, follow `next_cursor` instead",
        json_schema_extra={"maximum": MAX_OFFSET},
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description="Where the page starts: a page's `next_cursor`, exactly as it was "
        "returned, with the same filters. Not with `offset`",
    ),
]


def success_response(status_code: int, example: Any) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entry showing an example of a route's JSON success body (its
    schema is the route's response model)."""
    return {status_code: {"content": {"application/json": {"example": example}}}}


USER_EXAMPLE = {
    "name": "Carla Customer",
    "email": "carla@example.com",
    "id": 2,
    "is_active": True,
    "is_admin": False,
    "created_at": "2026-11-28T09:00:00.000000Z",
}
TOKEN_PAIR_EXAMPLE = {
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyIn0.signature",
    "refresh_token": "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJhYmMifQ.signature",
    "token_type": "bearer",
    "expires_in": 900,
}


def id_path(name: str) -> Any:
    return Path(ge=1, le=MAX_ID, description=f"The {name}'s id")


def json_response(content: Any, status_code: int = 200) -> Response:
    """`content`, already in the shape of the route's `response_model`, as a JSON response.

    For rows read from the database (whose constraints hold every rule the models check)
    on the hot paths: FastAPI would validate them against the response model, then
    serialize them; `public_json` writes the same bytes directly. The route keeps its
    `response_model` for the OpenAPI schema, and the tests check the responses against it.
    """
    return Response(public_json(content), status_code=status_code, media_type="application/json")


async def get_mailer(request: Request) -> Mailer:
    """The app's mailer: a route hands it its messages once it has committed."""
    mailer: Mailer = request.app.state.mailer
    return mailer


MailerDep = Annotated[Mailer, Depends(get_mailer)]
