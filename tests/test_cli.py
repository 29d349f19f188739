"""The command line (§7): create-admin, migrate, --help, and one-line failures.

Most tests call `app.cli.main` in a worker thread (it runs its own event loop) against the
test database; a few run `python -m app` as a real process, as a person would.
"""

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from app.cli import main
from app.config import Settings, get_settings
from app.tables import User
from tests.conftest import TEST_SECRET_KEY, Account, CreateUser
from tests.test_health import closed_port

ADMIN_PASSWORD = "admin-password-42"


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings
) -> Iterator[pytest.MonkeyPatch]:
    """The environment of a person at a terminal in an empty directory, using the test DB."""
    for name in ("ADMIN_PASSWORD", "DATABASE_URL", "SECRET_KEY", "BCRYPT_ROUNDS", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


async def run_cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def create_admin(email: str = "boss@example.com", name: str = "Bo Boss") -> int:
    return await run_cli("create-admin", "--email", email, "--name", name)


async def find_user(app: FastAPI, email: str) -> User | None:
    async with app.state.db.read_sessions() as session:
        return await session.scalar(select(User).where(col(User.email) == email))


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


def run_process(
    *args: str, env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "app", *args],
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- create-admin


async def test_create_admin_creates_an_admin_who_can_log_in(
    cli_env: pytest.MonkeyPatch,
    app: FastAPI,
    client: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli_env.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)

    assert await create_admin(email="Boss@Example.com") == 0

    assert capsys.readouterr().out == "Created admin boss@example.com\n"
    user = await find_user(app, "boss@example.com")
    assert user is not None
    assert (user.name, user.is_admin, user.is_active) == ("Bo Boss", True, True)
    assert (await login(client, "boss@example.com", ADMIN_PASSWORD)).status_code == 200


async def test_create_admin_reads_the_password_from_standard_input(
    cli_env: pytest.MonkeyPatch, app: FastAPI, client: httpx.AsyncClient
) -> None:
    cli_env.setattr(sys, "stdin", io.StringIO(ADMIN_PASSWORD + "\n"))

    assert await create_admin() == 0

    assert (await login(client, "boss@example.com", ADMIN_PASSWORD)).status_code == 200


async def test_create_admin_prompts_for_the_password_on_a_terminal(
    cli_env: pytest.MonkeyPatch, client: httpx.AsyncClient
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return ADMIN_PASSWORD

    cli_env.setattr(sys.stdin, "isatty", lambda: True)
    cli_env.setattr("getpass.getpass", fake_getpass)

    assert await create_admin() == 0

    assert prompts == ["Password for the admin: "]
    assert (await login(client, "boss@example.com", ADMIN_PASSWORD)).status_code == 200


async def test_create_admin_prefers_admin_password_over_standard_input(
    cli_env: pytest.MonkeyPatch, client: httpx.AsyncClient
) -> None:
    cli_env.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)
    cli_env.setattr(sys, "stdin", io.StringIO("from-standard-input\n"))

    await create_admin()

    assert (await login(client, "boss@example.com", ADMIN_PASSWORD)).status_code == 200


async def test_create_admin_promotes_an_existing_user_keeping_their_password(
    cli_env: pytest.MonkeyPatch,
    client: httpx.AsyncClient,
    customer: Account,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await create_admin(email=customer.email) == 0

    assert capsys.readouterr().out == (
        "Promoted customer@example.com to admin (their password is unchanged)\n"
    )
    assert (await client.get("/users", headers=customer.headers)).status_code == 200
    assert (await login(client, customer.email, customer.password)).status_code == 200


async def test_create_admin_promotes_whatever_the_case_of_the_email(
    cli_env: pytest.MonkeyPatch, app: FastAPI, customer: Account
) -> None:
    assert await create_admin(email="CUSTOMER@example.COM") == 0

    user = await find_user(app, customer.email)
    assert user is not None
    assert user.is_admin is True


async def test_create_admin_reactivates_a_deactivated_user(
    cli_env: pytest.MonkeyPatch, client: httpx.AsyncClient, create_user: CreateUser
) -> None:
    user = await create_user(is_active=False, log_in=False)

    assert await create_admin(email=user.email) == 0

    assert (await login(client, user.email, user.password)).status_code == 200


async def test_create_admin_never_takes_the_password_as_an_argument(
    cli_env: pytest.MonkeyPatch, app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)

    with pytest.raises(SystemExit) as exited:
        main(["create-admin", "--email", "b@example.com", "--name", "B", "--password", "x" * 9])

    assert exited.value.code == 2
    assert "unrecognized arguments: --password" in capsys.readouterr().err
    assert await find_user(app, "b@example.com") is None


@pytest.mark.parametrize(
    ("email", "name", "password", "message"),
    [
        ("not-an-email", "Bo", ADMIN_PASSWORD, "error: email: "),
        ("boss@example.com", "  ", ADMIN_PASSWORD, "error: name: String should have at least 1"),
        ("boss@example.com", "Bo", "short", "error: password: Value error, must be 8 to 72"),
        ("boss@example.com", "Bo", "\u20ac" * 25, "error: password: Value error, must be 8 to 72"),
    ],
    ids=["bad-email", "blank-name", "short-password", "75-byte-password"],
)
async def test_create_admin_with_bad_input_exits_1_with_one_line(
    cli_env: pytest.MonkeyPatch,
    app: FastAPI,
    capsys: pytest.CaptureFixture[str],
    email: str,
    name: str,
    password: str,
    message: str,
) -> None:
    cli_env.setenv("ADMIN_PASSWORD", password)

    assert await create_admin(email=email, name=name) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)
    assert captured.err.count("\n") == 1
    assert await find_user(app, email.lower()) is None


async def test_create_admin_with_no_password_on_standard_input_exits_1(
    cli_env: pytest.MonkeyPatch, app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await create_admin() == 1

    assert "(got 0)" in capsys.readouterr().err
    assert await find_user(app, "boss@example.com") is None


async def test_create_admin_with_an_unreachable_database_exits_1_with_one_line(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.setenv("DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x")
    cli_env.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)

    assert await create_admin() == 1

    err = capsys.readouterr().err
    assert err.startswith("error: ConnectionRefusedError: ")
    assert err.count("\n") == 1


# ---------------------------------------------------------------- --help


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ((), "serve"),
        (("serve",), "--workers"),
        (("migrate",), "Alembic"),
        (("create-admin",), "ADMIN_PASSWORD"),
        (("seed-demo",), "demo menu"),
        (("purge",), "expired"),
    ],
    ids=["main", "serve", "migrate", "create-admin", "seed-demo", "purge"],
)
def test_every_command_has_help(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
    expected: str,
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)

    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])

    assert exited.value.code == 0
    assert expected in capsys.readouterr().out


def test_an_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["make-pizza"])

    assert exited.value.code == 2
    assert "invalid choice: 'make-pizza'" in capsys.readouterr().err


# ---------------------------------------------------------------- as a real process


def test_a_missing_secret_key_exits_1_with_one_line(tmp_path: Path) -> None:
    result = run_process(
        "migrate", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"}, cwd=tmp_path
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: Invalid settings: SECRET_KEY: Field required")
    assert result.stderr.count("\n") == 1


def test_migrate_creates_the_schema_and_is_safe_to_run_twice(tmp_path: Path) -> None:
    env = {"SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/m.db"}

    first = run_process("migrate", env=env, cwd=tmp_path)
    second = run_process("migrate", env=env, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "m.db").exists()
    assert "Running upgrade  -> " in first.stderr
    assert "Running upgrade" not in second.stderr


def test_migrate_to_a_sqlite_path_that_is_a_directory_exits_1_with_one_line(
    tmp_path: Path,
) -> None:
    env = {"SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}"}

    result = run_process("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == f"error: the SQLite database path {tmp_path} is a directory\n"


def test_migrate_to_a_sqlite_file_in_a_missing_directory_exits_1_with_one_line(
    tmp_path: Path,
) -> None:
    database = tmp_path / "missing" / "orders.db"
    env = {"SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}

    result = run_process("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == (
        f"error: the directory of the SQLite database {database} does not exist\n"
    )


def test_the_console_script_has_help(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("orders-api")

    result = subprocess.run(  # noqa: S603 - the project's own console script
        [str(script), "--help"], capture_output=True, text=True, cwd=tmp_path, check=False
    )

    assert result.returncode == 0
    assert "create-admin" in result.stdout
