"""The Prometheus series the app exposes at `/metrics`.

With several uvicorn workers each is a process of its own: prometheus-client's
multiprocess mode then keeps every worker's values in files of one directory, named by
`PROMETHEUS_MULTIPROC_DIR`, and `/metrics` adds them up whichever worker answers. The
`serve` command sets that directory up (empty) before the workers start, and before this
module is imported: prometheus-client picks its storage when it is first imported.
"""

import os
from typing import Literal

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

OrderEvent = Literal["created", "completed", "cancelled"]
LoginOutcome = Literal["success", "failure", "throttled"]


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    http_requests.labels(method, route, str(status)).inc()
    http_request_duration.labels(method, route).observe(seconds)


def count_order(event: OrderEvent) -> None:
    orders.labels(event).inc()


def count_login(outcome: LoginOutcome) -> None:
    logins.labels(outcome).inc()


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_VARIABLE))


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
