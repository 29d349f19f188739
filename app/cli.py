"""The command line: `python -m app <command>` (or the `orders-api` script)."""

import argparse
import asyncio
import getpass
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import as_file, files
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import make_url
from sqlmodel import col, select

from app.config import ConfigError, Settings, get_settings
from app.db import Database
from app.security import hash_password
from app.tables import User, UserBase, UserCreate

SchemaT = TypeVar("SchemaT", bound=BaseModel)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class CommandError(Exception):
    """A failure explained in one line for the person at the terminal."""


def _check_sqlite_file(settings: Settings) -> None:
    """Refuse a SQLite path that cannot be a database file, before the driver tries it.

    The driver would fail too, but aiosqlite's thread can outlive the failed connection
    and add a traceback of its own to the one-line error.
    """
    database = make_url(settings.database_url).database
    if not settings.is_sqlite or not database or database == ":memory:":
        return
    path = Path(database)
    if path.is_dir():
        raise CommandError(f"the SQLite database path {path} is a directory")
    if not path.parent.is_dir():
        raise CommandError(f"the directory of the SQLite database {path} does not exist")


def migrate(settings: Settings, own_logging: bool = True) -> None:
    """`alembic upgrade head`; with `own_logging` False, Alembic's lines go to the logging
    already set up (`serve`'s) instead of the handler of `alembic.ini`."""
    from alembic.config import Config

    from alembic import command

    _check_sqlite_file(settings)
    with _migrations_directory() as (directory, ini_file):
        config = Config(str(ini_file) if ini_file else None)
        config.set_main_option("script_location", str(directory))
        config.attributes["database_url"] = settings.database_url
        config.attributes["configure_logger"] = own_logging
        command.upgrade(config, "head")


@contextmanager
def _migrations_directory() -> Iterator[tuple[Path, Path | None]]:
    """The Alembic scripts and their ini file: the repository's `alembic/` and `alembic.ini`
    in a checkout, else the copy an installed package carries as `app/migrations` (no ini:
    the settings it holds serve only `alembic revision`)."""
    ini_file = PROJECT_ROOT / "alembic.ini"
    if ini_file.is_file() and (PROJECT_ROOT / "alembic" / "env.py").is_file():
        yield PROJECT_ROOT / "alembic", ini_file
        return
    with as_file(files("app") / "migrations") as directory:
        yield directory, None


def serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    if args.no_access_log:
        os.environ["ACCESS_LOG"] = "false"
        get_settings.cache_clear()  # a single worker creates the app in this process
        settings = get_settings()
    with _metrics_directory():
        # Imported once the metrics know where to keep their values (see app.metrics).
        from app.logging_setup import configure_logging

        configure_logging(settings.log_level, settings.log_format)
        migrate(settings, own_logging=False)
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=None if args.reload else args.workers,
            reload=args.reload,
            log_level=settings.log_level.lower(),
            log_config=None,  # uvicorn's loggers propagate to the app's handler and format
            access_log=False,  # the app writes its own access line, with the route and the id
            server_header=False,
        )


@contextmanager
def _metrics_directory() -> Iterator[None]:
    """An empty directory for the workers' metric files (prometheus-client's multiprocess
    mode): `PROMETHEUS_MULTIPROC_DIR` when set, emptied of the files of a previous run,
    else a temporary one removed when the server stops."""
    given = os.environ.get(METRICS_DIR_VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield
        return
    directory = Path(tempfile.mkdtemp(prefix="orders-api-metrics-"))
    os.environ[METRICS_DIR_VARIABLE] = str(directory)
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def package_version() -> str:
    try:
        return version("orders-api")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def read_admin_password() -> str:
    password = os.environ.get("ADMIN_PASSWORD")
    if password:
        return password
    if sys.stdin.isatty():
        return getpass.getpass("Password for the admin: ")
    return sys.stdin.readline().rstrip("\r\n")


async def create_admin(
    email: str, name: str, read_password: Callable[[], str], settings: Settings
) -> str:
    """Create an admin, or promote (and reactivate) the user with this email.

    The password is asked for only when an account is created: a promoted user keeps theirs.
    It is read before the write transaction begins, so no lock waits on a person typing.
    """
    identity = _validated(UserBase, email=email, name=name)
    database = Database.from_settings(settings)
    try:
        async with database.read_sessions() as session:
            exists = await session.scalar(
                select(col(User.id)).where(col(User.email) == identity.email)
            )
        new_admin: User | None = None
        if exists is None:
            valid = _validated(UserCreate, email=email, name=name, password=read_password())
            hashed = await hash_password(valid.password, settings.bcrypt_rounds)
            new_admin = User.model_validate(
                valid, update={"hashed_password": hashed, "is_admin": True}
            )
        async with database.write_sessions() as session:
            user = await session.scalar(select(User).where(col(User.email) == identity.email))
            if user is not None:
                user.is_admin = True
                user.is_active = True
                outcome = f"Promoted {identity.email} to admin (their password is unchanged)"
            elif new_admin is not None:
                session.add(new_admin)
                outcome = f"Created admin {identity.email}"
            else:
                raise CommandError(f"{identity.email} was deleted meanwhile; run the command again")
            await session.commit()
    finally:
        await database.dispose()
    return outcome


def _validated(model: type[SchemaT], **values: str) -> SchemaT:
    """The values as `model`, or the first problem as a one-line CommandError."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise CommandError(f"{field}: {first['msg']}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Orders API")
    parser.add_argument("--version", action="version", version=f"orders-api {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve",
        help="apply migrations, then serve the API",
        description="Apply the migrations to DATABASE_URL, then serve the API with uvicorn.",
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    serve_parser.add_argument("--port", type=int, default=8000, help="default: %(default)s")
    serve_parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (default: %(default)s)"
    )
    serve_parser.add_argument("--reload", action="store_true", help="restart on code changes")
    serve_parser.add_argument(
        "--no-access-log", action="store_true", help="write no access line (ACCESS_LOG=false)"
    )

    commands.add_parser(
        "migrate",
        help="alembic upgrade head on DATABASE_URL",
        description="Apply every Alembic migration not yet applied to DATABASE_URL.",
    )

    admin_parser = commands.add_parser(
        "create-admin",
        help="create an admin, or promote an existing user",
        description="Create an admin, or promote (and reactivate) the user with this email. "
        "A new admin's password comes from ADMIN_PASSWORD, else a prompt (or one line of "
        "standard input when it is not a terminal); never from an argument.",
    )
    admin_parser.add_argument("--email", required=True, help="the admin's email (the login)")
    admin_parser.add_argument("--name", required=True, help="the admin's display name")

    commands.add_parser(
        "purge",
        help="delete what has expired (safe to run at any time)",
        description="Delete expired refresh tokens, failed logins past the throttle's "
        "window, expired idempotency keys and everything else that expires, in small "
        "batches. Safe to run at any time, from cron or a timer, beside running servers "
        "(which also purge every PURGE_INTERVAL_SECONDS).",
    )

    commands.add_parser(
        "seed-demo",
        help="add a small demo menu (safe to run twice)",
        description="Add a small demo menu; products already there are left alone.",
    )
    return parser


def run_command(args: argparse.Namespace, settings: Settings) -> str | None:
    handlers: dict[str, Callable[[], str | None]] = {
        "serve": lambda: serve(args, settings),
        "migrate": lambda: migrate(settings),
        "create-admin": lambda: asyncio.run(
            create_admin(args.email, args.name, read_admin_password, settings)
        ),
        "seed-demo": lambda: asyncio.run(seed_demo(settings)),
        "purge": lambda: asyncio.run(purge(settings)),
    }
    return handlers[args.command]()


async def seed_demo(settings: Settings) -> str:
    from app.services.menu import seed_demo_menu

    database = Database.from_settings(settings)
    try:
        async with database.write_sessions() as session:
            added = await seed_demo_menu(session)
            await session.commit()
    finally:
        await database.dispose()
    return f"Demo menu ready ({added} products added)"


async def purge(settings: Settings) -> str:
    from app.services.purge import describe, purge_everything

    _check_sqlite_file(settings)
    database = Database.from_settings(settings)
    try:
        purged = await purge_everything(database.write_sessions, settings)
    finally:
        await database.dispose()
    return f"Purged {describe(purged)}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        outcome = run_command(args, get_settings())
    except (ConfigError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the command line prints one line, never a traceback
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    if outcome:
        print(outcome)
    return 0
