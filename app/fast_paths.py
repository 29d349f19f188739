"""Whether the fast paths serve: decided once, when the first engine or app is created.

Three fast paths rely on internals of a framework or a driver, which a release may change
without notice: the one-trip SQLite dialect (`app.fast_sqlite_cursor`), the direct
asyncpg statements (`app.fast_asyncpg`) and the parameters read by plan
(`app.fast_params`). Each serves only when the installed releases are within the range it
is tested with and have every internal it uses; otherwise the stock path serves
(SQLAlchemy's own aiosqlite dialect; `read_rows` and `write_rows` through
`session.execute`; FastAPI's own `request_params_to_args`), and one WARNING says why.
`FAST_PATHS=false` turns them off, to test the stock path. The parameters' fast path
replaces a function of FastAPI's for the whole process: once an app has switched it on,
it serves every app of the process.
"""

import logging
import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from app import fast_asyncpg, fast_params

logger = logging.getLogger(__name__)

Version = tuple[int, ...]
TestedRanges = Mapping[str, tuple[Version, Version]]


def installed_version(distribution: str) -> Version | None:
    """The installed release of `distribution` as numbers ("2.1.0rc1" is (2, 1, 0)), or None."""
    try:
        release = re.match(r"\d+(\.\d+)*", version(distribution))
    except PackageNotFoundError:
        return None
    return tuple(int(part) for part in release.group().split(".")) if release else None


def _dotted(numbers: Version) -> str:
    return ".".join(str(number) for number in numbers)


def untested_releases(tested: TestedRanges) -> list[str]:
    """Each installed release outside its tested range, as `name version (tested: range)`."""
    untested = []
    for distribution, (lowest, below) in tested.items():
        installed = installed_version(distribution)
        if installed is None or not lowest <= installed < below:
            untested.append(
                f"{distribution} {_dotted(installed) if installed else 'missing'}"
                f" (tested: >={_dotted(lowest)},<{_dotted(below)})"
            )
    return untested


def _check(
    name: str, fallback: str, tested: TestedRanges, missing_internals: Callable[[], list[str]]
) -> bool:
    """Whether the fast path `name` may serve; if not, one WARNING says why."""
    problems = untested_releases(tested)
    if not problems:
        problems = [f"missing {internal}" for internal in missing_internals()]
    if problems:
        logger.warning("fast path off: %s (%s); %s serves", name, "; ".join(problems), fallback)
    return not problems


@cache
def _one_trip_sqlite_usable() -> bool:
    name, fallback = "the one-trip SQLite dialect", "SQLAlchemy's aiosqlite dialect"
    try:
        # Imported only here: it subclasses SQLAlchemy's aiosqlite adapter at import time.
        from app import fast_sqlite_cursor
    except (ImportError, AttributeError) as error:
        logger.warning("fast path off: %s (cannot load: %s); %s serves", name, error, fallback)
        return False
    return _check(
        name, fallback, fast_sqlite_cursor.TESTED_WITH, fast_sqlite_cursor.missing_internals
    )


@cache
def _direct_asyncpg_usable() -> bool:
    return _check(
        "the direct asyncpg statements",
        "session.execute",
        fast_asyncpg.TESTED_WITH,
        fast_asyncpg.missing_internals,
    )


def sqlite_url(url: URL, enabled: bool) -> URL:
    """The URL to create a SQLite engine with: a `sqlite+aiosqlite` one goes to the one-trip
    dialect when `enabled` and the check passes; any other stays as it is."""
    if not enabled or url.drivername != "sqlite+aiosqlite" or not _one_trip_sqlite_usable():
        return url
    from app.fast_sqlite_cursor import one_trip_url

    return one_trip_url(url)


def use_direct_statements(engine: AsyncEngine, enabled: bool) -> None:
    """Let `read_rows` and `write_rows` send `engine`'s statements straight to asyncpg when
    `enabled` and the check passes."""
    if enabled and engine.dialect.driver == "asyncpg" and _direct_asyncpg_usable():
        fast_asyncpg.send_directly(engine)


@cache
def _fast_params_usable() -> bool:
    return _check(
        "the parameters read by plan",
        "FastAPI's request_params_to_args",
        fast_params.TESTED_WITH,
        fast_params.missing_internals,
    )


def use_fast_params(enabled: bool) -> None:
    """Read the apps' parameters by plan when `enabled` and the check passes."""
    if enabled and _fast_params_usable():
        fast_params.install()
