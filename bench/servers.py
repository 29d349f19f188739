"""Starting and stopping local uvicorn servers for the benchmark and the multi-instance check.

Servers listen on 127.0.0.1 only, log to a file, and are always stopped by their own pid
(SIGTERM, then SIGKILL after a grace period), never by name.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """A server did not start or answer; the message points at its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


@dataclass
class Server:
    name: str
    port: int
    process: "subprocess.Popen[bytes]"
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, path: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with {self.process.returncode} while starting; "
                    f"its log ({self.log_path}):\n{self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ServerError(
            f"{self.name} did not answer {path} within {timeout_s:.0f} s; "
            f"its log ({self.log_path}):\n{self.log_tail()}"
        )

    def stop(self, grace_s: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=grace_s)


def start_server(
    name: str,
    arguments: list[str],
    *,
    port: int,
    env: dict[str, str],
    log_dir: Path,
    cwd: Path,
) -> Server:
    """Start `python <arguments>` with the given environment (added to a minimal one)."""
    log_path = log_dir / f"{name}.log"
    base_env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    base_env["PYTHONPATH"] = str(PROJECT_ROOT)
    log = log_path.open("wb")
    try:
        process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=cwd,
            env={**base_env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    finally:
        log.close()
    return Server(name=name, port=port, process=process, log_path=log_path)
