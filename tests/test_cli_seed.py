"""`seed-demo`: a small demo menu, safe to run twice."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.cli import main
from app.config import get_settings
from app.services.menu import DEMO_MENU, seed_demo_menu
from tests.conftest import TEST_SECRET_KEY, Account


async def test_seeding_twice_adds_the_menu_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    async with app.state.db.write_sessions() as session:
        first = await seed_demo_menu(session)
        await session.commit()
    async with app.state.db.write_sessions() as session:
        second = await seed_demo_menu(session)
        await session.commit()

    assert (first, second) == (len(DEMO_MENU), 0)
    menu = (await client.get("/products", params={"limit": 100})).json()
    assert menu["count"] == len(DEMO_MENU)
    assert [p["name"] for p in menu["data"]] == [p.name for p in DEMO_MENU]


async def test_seeding_keeps_an_admins_changes(
    app: FastAPI, client: httpx.AsyncClient, admin: Account
) -> None:
    async with app.state.db.write_sessions() as session:
        await seed_demo_menu(session)
        await session.commit()
    margherita = (await client.get("/products", params={"limit": 100})).json()["data"][0]
    await client.patch(
        f"/products/{margherita['id']}",
        json={"price_cents": 990, "is_available": False},
        headers=admin.headers,
    )

    async with app.state.db.write_sessions() as session:
        added = await seed_demo_menu(session)
        await session.commit()

    assert added == 0
    reread = await client.get(f"/products/{margherita['id']}", headers=admin.headers)
    assert (reread.json()["price_cents"], reread.json()["is_available"]) == (990, False)


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command line's settings come from the environment: point it at a fresh file."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_database")
def test_seed_demo_command_is_safe_to_run_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()

    assert main(["seed-demo"]) == 0
    assert capsys.readouterr().out == f"Demo menu ready ({len(DEMO_MENU)} products added)\n"
    assert main(["seed-demo"]) == 0
    assert capsys.readouterr().out == "Demo menu ready (0 products added)\n"


@pytest.mark.usefixtures("cli_database")
def test_seed_demo_on_an_unmigrated_database_fails_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["seed-demo"]) == 1

    error = capsys.readouterr().err
    assert error.startswith("error: ")
    assert error.count("\n") == 1
