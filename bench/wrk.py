"""Running wrk: install it when missing, start runs, read the summary each run prints, and
measure a scenario the way every benchmark here does (`WrkRunner`).

Each Lua scenario in bench/wrk/ ends with one `BENCH_JSON {...}` line (see common.lua):
exact percentiles, socket errors, and the non-2xx responses counted over all threads.
"""

import argparse
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from bench.servers import Server

WRK_DIR = Path(__file__).resolve().parent / "wrk"
SUMMARY_PREFIX = "BENCH_JSON "


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why, in one line."""


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing Debian's package (apt-get install -y wrk)")
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-y", "-q"]
        if subprocess.run([*apt, "install", "wrk"], check=False).returncode != 0:
            subprocess.run([*apt, "update"], check=False)
            subprocess.run([*apt, "install", "wrk"], check=False)
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError(
        "wrk is not installed: run `sudo apt-get install -y wrk` (Debian/Ubuntu), "
        "`brew install wrk` (macOS), or build it from its sources, then run the benchmark again"
    )


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    first_bad_status: int
    first_bad_body: str

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def failed_requests(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def failure(self, *, need_requests: bool = True) -> str | None:
        """Why this run does not count, or None when every request got a 2xx."""
        if need_requests and self.requests == 0:
            return "no request completed"
        if not self.failed_requests:
            return None
        parts = [f"{self.non_2xx} non-2xx"] if self.non_2xx else []
        parts += [f"{count} {kind} errors" for kind, count in self.socket_errors.items() if count]
        if self.first_bad_status:
            parts.append(f"first: HTTP {self.first_bad_status} {self.first_bad_body!r}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "rps": round(self.rps, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "mean_ms": self.mean_ms,
            "max_ms": self.max_ms,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
        }


@dataclass(frozen=True)
class WrkRun:
    """A started wrk process; `result()` waits for it and parses its summary."""

    process: "subprocess.Popen[str]"
    command: list[str]

    def result(self, timeout: float) -> WrkResult:
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.communicate()
            raise BenchError(
                f"wrk did not finish in {timeout:.0f} s: {' '.join(self.command)}"
            ) from exc
        for line in stdout.splitlines():
            if line.startswith(SUMMARY_PREFIX):
                return _parse(json.loads(line[len(SUMMARY_PREFIX) :]))
        raise BenchError(
            f"wrk exited with {self.process.returncode} and no summary: "
            f"{(stderr or stdout).strip()[-500:]}"
        )


def start_wrk(
    wrk: str,
    url: str,
    script: str,
    *,
    duration_s: float,
    connections: int,
    threads: int,
    data_file: Path | None = None,
) -> WrkRun:
    command = [
        wrk,
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration_s))}s",
        "--timeout=10s",
        f"--script={WRK_DIR / script}",
        url,
    ]
    env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR)}
    if data_file is not None:
        env["BENCH_DATA"] = str(data_file)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    return WrkRun(process=process, command=command)


def _parse(raw: dict[str, object]) -> WrkResult:
    latency = raw["latency_us"]
    errors = raw["socket_errors"]
    if not isinstance(latency, dict) or not isinstance(errors, dict):
        raise BenchError(f"unexpected wrk summary: {raw}")
    return WrkResult(
        requests=int(str(raw["requests"])),
        duration_s=int(str(raw["duration_us"])) / 1e6,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        mean_ms=round(latency["mean"] / 1000, 3),
        max_ms=latency["max"] / 1000,
        non_2xx=int(str(raw["non_2xx"])),
        socket_errors={kind: int(count) for kind, count in errors.items()},
        first_bad_status=int(str(raw["first_bad_status"])),
        first_bad_body=str(raw["first_bad_body"]),
    )


@dataclass
class WrkRunner:
    """wrk against a server's scenarios, with one data file and default load settings."""

    wrk: str
    data_file: Path
    duration_s: float
    warmup_s: float
    connections: int
    threads: int

    @classmethod
    def from_args(cls, wrk: str, data_file: Path, args: argparse.Namespace) -> Self:
        """Load settings from a benchmark's `--duration`, `--warmup`, `--connections` and
        `--threads`."""
        return cls(
            wrk=wrk,
            data_file=data_file,
            duration_s=args.duration,
            warmup_s=args.warmup,
            connections=args.connections,
            threads=args.threads,
        )

    def after_phase(self, server: Server, script: str) -> None:
        """Called after each warm-up and measured run of `script` (a hook for subclasses)."""

    def run(
        self,
        server: Server,
        script: str,
        *,
        connections: int | None = None,
        threads: int | None = None,
        min_duration_s: float = 0,
    ) -> WrkResult:
        """Warm up, then measure; both must be free of errors."""
        duration_s = max(self.duration_s, min_duration_s)
        for seconds, phase in ((self.warmup_s, "warm-up"), (duration_s, "run")):
            if seconds <= 0:
                continue
            result = self.start(server, script, seconds, connections, threads).result(
                timeout=seconds + 60
            )
            # A warm-up may be shorter than one slow request (a login under load).
            failure = result.failure(need_requests=phase == "run")
            if failure:
                raise BenchError(f"{script} {phase} on {server.url} failed: {failure}")
            self.after_phase(server, script)
        return result

    def run_beside(
        self, server: Server, script: str, background: str, background_connections: int
    ) -> tuple[WrkResult, WrkResult]:
        """`script` measured while `background` runs without pause, one wrk thread, from a
        second before to after it: both results, unchecked."""
        started = self.start(server, background, self.duration_s + 2, background_connections, 1)
        time.sleep(1)  # the background load is in full swing before the measured run starts
        measured = self.start(server, script, self.duration_s).result(timeout=self.duration_s + 60)
        return measured, started.result(timeout=self.duration_s + 60)

    def start(
        self,
        server: Server,
        script: str,
        seconds: float,
        connections: int | None = None,
        threads: int | None = None,
    ) -> WrkRun:
        return start_wrk(
            self.wrk,
            server.url + "/",
            script,
            duration_s=seconds,
            connections=connections or self.connections,
            threads=threads or self.threads,
            data_file=self.data_file,
        )
