"""What the load scenarios share: a fresh PostgreSQL database, the production processes, clients, the report."""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import multiprocessing
import os
import platform as py_platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import benchdb  # noqa: E402

DOC = ROOT / "docs" / "PERFORMANCE.md"
RESULTS = ROOT / "bench" / "results"
FIXTURES = ROOT / "bench" / "fixtures"
REDIS_URL = os.environ.get("GGZY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
# cpu_probe() on this 2-vCPU machine when nothing else ran on its host (2026-11-21: 26-30 ms quiet, 41-50 busy).
QUIET_PROBE_MS = 27
QUIET_FACTOR = 1.2


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def env_int(name: str, default: int) -> int:
    """A size from the environment (make bench-load passes them through)."""
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p90/p99/max of samples (any unit), rounded."""
    if not samples:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "n": 0}
    if len(samples) == 1:
        one = round(samples[0], 2)
        return {"p50": one, "p90": one, "p99": one, "max": one, "n": 1}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p90": round(cuts[89], 2), "p99": round(cuts[98], 2),
            "max": round(max(samples), 2), "n": len(samples)}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "python": py_platform.python_version(),
            "os": py_platform.platform(terse=True), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "load_start": round(os.getloadavg()[0], 2), "probe_start_ms": cpu_probe()}


def _probe_once() -> float:
    """Milliseconds this process takes for a fixed piece of Python work (JSON and SHA-256, as a step does),
    best of 5."""
    document = {"tasks": [{"id": f"{n:036d}", "name": "办理", "data": {"n": n, "ok": True}} for n in range(40)]}
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(200):
            text = json.dumps(document, ensure_ascii=False, sort_keys=True)
            hashlib.sha256(text.encode()).hexdigest()
            json.loads(text)
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def _probe_child(pipe: Any) -> None:
    pipe.send(_probe_once())
    pipe.close()


def cpu_probe() -> float:
    """The fixed piece of work run on every CPU at once (a process each): the slowest one's milliseconds.

    On this shared virtual machine the same code runs up to twice as slow at times, on one vCPU or on both,
    while the guest still counts its cores as fully its own (and CPU time grows with it); the probe before a
    mode says which case the mode met."""
    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for _ in range(len(os.sched_getaffinity(0))):
        ours, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_probe_child, args=(theirs,))
        proc.start()
        pipes.append(ours)
        procs.append(proc)
    results = [pipe.recv() for pipe in pipes]
    for proc in procs:
        proc.join()
    return max(results)


def settled_probe() -> float:
    """cpu_probe() once the host is quiet: probes every second until one is within QUIET_FACTOR of
    QUIET_PROBE_MS, for at most GGZY_BENCH_WAIT_QUIET seconds [120] (0: no waiting); the last probe.

    Each mode of a scenario starts this way, so that runs measure the platform rather than whatever else
    shares the host; the probe each mode started with is reported beside its numbers."""
    limit = env_float("GGZY_BENCH_WAIT_QUIET", 120)
    deadline = time.monotonic() + limit
    probe = cpu_probe()
    while probe > QUIET_PROBE_MS * QUIET_FACTOR and time.monotonic() < deadline:
        time.sleep(1)
        probe = cpu_probe()
    return probe


def machine_line(info: dict[str, Any]) -> str:
    probe = (f", CPU probe {info['probe_start_ms']} ms at start / {info.get('probe_end_ms', '?')} ms at end "
             f"(the same work: {QUIET_PROBE_MS} ms when this machine is quiet)") if "probe_start_ms" in info else ""
    return (f"{info['date']} UTC, {info['nproc']} × {info['cpu']}, Python {info['python']}, "
            f"{info.get('server', 'PostgreSQL')}, load average (1 min) {info['load_start']} at start / "
            f"{info.get('load_end', '?')} at end{probe}")


def write_section(name: str, section: str) -> None:
    """Replace (or append) the section of docs/PERFORMANCE.md between this scenario's markers."""
    begin, end = f"<!-- bench/load.py:{name}:begin -->", f"<!-- bench/load.py:{name}:end -->"
    text = DOC.read_text(encoding="utf-8")
    block = f"{begin}\n{section.strip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def save_json(name: str, data: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"load-{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


@contextlib.contextmanager
def postgres(prefix: str) -> Iterator[tuple[str, str]]:
    """A fresh migrated PostgreSQL database: (url, server description)."""
    from persistence.migrate import upgrade

    with benchdb.database("postgresql", prefix=prefix) as (url, description):
        upgrade(url)
        yield url, description


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """The production processes of one run: gunicorn, Celery workers, beat, each in its own process group."""

    db_url: str
    folder: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self, redis: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
        env.update({"PYTHONPATH": str(ROOT), "GGZY_DATABASE_URL": self.db_url, "GGZY_PORT": str(self.port),
                    **self.extra_env})
        if redis:
            env["GGZY_REDIS_URL"] = REDIS_URL
        return env

    def start(self, name: str, argv: list[str], redis: bool = True) -> subprocess.Popen[bytes]:
        log_file = (self.folder / f"{name}.log").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "ggzy.cli", *argv], cwd=self.folder, env=self.env(redis),
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        log_file.close()
        self.procs[name] = proc
        return proc

    def api(self, workers: int, redis: bool = True) -> None:
        """gunicorn with `workers` processes; waits until /healthz answers."""
        self.start("api", ["serve", "--workers", str(workers)], redis=redis)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200 and len(self.api_workers()) == workers:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not come up:\n{self.tail('api')}")

    def celery(self, workers: int, concurrency: int = 1) -> None:
        """`workers` Celery workers and one beat: each worker a solo process (concurrency 1), or a prefork pool
        of `concurrency` processes (Celery's own default is one per CPU). A kill takes a worker's whole pool."""
        pool = ["--pool", "solo"] if concurrency == 1 else ["--pool", "prefork", "--concurrency", str(concurrency)]
        for n in range(1, workers + 1):
            self.start(f"worker{n}", ["worker", "--no-beat", *pool, "--loglevel", "warning",
                                      "--hostname", f"bench{n}@%h"])
        self.start("beat", ["beat", "--loglevel", "warning"])

    def api_workers(self) -> list[int]:
        """Pids of the gunicorn worker processes."""
        master = self.procs["api"].pid
        with contextlib.suppress(OSError):
            return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
        return []

    def kill(self, name: str) -> int:
        """SIGKILL a supervised process and its group; returns its pid."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        return proc.pid

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def with_children(pids: list[int]) -> list[int]:
    """The processes and their children (a prefork pool's processes do the work, not its parent)."""
    out = []
    for pid in pids:
        out.append(pid)
        with contextlib.suppress(OSError):
            out += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return out


def rss_mb(pids: list[int]) -> float:
    """Resident memory of the processes, MiB."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def pg_backends(url: str) -> list[int]:
    """Pids of the PostgreSQL server processes connected to url's database."""
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        pids = list(connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalars())
    engine.dispose()
    return [int(p) for p in pids]


class CpuMeter:
    """CPU seconds spent by a changing set of processes between start() and stop()."""

    def __init__(self) -> None:
        self.before: dict[int, float] = {}

    def start(self, pids: list[int]) -> None:
        self.before = cpu_seconds(pids)

    def stop(self, pids: list[int]) -> float:
        after = cpu_seconds(pids)
        return round(sum(v - self.before.get(pid, 0.0) for pid, v in after.items()), 2)


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


class Http:
    """A keep-alive HTTP/1.1 connection to the bench server."""

    def __init__(self, port: int, timeout: float = 60) -> None:
        self.port, self.timeout = port, timeout
        self.connection: http.client.HTTPConnection | None = None
        self.request_id: str | None = None  # the X-Request-Id the last answer carried

    def call(self, method: str, path: str, token: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.connection.request(method, path, body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})})
            response = self.connection.getresponse()
            data = response.read()
            self.request_id = response.getheader("X-Request-Id")
        except (OSError, http.client.HTTPException):
            self.close()  # a fresh connection for the retry
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
