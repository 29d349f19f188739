"""The app factory: routers, middleware, exception handlers, docs and lifespan."""

import asyncio
import contextlib
import gc
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from app import fast_paths
from app.config import Settings, get_settings
from app.database_trouble import UNAVAILABLE_ERRORS, unavailable_reason
from app.db import Database
from app.docs import install_docs
from app.error_handlers import install_error_handlers
from app.events.broker import OrderEventBroker
from app.logging_setup import configure_logging
from app.mail import Mailer
from app.metrics import forget_this_process
from app.middleware import BodySizeLimitMiddleware, HeadAsGetMiddleware, SecurityHeadersMiddleware
from app.openapi import install_openapi
from app.paging import CursorCodec
from app.request_context import RequestContextMiddleware
from app.routers import auth, events, health, metrics, orders, pages, products, users
from app.services.purge import run_periodically

logger = logging.getLogger("app")

DESCRIPTION = """
An ordering backend for a restaurant: customers sign up, browse the menu and place orders;
admins manage the menu, every order and the users.

* Money is always an integer number of **cents**; timestamps are UTC, ISO 8601.
* Lists are pages, newest first: `{"data": [...], "count", "count_exact", "limit", "offset",
  "next_cursor"}`. Read on by passing `next_cursor` as `cursor` until it is null; `offset`
  serves the first pages (up to 10,000); `count` is exact up to 10,000.
* Every error body is `{"detail": ...}`.
* Every `GET` also answers `HEAD`: the same status and headers, no body.
* Log in with **Authorize** (your email as the username), then try any route.
"""

TAGS = [
    {
        "name": "auth",
        "description": "Sign up, log in, rotate the refresh token, log out, reset a password",
    },
    {"name": "users", "description": "Your own account; every account, for admins"},
    {"name": "products", "description": "The menu: public to read, managed by admins"},
    {"name": "orders", "description": "Open an order, change its lines, complete or cancel it"},
    {"name": "health", "description": "Liveness, the database included"},
]
"""The documentation's sections, in reading order (the routers are included hottest first)."""

# FastAPI tries the routers in the order they were included, each costing one look at its
# prefix when the path is outside it (see `PrefixedRouter`): the routers serving the most
# requests come first. The menu is read by every visitor, signed in or not, before any
# order is placed. No two routers share a path prefix, so the order changes nothing else,
# but for the order events: `/orders/events` comes before `/orders/{order_id}` of the
# orders, which would take it for an order id (one more route tried per order request).
ROUTERS_BY_TRAFFIC = (products, events, orders, users, auth, health, pages)

RETRY_AFTER_SECONDS = "5"


def _without_sql(exc: Exception) -> str:
    """The driver's own message of a database error: SQLAlchemy's adds the statement and,
    unless the engine hides them, its parameters (an email, a password hash)."""
    cause = exc.orig if isinstance(exc, sa_exc.StatementError) and exc.orig else exc
    lines = str(cause).splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def database_unavailable_response() -> JSONResponse:
    """The 503 every route and health check gives while the database cannot serve."""
    return JSONResponse(
        {"detail": "The database is unavailable; try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 when the database cannot serve (`app.database_trouble` says which errors mean
    that); any other error is a bug, a 500. The log names the trouble, never the SQL."""
    reason = unavailable_reason(exc)
    if reason is None:
        raise exc
    logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
    return database_unavailable_response()


def _data_error(request: Request, exc: Exception) -> JSONResponse:
    logger.info("data error on %s %s: %s", request.method, request.url.path, _without_sql(exc))
    # Shaped like every 422: a list of problems (the input is not known here).
    problem = {
        "type": "value_out_of_range",
        "loc": ["body"],
        "msg": "A value is out of the range the database can store",
    }
    return JSONResponse({"detail": [problem]}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


SECRET_FIELDS = frozenset(
    {
        "password",
        "refresh_token",
        "access_token",
        "token",
        "client_secret",
        "current_password",
        "new_password",
    }
)
HIDDEN = "(hidden)"


def _json_safe(value: Any, key: object = None) -> Any:
    """`value` as JSON can carry it, secrets masked: a 422 must never echo a password, and
    NaN, infinity or half a UTF-16 surrogate pair in the input must not turn it into a 500."""
    if key in SECRET_FIELDS:
        return HIDDEN
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors(), custom_encoder={Exception: str})
    for error in errors:
        if _names_a_secret(error) or _is_raw_body(error):
            error["input"] = HIDDEN
    return JSONResponse(
        {"detail": _json_safe(errors)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def _names_a_secret(error: dict[str, Any]) -> bool:
    return bool(error.get("loc")) and error["loc"][-1] in SECRET_FIELDS


def _is_raw_body(error: dict[str, Any]) -> bool:
    """The error is about the whole body and quotes it as text (a body sent as text/plain,
    or a JSON string): it may hold anything, a password or a token among it."""
    return tuple(error.get("loc") or ()) == ("body",) and isinstance(
        error.get("input"), str | bytes
    )


# Python's cyclic garbage collector runs a collection every 700 net allocations by default:
# under load, several per request, each walking every young object. Requests here make
# few reference cycles, so collect far less often, and freeze what start-up created (the
# app, the routes, the compiled statements) so that no collection walks it again
# (`bench/README.md` says what it buys).
GC_GENERATION0_THRESHOLD = 50_000


def _tune_garbage_collector() -> None:
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GENERATION0_THRESHOLD, gen1, gen2)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    fast_paths.use_fast_params(settings.fast_paths)
    database = Database.from_settings(settings)
    order_events = OrderEventBroker(database, settings)
    mailer = Mailer(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _tune_garbage_collector()
        purging = (
            asyncio.create_task(
                run_periodically(database.write_sessions, settings, settings.purge_interval_seconds)
            )
            if settings.purge_interval_seconds
            else None
        )
        order_events.start_reading()
        yield
        await order_events.stop()
        await mailer.close()
        if purging is not None:
            purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purging
        await database.dispose()
        forget_this_process()

    app = FastAPI(
        title="Orders API",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # app.docs serves the pages with local assets instead of a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.order_events = order_events
    app.state.cursors = CursorCodec(settings.secret_key)
    app.state.mailer = mailer

    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    app.add_middleware(SecurityHeadersMiddleware)
    # The outermost: its request id is on every response and every log line of the request.
    app.add_middleware(
        RequestContextMiddleware,
        access_log=settings.access_log,
        metrics_on=settings.metrics_enabled,
    )

    app.add_exception_handler(RequestValidationError, _request_validation_error)
    install_error_handlers(app)
    app.add_exception_handler(sa_exc.DataError, _data_error)
    for error in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error, _database_error)

    for module in ROUTERS_BY_TRAFFIC:
        app.include_router(module.router)
    if settings.metrics_enabled:
        app.include_router(metrics.router)
    install_docs(app)
    install_openapi(app)
    return app
