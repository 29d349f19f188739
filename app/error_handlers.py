"""The one table from domain errors to HTTP: each error's status code and headers.

Starlette picks a handler by the raised class's MRO, so a subclass (`OrderNotFound`) is
answered by its family's entry (`NotFound`). The handlers run only when a request fails:
the happy path pays nothing for them.
"""

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from app.errors import (
    BadRequest,
    Conflict,
    DataChanged,
    DomainError,
    Forbidden,
    InvalidPage,
    NotFound,
    Throttled,
    Unauthorized,
)

logger = logging.getLogger("app")

HeadersOf = Callable[[DomainError], dict[str, str] | None]


def _no_headers(_error: DomainError) -> None:
    return None


def _bearer_challenge(_error: DomainError) -> dict[str, str]:
    return {"WWW-Authenticate": "Bearer"}


def _retry_after(error: DomainError) -> dict[str, str]:
    assert isinstance(error, Throttled)
    return {"Retry-After": str(error.retry_after)}


STATUS_OF: dict[type[DomainError], tuple[int, HeadersOf]] = {
    BadRequest: (status.HTTP_400_BAD_REQUEST, _no_headers),
    Unauthorized: (status.HTTP_401_UNAUTHORIZED, _bearer_challenge),
    Forbidden: (status.HTTP_403_FORBIDDEN, _no_headers),
    NotFound: (status.HTTP_404_NOT_FOUND, _no_headers),
    Conflict: (status.HTTP_409_CONFLICT, _no_headers),
    Throttled: (status.HTTP_429_TOO_MANY_REQUESTS, _retry_after),
    InvalidPage: (status.HTTP_422_UNPROCESSABLE_CONTENT, _no_headers),
}


def _detail_of(error: DomainError) -> str | list[dict[str, Any]]:
    """The body's `detail`: the error's own, or for a 422 the list of problems every 422
    carries, this one naming its query parameter as FastAPI names those it refuses."""
    if isinstance(error, InvalidPage):
        return [{"type": "value_error", "loc": ["query", error.parameter], "msg": error.detail}]
    return error.detail


def error_response(error: DomainError) -> JSONResponse:
    """The response for a domain error: the status and headers of its family in
    `STATUS_OF`, and its detail as the `{"detail": ...}` body every error has."""
    family = next(cls for cls in type(error).__mro__ if cls in STATUS_OF)
    status_code, headers_of = STATUS_OF[family]
    return JSONResponse(
        {"detail": _detail_of(error)}, status_code=status_code, headers=headers_of(error)
    )


def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(exc)


def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    """A constraint broken outside `app.unit_of_work.commit` (by a flush): as a commit's
    would be, the data changed meanwhile."""
    logger.info("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(DataChanged())


def install_error_handlers(app: FastAPI) -> None:
    for family in STATUS_OF:
        app.add_exception_handler(family, _domain_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
