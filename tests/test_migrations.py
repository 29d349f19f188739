"""Alembic: upgrade to head, down to base and up again, every step reversible, no drift.

Runs on a fresh SQLite file and, when TEST_DATABASE_URL is set, on that PostgreSQL
database too (its public schema is emptied first: the other tests recreate what they need).
The tests are synchronous because Alembic's env.py runs its own event loop.
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from alembic import command
from app.cli import PROJECT_ROOT
from app.tables import metadata
from tests.conftest import TEST_DATABASE_URL

BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


@pytest.fixture(params=BACKENDS)
def migration_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    assert TEST_DATABASE_URL is not None
    asyncio.run(reset_postgresql(TEST_DATABASE_URL))
    yield TEST_DATABASE_URL
    asyncio.run(reset_postgresql(TEST_DATABASE_URL))


async def reset_postgresql(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        await connection.exec_driver_sql("CREATE SCHEMA public")
    await engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def inspect_database(url: str, look: Any) -> Any:
    """Run `look(sync_connection)` against the database and return what it found."""

    async def run() -> Any:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def table_names(url: str) -> set[str]:
    return set(inspect_database(url, lambda connection: inspect(connection).get_table_names()))


def drift(url: str) -> list[Any]:
    """What `alembic check` would report: differences between the models and the database."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
        )
        return list(compare_metadata(context, metadata))

    diffs: list[Any] = inspect_database(url, compare)
    return diffs


def current_revision(url: str) -> str | None:
    revision: str | None = inspect_database(
        url, lambda connection: MigrationContext.configure(connection).get_current_revision()
    )
    return revision


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def test_the_migrations_have_a_single_head() -> None:
    assert head_revision()


def test_upgrade_head_creates_every_table_of_the_models(migration_url: str) -> None:
    command.upgrade(alembic_config(migration_url), "head")

    assert table_names(migration_url) == set(metadata.tables) | {"alembic_version"}
    assert current_revision(migration_url) == head_revision()


def test_the_migrated_schema_does_not_drift_from_the_models(migration_url: str) -> None:
    command.upgrade(alembic_config(migration_url), "head")

    assert drift(migration_url) == []


def test_downgrade_base_removes_every_table(migration_url: str) -> None:
    config = alembic_config(migration_url)
    command.upgrade(config, "head")

    command.downgrade(config, "base")

    assert table_names(migration_url) == {"alembic_version"}
    assert current_revision(migration_url) is None


def test_upgrade_after_downgrade_rebuilds_the_same_schema(migration_url: str) -> None:
    config = alembic_config(migration_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")

    command.upgrade(config, "head")

    assert current_revision(migration_url) == head_revision()
    assert drift(migration_url) == []


def test_every_migration_reverses_cleanly_one_step_at_a_time(migration_url: str) -> None:
    config = alembic_config(migration_url)
    revisions = [
        script.revision
        for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
    ]

    for revision in revisions:
        command.upgrade(config, revision)
        tables_after_upgrade = table_names(migration_url)
        command.downgrade(config, "-1")
        command.upgrade(config, revision)

        assert current_revision(migration_url) == revision
        assert table_names(migration_url) == tables_after_upgrade


def routines(url: str) -> dict[str, str]:
    """The database's triggers and trigger functions by name, each its SQL, spaces folded."""

    def look(connection: Connection) -> dict[str, str]:
        if connection.dialect.name == "sqlite":
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = (
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
                "UNION ALL SELECT proname, prosrc FROM pg_proc "
                "WHERE pronamespace = 'public'::regnamespace"
            )
        return {name: " ".join(sql.split()) for name, sql in connection.exec_driver_sql(query)}

    found: dict[str, str] = inspect_database(url, look)
    return found


def created_by_the_models(url: str) -> None:
    async def create() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await engine.dispose()

    asyncio.run(create())


def test_the_migrations_make_the_triggers_the_models_make(
    migration_url: str, tmp_path: Path
) -> None:
    command.upgrade(alembic_config(migration_url), "head")
    migrated = routines(migration_url)
    if migration_url.startswith("sqlite"):
        models_url = f"sqlite+aiosqlite:///{tmp_path / 'models.db'}"
    else:
        asyncio.run(reset_postgresql(migration_url))
        models_url = migration_url
    created_by_the_models(models_url)

    assert migrated == routines(models_url)
    assert {"orders_counted_on_insert", "orders_counted_on_update"} <= set(migrated)
