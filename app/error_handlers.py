"""The one table from domain errors to HTTP status codes."""

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from app.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound

STATUS_OF: dict[type[DomainError], int] = {
    BadRequest: status.HTTP_400_BAD_REQUEST,
    Forbidden: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
}


def error_response(error: DomainError) -> JSONResponse:
    family = next(cls for cls in type(error).__mro__ if cls in STATUS_OF)
    return JSONResponse({"detail": error.detail}, status_code=STATUS_OF[family])


def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    for family in STATUS_OF:
        app.add_exception_handler(family, _domain_error)
