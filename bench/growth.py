"""The data-growth run (SPEC §12): each read path at 500 orders, then at a million.

    python -m bench.growth                    # SQLite in a temporary directory
    python -m bench.growth --postgres         # PostgreSQL (BENCH_POSTGRES_URL, recreated)

Seeds 20 customers (each owns a twentieth of the orders), an admin, a menu of 50 and 500
orders; serves the app (one uvicorn worker, as `make bench` does) and measures with wrk:
an order, a customer's first page, an admin's first page, an admin's page 10,000 orders
deep by cursor, the menu, and the order read again while two admins page through every
order. Then grows the database in SQL to `--orders` and measures the same again. Prints
each path's throughput at both sizes and the ratio (target: at least 0.8), and the order
read's p99 with the paging admins ÷ alone at both sizes (target: at a million no more than
twice what it is at 500). Results in bench/results/growth-<backend>-<time>.json.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.cli import migrate
from app.config import Settings
from app.paging import MAX_OFFSET, CursorCodec, PagedList, Position
from app.security import encode_token
from app.tables import ORDERS
from bench.growth_seed import People, analyze, grow, seed_base
from bench.run import DEFAULT_POSTGRES_URL, RESULTS_DIR, recreate_postgres_database
from bench.servers import Server, ServerError, free_port, start_server
from bench.wrk import BenchError, WrkResult, WrkRunner, ensure_wrk

BASE_ORDERS = 500
DEEP = MAX_OFFSET  # the admin's deep page starts this many orders down, by cursor
SAMPLED_ORDERS = 4_000  # order ids the readers pick from (their owners' own)
PAGERS = 2
RATIO_TARGET = 0.8
P99_GROWTH_LIMIT = 2.0


@dataclass(frozen=True)
class ReadPath:
    key: str
    label: str
    script: str


PATHS = (
    ReadPath("get_order", "GET /orders/{id}", "get_order.lua"),
    ReadPath("customer_page", "a customer's first page", "list_orders.lua"),
    ReadPath("admin_page", "an admin's first page", "admin_orders.lua"),
    ReadPath("admin_deep_page", f"an admin's page {DEEP:,} deep by cursor", "admin_deep_page.lua"),
    ReadPath("products", "GET /products", "products.lua"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.growth", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        default=None,
        metavar="URL",
        help="run on PostgreSQL; the database in the URL is DROPPED and recreated",
    )
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders after growing")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per path")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per path")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- what the load generator needs


async def _sampled_orders(engine: AsyncEngine, rng: random.Random) -> dict[int, list[int]]:
    """Order ids by owner: a random sample of every order."""
    async with engine.connect() as connection:
        highest = await connection.scalar(select(func.max(ORDERS.c.id)))
        wanted = sorted({rng.randint(1, highest or 1) for _ in range(SAMPLED_ORDERS)})
        rows = await connection.execute(
            select(ORDERS.c.user_id, ORDERS.c.id).where(ORDERS.c.id.in_(wanted))
        )
        owned: dict[int, list[int]] = {}
        for user_id, order_id in rows:
            owned.setdefault(user_id, []).append(order_id)
    return owned


async def _deep_cursor(engine: AsyncEngine, codec: CursorCodec) -> str:
    """The cursor an admin holds after reading `DEEP` orders (or all but the last page's
    worth, on a smaller database), as the app would have made it."""
    async with engine.connect() as connection:
        orders = await connection.scalar(select(func.count()).select_from(ORDERS)) or 0
        depth = max(0, min(DEEP, orders - 21))
        row = (
            await connection.execute(
                select(ORDERS.c.created_at, ORDERS.c.id)
                .order_by(ORDERS.c.created_at.desc(), ORDERS.c.id.desc())
                .offset(depth)
                .limit(1)
            )
        ).one()
    return codec.encode(PagedList.ORDERS, Position(row.created_at, row.id))


def _bearer(user_id: int, settings: Settings) -> str:
    return "Bearer " + encode_token(user_id, "access", timedelta(hours=3), settings)[0]


async def write_lua_data(
    engine: AsyncEngine, people: People, settings: Settings, path: Path, rng: random.Random
) -> None:
    owned = await _sampled_orders(engine, rng)
    deep_cursor = await _deep_cursor(engine, CursorCodec(settings.secret_key))
    lines = ["return {", "  callers = {"]
    for user_id in people.customer_ids:
        orders = ",".join(str(order_id) for order_id in owned.get(user_id, []))
        lines.append(
            f'    {{headers = {{Authorization = "{_bearer(user_id, settings)}"}}, '
            f"orders = {{{orders}}}}},"
        )
    lines.append("  },")
    lines.append(
        f'  admin = {{headers = {{Authorization = "{_bearer(people.admin_id, settings)}"}}}},'
    )
    lines.append(f'  deep_cursor = "{deep_cursor}",')
    lines.append("}")
    await asyncio.to_thread(path.write_text, "\n".join(lines) + "\n")


# ---------------------------------------------------------------- measuring


def run_beside_pagers(runner: WrkRunner, server: Server) -> tuple[WrkResult, WrkResult]:
    """GET /orders/{id} while `PAGERS` admins page through every order without pause."""
    reads, paging = runner.run_beside(server, "get_order.lua", "admin_walk.lua", PAGERS)
    for name, result in (("GET /orders/{id}", reads), ("admins paging", paging)):
        failure = result.failure()
        if failure:
            raise BenchError(f"{name} beside the paging admins failed: {failure}")
    return reads, paging


def serve(database_url: str, secret_key: str, connections: int, workdir: Path, name: str) -> Server:
    port = free_port()
    server = start_server(
        name,
        [
            "-m",
            "app",
            "serve",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--workers",
            "1",
            "--no-access-log",
        ],
        port=port,
        env={
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret_key,
            "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": str(connections + 8),
        },
        log_dir=workdir,
        cwd=workdir,
    )
    server.wait_ready("/health")
    return server


def measure_size(
    runner: WrkRunner, settings: Settings, connections: int, workdir: Path, label: str
) -> dict[str, Any]:
    server = serve(settings.database_url, settings.secret_key, connections, workdir, f"app-{label}")
    try:
        results: dict[str, Any] = {}
        for path in PATHS:
            print(f"==> {label}: {path.label}")
            results[path.key] = runner.run(server, path.script).as_dict()
        print(f"==> {label}: GET /orders/{{id}} while {PAGERS} admins page through every order")
        reads, paging = run_beside_pagers(runner, server)
        results["get_order_beside_pagers"] = reads.as_dict()
        results["pagers"] = paging.as_dict()
        return results
    finally:
        server.stop()


# ---------------------------------------------------------------- the run


def summarize(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for path in PATHS:
        rps_small, rps_large = small[path.key]["rps"], large[path.key]["rps"]
        ratio = rps_large / rps_small if rps_small else 0.0
        rows.append(
            {
                "key": path.key,
                "label": path.label,
                "rps_small": rps_small,
                "rps_large": rps_large,
                "p99_small_ms": small[path.key]["p99_ms"],
                "p99_large_ms": large[path.key]["p99_ms"],
                "ratio": round(ratio, 3),
                "met": ratio >= RATIO_TARGET,
            }
        )
    factors = [
        size["get_order_beside_pagers"]["p99_ms"] / size["get_order"]["p99_ms"]
        for size in (small, large)
    ]
    return {
        "rows": rows,
        "p99_factor_small": round(factors[0], 2),
        "p99_factor_large": round(factors[1], 2),
        "p99_factor_growth": round(factors[1] / factors[0], 2),
        "p99_met": factors[1] <= P99_GROWTH_LIMIT * factors[0],
    }


def format_table(backend: str, orders: int, summary: dict[str, Any]) -> str:
    lines = [
        f"{backend}: req/s at {BASE_ORDERS:,} and at {orders:,} orders "
        f"(target ratio ≥ {RATIO_TARGET})",
        f"{'path':<44}{BASE_ORDERS:>10,}{orders:>12,}{'ratio':>8}",
    ]
    for row in summary["rows"]:
        mark = "" if row["met"] else "  (below target)"
        lines.append(
            f"{row['label']:<44}{row['rps_small']:>10.0f}{row['rps_large']:>12.0f}"
            f"{row['ratio']:>8.2f}{mark}"
        )
    lines.append(
        f"GET /orders/{{id}} p99 with {PAGERS} admins paging ÷ alone: "
        f"{summary['p99_factor_small']} at {BASE_ORDERS:,}, {summary['p99_factor_large']} at "
        f"{orders:,} ({summary['p99_factor_growth']}x; target ≤ {P99_GROWTH_LIMIT}x)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _run(args)
    except (BenchError, ServerError) as exc:
        print(f"\ngrowth benchmark FAILED: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    wrk = ensure_wrk()
    rng = random.Random(5)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="orders-growth-")))
        database_url = args.postgres or f"sqlite+aiosqlite:///{workdir / 'growth.db'}"
        backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            secret_key=secrets.token_urlsafe(48),
        )
        if not settings.is_sqlite:
            asyncio.run(recreate_postgres_database(database_url))
        migrate(settings)
        data_file = workdir / "data.lua"
        runner = WrkRunner.from_args(wrk, data_file, args)

        print(f"==> seeding {backend}: {BASE_ORDERS} orders")
        people = asyncio.run(_seed_base(settings, data_file, rng))
        small = measure_size(runner, settings, args.connections, workdir, f"{BASE_ORDERS}")

        started = time.perf_counter()
        print(f"==> growing {backend} to {args.orders:,} orders")
        asyncio.run(_grow(settings, args.orders - BASE_ORDERS, people, data_file, rng))
        grown_in = time.perf_counter() - started
        print(f"    grown in {grown_in:.0f} s")
        large = measure_size(runner, settings, args.connections, workdir, f"{args.orders}")

    summary = summarize(small, large)
    print()
    print(format_table(backend, args.orders, summary))
    started_at = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    output = args.output_dir / f"growth-{backend}-{started_at}.json"
    output.write_text(
        json.dumps(
            {
                "backend": backend,
                "orders": {"small": BASE_ORDERS, "large": args.orders},
                "grown_in_s": round(grown_in, 1),
                "settings": {
                    "duration_s": args.duration,
                    "warmup_s": args.warmup,
                    "connections": args.connections,
                    "threads": args.threads,
                    "pagers": PAGERS,
                },
                "small": small,
                "large": large,
                "summary": summary,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {output}")
    return 0


async def _seed_base(settings: Settings, data_file: Path, rng: random.Random) -> People:
    engine = create_async_engine(settings.database_url)
    try:
        people = await seed_base(engine, settings.bcrypt_rounds, BASE_ORDERS)
        await analyze(engine)
        await write_lua_data(engine, people, settings, data_file, rng)
    finally:
        await engine.dispose()
    return people


async def _grow(
    settings: Settings, orders: int, people: People, data_file: Path, rng: random.Random
) -> None:
    engine = create_async_engine(settings.database_url)
    try:
        await grow(engine, orders)
        await write_lua_data(engine, people, settings, data_file, rng)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
