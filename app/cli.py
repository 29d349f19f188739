"""The command line: `python -m app <command>` (or the `orders-api` script)."""

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlmodel import col, select

from app.config import ConfigError, Settings, get_settings
from app.db import Database
from app.security import hash_password
from app.tables import User, UserCreate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class CommandError(Exception):
    """A failure explained in one line for the person at the terminal."""


def migrate(settings: Settings) -> None:
    from alembic.config import Config

    from alembic import command

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = settings.database_url
    command.upgrade(config, "head")


def serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    migrate(settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=None if args.reload else args.workers,
        reload=args.reload,
        log_level=settings.log_level.lower(),
        access_log=not args.no_access_log,
    )


def read_admin_password() -> str:
    password = os.environ.get("ADMIN_PASSWORD")
    if password:
        return password
    if sys.stdin.isatty():
        return getpass.getpass("Password for the admin: ")
    return sys.stdin.readline().rstrip("\r\n")


async def create_admin(email: str, name: str, password: str, settings: Settings) -> str:
    try:
        valid = UserCreate(email=email, name=name, password=password)
    except ValueError as exc:
        raise CommandError(_first_validation_message(exc)) from exc
    database = Database.from_settings(settings)
    try:
        async with database.write_sessions() as session:
            user = await session.scalar(select(User).where(col(User.email) == valid.email))
            if user is not None:
                user.is_admin = True
                user.is_active = True
                outcome = f"Promoted {valid.email} to admin"
            else:
                hashed = await hash_password(valid.password, settings.bcrypt_rounds)
                session.add(
                    User.model_validate(valid, update={"hashed_password": hashed, "is_admin": True})
                )
                outcome = f"Created admin {valid.email}"
            await session.commit()
    finally:
        await database.dispose()
    return outcome


def _first_validation_message(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Orders API")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser("serve", help="apply migrations, then serve the API")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--workers", type=int, default=1)
    serve_parser.add_argument("--reload", action="store_true", help="restart on code changes")
    serve_parser.add_argument("--no-access-log", action="store_true")

    commands.add_parser("migrate", help="alembic upgrade head on DATABASE_URL")

    admin_parser = commands.add_parser(
        "create-admin",
        help="create an admin, or promote an existing user",
        description="The password comes from ADMIN_PASSWORD, else a prompt (or standard input).",
    )
    admin_parser.add_argument("--email", required=True)
    admin_parser.add_argument("--name", required=True)

    commands.add_parser("seed-demo", help="add a small demo menu (safe to run twice)")
    return parser


def run_command(args: argparse.Namespace, settings: Settings) -> str | None:
    handlers: dict[str, Callable[[], str | None]] = {
        "serve": lambda: serve(args, settings),
        "migrate": lambda: migrate(settings),
        "create-admin": lambda: asyncio.run(
            create_admin(args.email, args.name, read_admin_password(), settings)
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
    except Exception as exc:  # the command line prints one line, never a traceback
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    if outcome:
        print(outcome)
    return 0
