"""The command line: `python -m app <command>` (or the `orders-api` script)."""

import argparse
import asyncio
import getpass
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import make_url
from sqlmodel import col, select

from app.config import ConfigError, Settings, get_settings
from app.db import Database
from app.security import hash_password
from app.tables import User, UserBase, UserCreate

SchemaT = TypeVar("SchemaT", bound=BaseModel)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# SIGTERM: uvicorn stops accepting, lets the requests in flight finish for up to this long,
# then runs the app's shutdown (SPEC §11).
GRACEFUL_SHUTDOWN_SECONDS = 20
# How long an idle keep-alive connection stays open. Well beyond what clients and proxies
# keep one idle (httpx 5 s, deploy/nginx.conf 60 s): when the server closes a connection
# just as a client sends a request on it, the client gets a reset, not an answer, and a
# POST cannot be retried. Each side's idle clock starts when it is done with the response,
# a client's later (it may be busy for seconds under load), so a margin of a few seconds
# is not enough.
KEEP_ALIVE_SECONDS = 75


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


def migrate(settings: Settings) -> None:
    from alembic.config import Config

    from alembic import command

    _check_sqlite_file(settings)
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = settings.database_url
    command.upgrade(config, "head")


def _stopped_on_request(_signal: int, _frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    migrate(settings)
    # uvicorn handles SIGTERM (a graceful shutdown), then raises it again for the handler
    # that was in place before: this one makes the stop a success (exit 0), as SPEC §11 and
    # process supervisors expect of a shutdown they asked for, rather than a death by signal.
    signal.signal(signal.SIGTERM, _stopped_on_request)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=None if args.reload else args.workers,
        reload=args.reload,
        log_level=settings.log_level.lower(),
        access_log=not args.no_access_log,
        # The client address of the abuse limits: X-Forwarded-For from trusted proxies only.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


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
    serve_parser.add_argument("--no-access-log", action="store_true", help="log no requests")

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
