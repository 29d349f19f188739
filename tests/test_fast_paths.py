"""The fast paths' switch (FAST_PATHS) and their start-up check: each serves only when
switched on and when the installed libraries are the releases it is tested with and have
the internals it uses; otherwise SQLAlchemy's stock path serves, and one WARNING says why.
"""

import logging
from collections.abc import Iterator
from pathlib import Path

import aiosqlite
import pytest
from fastapi.dependencies import utils as fastapi_dependencies
from sqlalchemy import Row, literal_column, select
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from app import fast_asyncpg, fast_params, fast_paths, fast_sqlite_cursor
from app.config import Settings, load_settings
from app.db import Database, read_rows
from app.main import create_app
from tests.conftest import TEST_DATABASE_URL, TEST_SECRET_KEY

ONE = select(literal_column("1"))


@pytest.fixture(autouse=True)
def checks_run_again() -> Iterator[None]:
    """The checks' results are kept for the process: forget them before and after."""
    checks = (
        fast_paths._one_trip_sqlite_usable,
        fast_paths._direct_asyncpg_usable,
        fast_paths._fast_params_usable,
    )
    for check in checks:
        check.cache_clear()
    yield
    for check in checks:
        check.cache_clear()


@pytest.fixture
def fastapi_reads_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI's own parameter reader in place (an earlier app may have switched it),
    and in place again after the test."""
    monkeypatch.setattr(fastapi_dependencies, "request_params_to_args", fast_params.FASTAPI_READER)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


@pytest.fixture
def sqlite_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'own.db'}", "fast_paths": True}
    )


async def sqlite_dialect(settings: Settings) -> object:
    database = Database.from_settings(settings)
    try:
        return database.engine.dialect
    finally:
        await database.dispose()


def test_fast_paths_false_in_the_environment_turns_them_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAST_PATHS", "false")

    assert load_settings(_env_file=None, secret_key=TEST_SECRET_KEY).fast_paths is False


def test_the_fast_paths_are_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAST_PATHS", raising=False)

    assert load_settings(_env_file=None, secret_key=TEST_SECRET_KEY).fast_paths is True


async def test_sqlite_is_served_by_the_one_trip_dialect_when_the_fast_paths_are_on(
    sqlite_settings: Settings,
) -> None:
    assert isinstance(await sqlite_dialect(sqlite_settings), fast_sqlite_cursor.SQLiteDialect)


async def test_sqlite_is_served_by_sqlalchemys_own_dialect_when_the_fast_paths_are_off(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    off = sqlite_settings.model_copy(update={"fast_paths": False})

    assert type(await sqlite_dialect(off)) is SQLiteDialect_aiosqlite
    assert warnings_of(caplog) == []


async def test_an_untested_release_turns_the_one_trip_dialect_off_with_one_warning(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(fast_sqlite_cursor.TESTED_WITH, "aiosqlite", ((0, 1), (0, 2)))

    dialects = [await sqlite_dialect(sqlite_settings) for _ in range(2)]

    assert [type(dialect) for dialect in dialects] == [SQLiteDialect_aiosqlite] * 2
    [warning] = warnings_of(caplog)
    assert "one-trip SQLite dialect" in warning
    assert "aiosqlite 0.22.1 (tested: >=0.1,<0.2)" in warning


async def test_a_missing_internal_turns_the_one_trip_dialect_off_with_one_warning(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    internals = fast_sqlite_cursor._INTERNALS[aiosqlite.Connection]
    monkeypatch.setitem(
        fast_sqlite_cursor._INTERNALS, aiosqlite.Connection, (*internals, "_renamed")
    )

    dialect = await sqlite_dialect(sqlite_settings)

    assert type(dialect) is SQLiteDialect_aiosqlite
    [warning] = warnings_of(caplog)
    assert "missing aiosqlite.core.Connection._renamed" in warning


async def test_sqlite_reads_the_same_rows_through_sqlalchemys_own_dialect(
    sqlite_settings: Settings,
) -> None:
    database = Database.from_settings(sqlite_settings.model_copy(update={"fast_paths": False}))
    try:
        async with database.read_sessions() as session:
            rows = await read_rows(session, ONE, {})
    finally:
        await database.dispose()

    assert [tuple(row) for row in rows] == [(1,)]


if TEST_DATABASE_URL is not None:

    @pytest.fixture
    def postgresql(settings: Settings) -> Settings:
        return settings.model_copy(update={"fast_paths": True})

    async def rows_read(settings: Settings) -> list[object]:
        database = Database.from_settings(settings)
        try:
            async with database.read_sessions() as session:
                return list(await read_rows(session, ONE, {}))
        finally:
            await database.dispose()

    async def test_read_rows_goes_through_sqlalchemy_when_the_fast_paths_are_off(
        postgresql: Settings,
    ) -> None:
        rows = await rows_read(postgresql.model_copy(update={"fast_paths": False}))

        assert [type(row) for row in rows] == [Row]

    async def test_an_untested_release_turns_the_direct_reads_off_with_one_warning(
        postgresql: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(fast_asyncpg.TESTED_WITH, "asyncpg", ((0, 1), (0, 2)))

        rows = [row for _ in range(2) for row in await rows_read(postgresql)]

        assert [type(row) for row in rows] == [Row, Row]
        [warning] = warnings_of(caplog)
        assert "direct asyncpg statements" in warning
        assert "asyncpg 0.32.0 (tested: >=0.1,<0.2)" in warning


@pytest.mark.usefixtures("fastapi_reads_parameters")
def test_an_app_with_the_fast_paths_on_reads_parameters_by_plan(sqlite_settings: Settings) -> None:
    create_app(sqlite_settings)

    assert fastapi_dependencies.request_params_to_args is fast_params.request_params_to_args


@pytest.mark.usefixtures("fastapi_reads_parameters")
def test_an_app_with_the_fast_paths_off_leaves_fastapis_parameter_reader(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    create_app(sqlite_settings.model_copy(update={"fast_paths": False}))

    assert fastapi_dependencies.request_params_to_args is fast_params.FASTAPI_READER
    assert warnings_of(caplog) == []


@pytest.mark.usefixtures("fastapi_reads_parameters")
def test_an_untested_fastapi_release_leaves_its_parameter_reader_with_one_warning(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(fast_params.TESTED_WITH, "fastapi", ((0, 1), (0, 2)))

    for _ in range(2):
        create_app(sqlite_settings)

    assert fastapi_dependencies.request_params_to_args is fast_params.FASTAPI_READER
    [warning] = warnings_of(caplog)
    assert "parameters read by plan" in warning
    assert "(tested: >=0.1,<0.2)" in warning


@pytest.mark.usefixtures("fastapi_reads_parameters")
def test_a_missing_fastapi_helper_leaves_its_parameter_reader_with_one_warning(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(fastapi_dependencies, "_get_param_aliases")

    create_app(sqlite_settings)

    assert fastapi_dependencies.request_params_to_args is fast_params.FASTAPI_READER
    [warning] = warnings_of(caplog)
    assert "missing fastapi.dependencies.utils._get_param_aliases" in warning
