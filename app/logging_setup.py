"""The app's logging: one handler on the root logger, lines as text or JSON (`LOG_FORMAT`),
each carrying the id of the request it was written for; and the security events, logged
under stable names that an operator can alert on.

Nothing secret is ever passed to a log call here: no password, token or hash, and the
database engines hide SQL parameters. Uvicorn's loggers propagate to the root logger when
`serve` runs uvicorn without a logging config of its own, so its lines share the format.
"""

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

from app.request_context import current_request

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"
NO_REQUEST = "-"

security_logger = logging.getLogger("app.security")


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request being served ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request()
        record.request_id = request.request_id if request is not None else NO_REQUEST
        if request is not None and request.user_id is not None and "user_id" not in vars(record):
            record.user_id = request.user_id
        return True


class UtcTextFormatter(logging.Formatter):
    """Readable lines with an ISO 8601 UTC timestamp, whatever the server's time zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _json_formatter() -> logging.Formatter:
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
    )


class _AppHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs, known again when it runs a second time.

    It writes to standard error as it is at each line, not as it was when the handler was
    made (as the standard library's last-resort handler does): whoever swaps `sys.stderr`
    (a test runner capturing output) gets the lines, and a stream closed since is never
    written to.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """The stream is always the current `sys.stderr`; nothing to set."""


def configure_logging(level: str, log_format: Literal["text", "json"]) -> None:
    """Send every log line to standard error in `log_format`, at `level` for the app's and
    uvicorn's loggers. Safe to call again: the previous handler is replaced."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _AppHandler)]:
        root.removeHandler(handler)
    handler = _AppHandler()
    handler.addFilter(RequestIdFilter())
    formatter = _json_formatter() if log_format == "json" else UtcTextFormatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("app", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(level)


def log_security_event(event: str, **fields: Any) -> None:
    """Log a security event under its stable `event` name (`login.failed`, ...) with the
    `fields` that say who and what: an email, a user id; never a password, token or hash."""
    details = "".join(f" {name}={value}" for name, value in fields.items())
    security_logger.warning("%s%s", event, details, extra={"event": event, **fields})
