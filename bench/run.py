"""The benchmark: seed a database, serve the app and a minimal FastAPI baseline the same
way (one uvicorn worker, access log off), drive both with wrk, report ratios.

    python -m bench                      # SQLite in a temporary directory
    python -m bench --postgres           # PostgreSQL (BENCH_POSTGRES_URL, recreated)

Absolute numbers on a shared machine mean little; every row is reported as a ratio to
the baseline's req/s, measured in the same run (before and after the endpoints).
"""

import argparse
import asyncio
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bcrypt
import httpx
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import migrate
from app.config import Settings
from bench import login_flood, report
from bench.seed import PASSWORD, SeedResult, SeedSize, seed, write_lua_data
from bench.servers import PROJECT_ROOT, Server, ServerError, free_port, start_server
from bench.wrk import BenchError, WrkResult, WrkRunner, ensure_wrk

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/orders_bench"
# As many clients as the hashing queue lets one client address have (a core's worth):
# more, and the bounded queue rightly answers the extra ones 503.
LOGIN_CLIENTS = 2
LOGIN_SCRIPT = "login.lua"
INTERFERENCE_LIMIT = 5.0
LOGIN_TARGET_SHARE = 0.8

# Floors (and aims) as a ratio to the baseline's req/s, per backend (bench/README.md).
FLOORS: dict[str, dict[str, tuple[float, float | None]]] = {
    "get_order": {"sqlite": (0.12, 0.25), "postgresql": (0.20, 0.30)},
    "list_orders": {"sqlite": (0.07, 0.15), "postgresql": (0.11, 0.18)},
    "products": {"sqlite": (0.15, None), "postgresql": (0.20, None)},
    "add_item": {"sqlite": (0.04, None), "postgresql": (0.06, None)},
}


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    script: str
    smoke: tuple[str, str]  # the method and path of the one request checked before the run
    connections: int | None = None  # None: --connections
    threads: int | None = None
    min_duration_s: float = 0  # a login takes a bcrypt hash: measure a few of them at least


SCENARIOS = {
    scenario.key: scenario
    for scenario in (
        Scenario("get_order", "GET /orders/{id}", "get_order.lua", ("GET", "/orders/{order}")),
        Scenario("list_orders", "GET /orders?limit=20", "list_orders.lua", ("GET", "/orders")),
        Scenario("products", "GET /products", "products.lua", ("GET", "/products")),
        Scenario("users_me", "GET /users/me (auth only)", "users_me.lua", ("GET", "/users/me")),
        Scenario(
            "add_item", "POST /orders/{id}/items", "add_item.lua", ("POST", "/orders/{pending}")
        ),
        Scenario(
            "login",
            f"POST /auth/login ({LOGIN_CLIENTS} clients)",
            LOGIN_SCRIPT,
            ("POST", "/auth/login"),
            connections=LOGIN_CLIENTS,
            threads=1,
            min_duration_s=5,
        ),
    )
}
# Reads first, on the data as seeded; the write last; the login interference right after
# GET /orders/{id} alone, so the two p99s it compares are measured back to back.
RUN_ORDER = [
    "get_order",
    "interference",
    "list_orders",
    "products",
    "users_me",
    "login",
    "add_item",
    "login_flood",
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        default=None,
        metavar="URL",
        help="run on PostgreSQL; the database in the URL (default: $BENCH_POSTGRES_URL or "
        f"{DEFAULT_POSTGRES_URL}) is DROPPED and recreated",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per endpoint")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--db-pool-size",
        type=int,
        help="the app's DB_POOL_SIZE (default: connections + 8, a pool sized to the load: "
        "a request holds its connection until its response is sent, so a little more)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--seed", type=int, default=5, help="random seed of the data")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[*SCENARIOS, "interference", "login_flood"],
        help="run only these (the baseline always runs)",
    )
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--check-floors", action="store_true", help="exit 3 when a floor or target is unmet"
    )
    return parser.parse_args(argv)


# ---------------------------------------------------------------- database


async def recreate_postgres_database(url: str) -> None:
    target = make_url(url)
    name = target.database
    if not name or not name.replace("_", "").isalnum():
        raise BenchError(f"refusing to recreate the PostgreSQL database {name!r}")
    engine = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


async def vacuum_analyze(url: str) -> None:
    """What autovacuum does soon after a bulk load on any server that runs it (this
    machine's runs without): table statistics for the planner, and the visibility map
    that lets an index-only scan (the count of a page of orders) skip the table."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


def prepare_database(settings: Settings, size: SeedSize, seed_value: int) -> SeedResult:
    if not settings.is_sqlite:
        asyncio.run(recreate_postgres_database(settings.database_url))
    migrate(settings)
    started = time.perf_counter()
    result = asyncio.run(seed(settings, size, random.Random(seed_value)))
    result.seconds = time.perf_counter() - started
    if not settings.is_sqlite:
        asyncio.run(vacuum_analyze(settings.database_url))
    return result


# ---------------------------------------------------------------- measuring


def bcrypt_hash_timings(rounds: int, samples: int = 3) -> list[float]:
    """One hash's time at the app's cost, on this machine, now (a few samples)."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds))
        timings.append(time.perf_counter() - started)
    return timings


class Runner(WrkRunner):
    def after_phase(self, server: Server, script: str) -> None:
        if script == LOGIN_SCRIPT:
            wait_for_hashes_to_finish(server)

    def run_interference(self, server: Server) -> tuple[WrkResult, WrkResult]:
        """GET /orders/{id} while LOGIN_CLIENTS clients log in without pause, at once."""
        read_result, login_result = self.run_beside(
            server, "get_order.lua", LOGIN_SCRIPT, LOGIN_CLIENTS
        )
        wait_for_hashes_to_finish(server)
        for name, result in (("GET /orders/{id}", read_result), ("login", login_result)):
            failure = result.failure(need_requests=result is read_result)
            if failure:
                raise BenchError(f"{name} during the login interference run failed: {failure}")
        return read_result, login_result


def wait_for_hashes_to_finish(server: Server, timeout_s: float = 60) -> None:
    """Wait until the server runs no password hash any more. wrk stops at its deadline
    with requests in flight, and the server finishes their hashes after the connections
    close: a run started at once would find their places in the bounded hashing queue
    still taken, and its own logins from the same address answered 503."""
    deadline = time.monotonic() + timeout_s
    while (queued := queued_hashes(server)) > 0:
        if time.monotonic() > deadline:
            raise BenchError(f"{queued:.0f} password hashes still queued after {timeout_s:.0f} s")
        time.sleep(0.05)


def queued_hashes(server: Server) -> float:
    """The server's `password_hashes_queued` gauge, from its `/metrics`."""
    response = httpx.get(server.url + "/metrics", timeout=30)
    response.raise_for_status()
    for line in response.text.splitlines():
        if line.startswith("password_hashes_queued "):
            return float(line.split()[1])
    raise BenchError(f"{server.url}/metrics has no password_hashes_queued gauge")


def smoke_check(server: Server, scenario: Scenario, data: SeedResult) -> None:
    """One request per endpoint before measuring, so a broken route fails with its answer."""
    caller = data.callers[0]
    method, path = scenario.smoke
    headers = {"Authorization": f"Bearer {caller.token}"}
    body: dict[str, object] | None = None
    if path == "/orders/{order}":
        path = f"/orders/{caller.orders[0]}"
    elif path == "/orders/{pending}":
        path = f"/orders/{caller.pending[0]}/items"
        body = {"product_id": data.product_ids[0], "quantity": 1}
    elif path == "/auth/login":
        body = {"email": caller.email, "password": PASSWORD}
        headers = {}
    response = httpx.request(method, server.url + path, headers=headers, json=body, timeout=30)
    if not response.is_success:
        raise BenchError(
            f"{scenario.label}: {method} {path} answered {response.status_code} "
            f"{response.text[:300]!r}; is the route implemented?"
        )


# ---------------------------------------------------------------- the run


def row_for(
    scenario_key: str,
    label: str,
    result: WrkResult,
    connections: int,
    baseline_rps: float,
    backend: str,
) -> dict[str, Any]:
    ratio = result.rps / baseline_rps
    row: dict[str, Any] = {
        "key": scenario_key,
        "label": label,
        "connections": connections,
        **result.as_dict(),
        "ratio": round(ratio, 4),
    }
    floor, aim = FLOORS.get(scenario_key, {}).get(backend, (None, None))
    if floor is not None:
        row.update(floor=floor, aim=aim, met=ratio >= floor)
    return row


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _run(args)
    except (BenchError, ServerError) as exc:
        print(f"\nbenchmark FAILED: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    wrk = ensure_wrk()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    selected = [key for key in RUN_ORDER if not args.only or key in args.only]
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="orders-bench-")))
        database_url = args.postgres or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        secret_key = secrets.token_urlsafe(48)
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            secret_key=secret_key,
        )
        print(f"==> seeding {backend} ({make_url(database_url).render_as_string()})")
        data = prepare_database(settings, SeedSize(), args.seed)
        data_file = workdir / "data.lua"
        write_lua_data(data, data_file)
        print(
            f"    {len(data.callers)} customers, {len(data.product_ids)} products, "
            f"{data.orders} orders ({data.pending_orders} pending), {data.items} items "
            f"in {data.seconds:.1f} s"
        )

        pool_size = args.db_pool_size or args.connections + 8
        server_env = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret_key,
            "BCRYPT_ROUNDS": str(settings.bcrypt_rounds),
            "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": str(pool_size),
            # Every wrk client comes from 127.0.0.1: the per-address limit is off here, and
            # measured as shipped by the login flood (`bench.login_flood`).
            "AUTH_RATE_LIMIT": "1000000/minute",
        }
        serve_options = ["--host", "127.0.0.1", "--workers", "1", "--no-access-log"]
        baseline_port, app_port = free_port(), free_port()
        baseline = start_server(
            "baseline",
            [
                *("-m", "uvicorn", "bench.baseline_app:app", "--port", str(baseline_port)),
                *serve_options,
                *("--log-level", "warning"),
            ],
            port=baseline_port,
            env={},
            log_dir=workdir,
            cwd=PROJECT_ROOT,
        )
        stack.callback(baseline.stop)
        app = start_server(
            "app",
            ["-m", "app", "serve", "--port", str(app_port), *serve_options],
            port=app_port,
            env=server_env,
            log_dir=workdir,
            cwd=workdir,  # away from the project's .env: only the settings above apply
        )
        stack.callback(app.stop)
        baseline.wait_ready("/")
        app.wait_ready("/health")
        print(
            f"==> serving: baseline on {baseline.url}, app on {app.url} "
            f"({' '.join(serve_options)}; DB_POOL_SIZE={pool_size})"
        )
        for key in selected:
            if key in SCENARIOS:
                smoke_check(app, SCENARIOS[key], data)

        runner = Runner.from_args(wrk, data_file, args)
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        measured: dict[str, WrkResult] = {}
        print(f"==> baseline ({args.warmup:g} s warm-up, {args.duration:g} s measured)")
        baseline_runs = [runner.run(baseline, "baseline.lua")]
        interference: tuple[WrkResult, WrkResult] | None = None
        flood_results: dict[str, Any] | None = None
        hash_timings: list[float] = []
        for key in selected:
            if key == "login_flood":
                print(
                    "==> a customer's login during floods of logins (the abuse limits as shipped)"
                )
                env = {k: v for k, v in server_env.items() if k != "AUTH_RATE_LIMIT"}
                flood_results = run_login_flood(env, workdir, data)
                continue
            if key == "interference":
                print(f"==> GET /orders/{{id}} while {LOGIN_CLIENTS} clients log in")
                if "get_order" not in measured:
                    measured["get_order"] = runner.run(app, "get_order.lua")
                interference = runner.run_interference(app)
                continue
            scenario = SCENARIOS[key]
            print(f"==> {scenario.label}")
            if key == "login":  # the hash is timed right before and after, as loads change
                hash_timings += bcrypt_hash_timings(settings.bcrypt_rounds)
            measured[key] = runner.run(
                app,
                scenario.script,
                connections=scenario.connections,
                threads=scenario.threads,
                min_duration_s=scenario.min_duration_s,
            )
            if key == "login":
                hash_timings += bcrypt_hash_timings(settings.bcrypt_rounds)
        print("==> baseline again")
        baseline_runs.append(runner.run(baseline, "baseline.lua"))

    baseline_rps = statistics.mean(result.rps for result in baseline_runs)
    rows = [
        row_for(
            "baseline",
            "baseline: minimal FastAPI GET /",
            baseline_runs[0],
            args.connections,
            baseline_rps,
            backend,
        )
    ]
    for key, result in measured.items():
        scenario = SCENARIOS[key]
        rows.append(
            row_for(
                key,
                scenario.label,
                result,
                scenario.connections or args.connections,
                baseline_rps,
                backend,
            )
        )
    login_rps = measured["login"].rps if "login" in measured else 0.0
    hash_s = statistics.median(hash_timings or bcrypt_hash_timings(settings.bcrypt_rounds))
    target = LOGIN_TARGET_SHARE * cpus / hash_s
    results: dict[str, Any] = {
        "backend": backend,
        "started_at": started_at,
        "cpus": cpus,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "server": {
            "command": "python -m app serve " + " ".join(serve_options),
            "baseline": "python -m uvicorn bench.baseline_app:app " + " ".join(serve_options),
            "loop": _module_or("uvloop", "asyncio"),
            "http": _module_or("httptools", "h11"),
            "db_pool_size": pool_size,
            "db_max_overflow": settings.db_max_overflow,
        },
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
            "seed": args.seed,
        },
        "data": {
            "customers": len(data.callers),
            "products": len(data.product_ids),
            "orders": data.orders,
            "pending_orders": data.pending_orders,
            "items": data.items,
        },
        "baseline_runs": [round(result.rps, 1) for result in baseline_runs],
        "baseline_rps": round(baseline_rps, 1),
        "rows": rows,
        "logins": {
            "per_s": round(login_rps, 2),
            "cpus": cpus,
            "bcrypt_rounds": settings.bcrypt_rounds,
            "hash_s": round(hash_s, 4),
            "target_per_s": round(target, 2),
            "met": login_rps >= target,
            "skipped": "login" not in measured,
        },
        "login_interference": _interference_summary(measured.get("get_order"), interference),
    }
    if flood_results is not None:
        results["login_flood"] = flood_results
    print()
    print(report.format_table(results))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{backend}-{started_at.replace(':', '').replace('-', '')[:15]}"
    json_path, chart_path = args.output_dir / f"{stem}.json", args.output_dir / f"{stem}.png"
    report.write_json(results, json_path)
    report.write_chart(results, chart_path)
    print(f"\nwrote {_relative(json_path)} and {_relative(chart_path)}")

    unmet = [row["label"] for row in rows if row.get("met") is False]
    if "login" in measured and not results["logins"]["met"]:
        unmet.append("logins/s")
    if interference is not None and not results["login_interference"]["met"]:
        unmet.append("p99 under logins")
    if flood_results is not None and not flood_results["met"]:
        unmet.append("a login during a flood")
    if unmet:
        print(f"unmet: {', '.join(unmet)}")
    return 3 if unmet and args.check_floors else 0


def run_login_flood(env: dict[str, str], workdir: Path, data: SeedResult) -> dict[str, Any]:
    """`bench.login_flood` against an app server of its own, as shipped."""
    port = free_port()
    server = start_server(
        "app-flood",
        ["-m", "app", "serve", "--port", str(port), "--host", "127.0.0.1", "--no-access-log"],
        port=port,
        env=env,
        log_dir=workdir,
        cwd=workdir,
    )
    try:
        server.wait_ready("/health")
        customer = login_flood.Account(data.callers[0].email, PASSWORD)
        return asyncio.run(login_flood.measure(server.url, customer))
    finally:
        server.stop()


def _interference_summary(
    alone: WrkResult | None, interference: tuple[WrkResult, WrkResult] | None
) -> dict[str, Any]:
    if alone is None or interference is None:
        return {
            "p99_alone_ms": 0.0,
            "p99_with_logins_ms": 0.0,
            "factor": 0.0,
            "limit": INTERFERENCE_LIMIT,
            "login_clients": LOGIN_CLIENTS,
            "met": False,
            "skipped": True,
        }
    reads, logins = interference
    factor = reads.p99_ms / alone.p99_ms
    return {
        "p99_alone_ms": alone.p99_ms,
        "p99_with_logins_ms": reads.p99_ms,
        "rps_alone": round(alone.rps, 1),
        "rps_with_logins": round(reads.rps, 1),
        "logins_per_s_meanwhile": round(logins.rps, 2),
        "factor": round(factor, 2),
        "limit": INTERFERENCE_LIMIT,
        "login_clients": LOGIN_CLIENTS,
        "met": factor <= INTERFERENCE_LIMIT,
    }


def _module_or(module: str, fallback: str) -> str:
    import importlib.util

    return module if importlib.util.find_spec(module) else fallback


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
