"""A real server for the clients that need one (the browser test, schemathesis).

`python -m app serve` in a subprocess, exactly as a person starts it (migrations, then
uvicorn), on a free port of 127.0.0.1, in a scratch directory so a developer's `.env` does
not leak in. It is ready when `/health` answers 200 (or answers at all, for a server
started on a database that cannot serve).

`unprivileged=True` runs it as an ordinary user even when the tests run as root, for what
root does not notice: file modes (root writes to a file whose mode says read-only).
"""

import os
import shutil
import signal
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
STOP_TIMEOUT_SECONDS = 30.0
UNPRIVILEGED_USER = "nobody"


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    env: dict[str, str]
    workdir: Path
    log_path: Path
    process: "subprocess.Popen[bytes]"

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig` and wait for the server to exit; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

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


def unprivileged_command() -> list[str]:
    """The prefix that runs a command as an ordinary user; none when not root already."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("running the server as an ordinary user needs setpriv (util-linux)")
    return [setpriv, "--reuid", UNPRIVILEGED_USER, "--regid", "nogroup", "--clear-groups"]


@contextmanager
def live_server(
    database_url: str,
    workdir: Path,
    serve_options: Sequence[str] = ("--no-access-log",),
    port: int | None = None,
    *,
    unprivileged: bool = False,
    wait_for_health: bool = True,
    **settings: str,
) -> Iterator[LiveServer]:
    """Serve the app on `port` (a free one by default) until the block ends; fail with the
    server's log if it does not come up. `serve_options` go to `python -m app serve` after
    the port. The block may stop it first (`LiveServer.stop`)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "server.log"
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), *serve_options]
    if unprivileged:
        command = unprivileged_command() + command
    env = server_env(database_url, **settings)
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        )
    server = LiveServer(f"http://127.0.0.1:{port}", env, workdir, log_path, process)
    try:
        _wait_until_up(server, wait_for_health)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(server: LiveServer, healthy: bool) -> None:
    """Until `/health` answers 200, or, unless `healthy`, answers anything."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {server.process.returncode}:\n{server.log()}"
            )
        try:
            status = httpx.get(f"{server.base_url}/health", timeout=2).status_code
        except httpx.TransportError:
            pass
        else:
            if status == 200 or not healthy:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /health in time:\n{server.log()}")
