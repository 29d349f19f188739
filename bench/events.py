"""The order event stream under many open streams: memory per stream, CPU per event
delivered, delivery latency.

    python -m bench.events [--streams 500] [--events 100] [--database-url URL]

Serves the app (one worker, a fresh SQLite file unless `--database-url` names a fresh
PostgreSQL database) and opens `--streams` streams of one admin, who sees every order.
Then a customer places `--events` orders one after the other, first with no stream open,
then with all of them open. It prints:

- memory per stream: the server's resident memory with the streams open, less before,
  over the number of streams;
- CPU per event delivered: the server's CPU time for the orders with the streams open,
  less the same orders with none, over the events delivered (orders x streams);
- delivery latency: from the moment the order's request is sent to the moment a stream's
  client has read its event, over every delivery (p50, p99, max).

Only 127.0.0.1 is contacted; the server is stopped by its pid.
"""

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.servers import Server, free_port, start_server

SECRET_KEY = "bench-events-secret-key-0123456789abcdefghijklmnop"
PASSWORD = "bench-events-password"
ADMIN_EMAIL = "admin@bench-events.example.com"
CUSTOMER_EMAIL = "customer@bench-events.example.com"
WRITE_INTERVAL_S = 0.05
EVENT_ID = re.compile(rb"^id: (\d+)\r?$", re.MULTILINE)


@dataclass
class StreamClient:
    """One open stream, read with a bare socket (a full HTTP client per stream would cost
    the benchmark's own process more than the server it measures)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    received: dict[int, float] = field(default_factory=dict)

    async def read_forever(self) -> None:
        while chunk := await self.reader.read(65536):
            now = time.monotonic()
            for match in EVENT_ID.finditer(chunk):
                self.received[int(match.group(1))] = now


async def open_stream(port: int, token: str) -> StreamClient:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /orders/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await reader.readline()
    if b" 200 " not in status_line:
        raise SystemExit(f"a stream was refused: {status_line!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    return StreamClient(reader, writer)


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS in /proc")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def place_orders(
    client: httpx.AsyncClient, headers: dict[str, str], product_id: int, count: int
) -> list[float]:
    """Place `count` orders one after the other, paced; when each request was sent."""
    sent = []
    for _ in range(count):
        sent.append(time.monotonic())
        response = await client.post(
            "/orders", json={"items": [{"product_id": product_id, "quantity": 1}]}, headers=headers
        )
        response.raise_for_status()
        await asyncio.sleep(WRITE_INTERVAL_S)
    return sent


async def log_in(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def serve(database_url: str, workdir: Path) -> Server:
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
        "EVENTS_MAX_STREAMS_PER_USER": "100000",
    }
    server = start_server(
        "events",
        ["-m", "app", "serve", "--port", str(port), "--no-access-log"],
        port=port,
        env=env,
        log_dir=workdir,
        cwd=workdir,
    )
    server.wait_ready("/health")
    subprocess.run(  # our own CLI, fixed arguments
        [sys.executable, "-m", "app", "create-admin", "--email", ADMIN_EMAIL, "--name", "Bench"],
        input=PASSWORD,
        text=True,
        env={**env, "PATH": "/usr/bin:/bin"},
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    return server


async def run(args: argparse.Namespace, server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        admin_token = await log_in(client, ADMIN_EMAIL)
        admin = {"Authorization": f"Bearer {admin_token}"}
        product = await client.post(
            "/products", json={"name": "Bench dish", "price_cents": 500}, headers=admin
        )
        product.raise_for_status()
        product_id = product.json()["id"]
        signup = {"name": "Bench", "email": CUSTOMER_EMAIL, "password": PASSWORD}
        (await client.post("/auth/signup", json=signup)).raise_for_status()
        customer = {"Authorization": f"Bearer {await log_in(client, CUSTOMER_EMAIL)}"}

        pid = server.process.pid
        cpu_before = cpu_seconds(pid)
        await place_orders(client, customer, product_id, args.events)
        cpu_without_streams = cpu_seconds(pid) - cpu_before

        memory_before = resident_kib(pid)
        streams = [await open_stream(server.port, admin_token) for _ in range(args.streams)]
        readers = [asyncio.create_task(stream.read_forever()) for stream in streams]
        await asyncio.sleep(2)
        memory_with = resident_kib(pid)

        cpu_before = cpu_seconds(pid)
        sent = await place_orders(client, customer, product_id, args.events)
        await asyncio.sleep(3)
        cpu_with_streams = cpu_seconds(pid) - cpu_before
        for reader in readers:
            reader.cancel()
        for stream in streams:
            stream.writer.close()

    report(args, streams, sent, memory_with - memory_before, cpu_with_streams - cpu_without_streams)


def report(
    args: argparse.Namespace,
    streams: list[StreamClient],
    sent: list[float],
    memory_kib: int,
    extra_cpu_s: float,
) -> None:
    latencies = []
    delivered = 0
    for stream in streams:
        ids = sorted(stream.received)[-len(sent) :]
        delivered += len(ids)
        latencies += [
            stream.received[event_id] - at for event_id, at in zip(ids, sent, strict=False)
        ]
    expected = len(sent) * len(streams)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    print(f"streams open: {len(streams)}; orders placed: {len(sent)}")
    print(f"events delivered: {delivered} of {expected}")
    print(f"memory per stream: {memory_kib / len(streams):.1f} KiB")
    print(f"CPU per event delivered: {extra_cpu_s / max(delivered, 1) * 1e6:.1f} µs")
    print(
        f"delivery latency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--database-url", help="a fresh database (default: a new SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-events-") as scratch:
        workdir = Path(scratch)
        database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'events.db'}"
        server = serve(database_url, workdir)
        try:
            asyncio.run(run(args, server))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
