"""Fuzz the API from its own OpenAPI schema with schemathesis, against a real server.

    python -m tests.fuzz.run                       # CI budget: fixed seed and example count
    python -m tests.fuzz.run --max-time 900        # a longer, unseeded session (make fuzz)
    python -m tests.fuzz.run --database-url postgresql+asyncpg://.../<fresh database>

The server is `python -m app serve` on a free port (a fresh SQLite file unless
`--database-url` names a fresh database), with the demo menu. schemathesis runs every
phase (examples, coverage, fuzzing, and the stateful phase that follows the schema's
links: sign up -> log in -> open an order -> add items -> complete) with every default
check, twice:

- as a customer who signed up through the API, over every operation a customer may use;
- as an admin made with `python -m app create-admin`, over every operation but
  `update_user`: a fuzzer that deactivates its own account can test nothing after that.

Both log in through `/auth/token`, the OAuth2 password flow (the server's login throttle is
set out of reach: the fuzzer tries its own email with wrong passwords too). Any failure, a
warning that means the run did not test what it claims (see schemathesis.toml), or a
traceback in the server's log fails the run (exit status 1); the reports (JUnit, and a
pytest file reproducing each failure) are written under `--report-dir`.
"""

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.live_server import LiveServer, live_server

CONFIG = Path(__file__).with_name("schemathesis.toml")
CI_SEED = 20261128
CI_MAX_EXAMPLES = 50
ADMIN_ONLY = (
    "list_users",
    "read_user",
    "update_user",
    "delete_user",
    "create_product",
    "update_product",
)
# An endless stream: a request that never completes is not something schemathesis can check
# (tests/test_order_events.py does, against a live server).
STREAMS = ("stream_order_events",)
# Each needs a secret the fuzzer cannot have (the current password, a token only ever found
# in a mail): every body it makes is rightly refused (403, 400), which schemathesis reports
# as missing credentials or a schema the app contradicts. Their tests cover them.
NEEDS_A_SECRET = ("change_password", "delete_me", "confirm_password_reset")


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    password: str
    exclude_operation_ids: tuple[str, ...] = ()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument("--database-url", help="a fresh database (default: a new SQLite file)")
    parser.add_argument("--max-examples", type=int, default=CI_MAX_EXAMPLES)
    parser.add_argument(
        "--max-time", type=int, help="seconds per identity; fuzz until spent (no fixed seed)"
    )
    parser.add_argument("--seed", type=int, help=f"default {CI_SEED} unless --max-time is given")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--report-dir", type=Path, default=Path(__file__).with_name("report"))
    return parser.parse_args(argv)


def prepare_identities(server: LiveServer) -> list[Identity]:
    server.cli("seed-demo")
    customer = Identity(
        "customer",
        "fuzz-customer@example.com",
        secrets.token_urlsafe(16),
        ADMIN_ONLY + STREAMS + NEEDS_A_SECRET,
    )
    signup = httpx.post(
        f"{server.base_url}/auth/signup",
        json={"name": "Fuzz Customer", "email": customer.email, "password": customer.password},
    )
    signup.raise_for_status()
    admin = Identity(
        "admin",
        "fuzz-admin@example.com",
        secrets.token_urlsafe(16),
        ("update_user", *STREAMS, *NEEDS_A_SECRET),
    )
    server.cli("create-admin", "--email", admin.email, "--name", "Fuzz Admin", stdin=admin.password)
    return [customer, admin]


def schemathesis_command(
    server: LiveServer, identity: Identity, args: argparse.Namespace
) -> list[str]:
    report_dir = args.report_dir / identity.name
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.base_url}/openapi.json",
        "--workers",
        args.workers,
        "--max-examples",
        str(args.max_examples),
        "--report",
        "junit,pytest",
        "--report-dir",
        str(report_dir),
        "--generation-database",
        "none",
    ]
    seed = args.seed if args.seed is not None else (None if args.max_time else CI_SEED)
    if seed is not None:
        command += ["--seed", str(seed)]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    for operation_id in identity.exclude_operation_ids:
        command += ["--exclude-operation-id", operation_id]
    return command


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.report_dir = args.report_dir.resolve()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        workdir = Path(scratch)
        database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'fuzz.db'}"
        failed = []
        # The fuzzer also tries its own account's email with wrong passwords: with the usual
        # throttle it would lock itself out after five; and it sends far more than 60 requests
        # a minute to the auth routes, all from one address.
        with live_server(
            database_url,
            workdir,
            LOGIN_MAX_FAILURES="1000000",
            AUTH_RATE_LIMIT="1000000/minute",
        ) as server:
            for identity in prepare_identities(server):
                print(f"\n==> schemathesis as the {identity.name} ({identity.email})", flush=True)
                env = {
                    **os.environ,
                    "FUZZ_EMAIL": identity.email,
                    "FUZZ_PASSWORD": identity.password,
                }
                result = subprocess.run(  # noqa: S603 - fixed command line
                    schemathesis_command(server, identity, args),
                    env=env,
                    cwd=workdir,  # schemathesis keeps its cache in the working directory
                    check=False,
                )
                if result.returncode != 0:
                    failed.append(identity.name)
            server_errors = [line for line in server.log().splitlines() if "Traceback" in line]
        if server_errors:
            print(f"\nthe server logged {len(server_errors)} traceback(s):\n{server.log()}")
            failed.append("server log")
    if failed:
        print(f"\nFUZZING FAILED: {', '.join(failed)} (reports in {args.report_dir})")
        return 1
    print("\nfuzzing found nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
