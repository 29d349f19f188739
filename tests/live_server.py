"""A real server for the clients that need one (the browser test, schemathesis).

`python -m app serve` in a subprocess, exactly as a person starts it (migrations, then
uvicorn), on a free port of 127.0.0.1, in a scratch directory so a developer's `.env` does
not leak in. It is ready when `/health` answers 200.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "live-server-secret-key-0123456789abcdefghijklmnop"
STARTUP_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    env: dict[str, str]
    workdir: Path
    log_path: Path

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `python -m app <args>` against the server's database; its standard output."""
        result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "app", *args],
            env=self.env,
            cwd=self.workdir,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"python -m app {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_ROOT),
        **settings,
    }
    env.pop("TEST_DATABASE_URL", None)
    return env


@contextmanager
def live_server(
    database_url: str,
    workdir: Path,
    serve_options: Sequence[str] = ("--no-access-log",),
    port: int | None = None,
    **settings: str,
) -> Iterator[LiveServer]:
    """Serve the app on `port` (a free one by default) until the block ends; fail with the
    server's log if it does not come up. `serve_options` go to `python -m app serve` after
    the port."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "server.log"
    server = LiveServer(
        base_url=f"http://127.0.0.1:{port}",
        env=server_env(database_url, **settings),
        workdir=workdir,
        log_path=log_path,
    )
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "app", "serve", "--port", str(port), *serve_options],
            env=server.env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(server: LiveServer, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /health in time:\n{server.log()}")
