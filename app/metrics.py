"""The Prometheus series the app exposes at `/metrics`.

With several uvicorn workers each is a process of its own: prometheus-client's
multiprocess mode then keeps every worker's values in files of one directory, named by
`PROMETHEUS_MULTIPROC_DIR`, and `/metrics` adds them up whichever worker answers. The
`serve` command sets that directory up (empty) before the workers start; a worker that
imported this module before (the only one, run in the command's process) keeps its values
in memory and exposes them from there.
"""

import os
from typing import Any, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Decided once, as prometheus-client decides where values live when it is imported: a
# process that imported it before `serve` set the directory (a single worker, run in the
# command's own process) keeps its values in memory, and must expose them from there.
MULTIPROCESS = bool(os.environ.get(MULTIPROC_DIR_VARIABLE))

http_requests = Counter(
    "http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
http_request_duration = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
)
orders = Counter("orders", "Orders created, completed and cancelled", ["event"])
logins = Counter("logins", "Login attempts by outcome: success, failure, throttled", ["outcome"])
event_streams_open = Gauge(
    "event_streams_open", "Order event streams open now", multiprocess_mode="livesum"
)
password_hashes_queued = Gauge(
    "password_hashes_queued",
    "Password hashes running or waiting for a hashing thread now (the bounded queue's load)",
    multiprocess_mode="livesum",
)

OrderEvent = Literal["created", "completed", "cancelled"]
LoginOutcome = Literal["success", "failure", "throttled"]


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
"""The method label of any other method a client makes up: label values stay few."""

_RequestSeries = tuple[Any, Any]  # prometheus-client's children are untyped
_request_series: dict[tuple[str, str, int], _RequestSeries] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count a request and its duration. The series of each (method, route, status) are
    looked up once: `labels()` takes a lock and builds its key on every call."""
    key = (method, route, status)
    series = _request_series.get(key)
    if series is None:
        label = method if method in KNOWN_METHODS else OTHER_METHOD
        series = (
            http_requests.labels(label, route, str(status)),
            http_request_duration.labels(label, route),
        )
        if method in KNOWN_METHODS:
            _request_series[key] = series
    count, duration = series
    count.inc()
    duration.observe(seconds)


def count_order(event: OrderEvent) -> None:
    orders.labels(event).inc()


def count_login(outcome: LoginOutcome) -> None:
    logins.labels(outcome).inc()


def is_multiprocess() -> bool:
    return MULTIPROCESS


def exposition() -> tuple[bytes, str]:
    """The text exposition of every series, every worker's values added up, and its media
    type."""
    if is_multiprocess():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def forget_this_process() -> None:
    """At a worker's exit: its open-streams gauge no longer counts (its counters stay)."""
    if is_multiprocess():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
