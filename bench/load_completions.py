"""Task completions per second across many instances on PostgreSQL: over HTTP (gunicorn) and the service layer."""
from __future__ import annotations

import http.client
import multiprocessing
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.loadkit import (
    FIXTURES,
    CpuMeter,
    Http,
    Stack,
    env_float,
    env_int,
    flush_redis,
    log,
    percentiles,
    pg_backends,
    postgres,
    settled_probe,
)

BODY = b'{"data": {"finish": false}}'


def prepare(url: str, count: int) -> tuple[str, list[tuple[str, str]]]:
    """Deploy loop_user, create a staff token and start `count` instances; (token, [(instance, task)])."""
    from ggzy.config import Config
    from services import bootstrap, instances, users
    from services.platform import Platform

    p = Platform.build(Config(database_url=url, processes_dir=FIXTURES / "bpmn", forms_dir=FIXTURES / "forms"))
    try:
        bootstrap.load_data(p)
        token = users.create_user(p, "bench_staff", ["staff"], region="330100")["token"]
        with p.db.sessions() as session:
            actor = users.authenticate(session, token)
        started = []
        for n in range(count):
            view, _ = instances.start(p, actor, "loop_user", f"LOAD-{n}", {"done": 0, "finish": False},
                                      region="330100")
            started.append((view["id"], view["tasks"][0]["id"]))
        return token, started
    finally:
        p.dispose()


def _http_thread(port: int, token: str, owned: list[list[str]], until: float, warm_until: float,
                 out: dict[str, Any]) -> None:
    """Complete the ready task of each owned instance in turn; on a dropped connection, retry the same task."""
    client = Http(port)
    latencies: list[float] = []
    done: Counter[str] = Counter()
    errors = recovered = 0
    conflicts: Counter[str] = Counter()
    samples: list[dict[str, Any]] = []
    # Each request carries its own X-Request-Id; an answer carrying another's would mean the connection's
    # answers are out of step with its requests (counted, never expected).
    prefix, sent_count, desynced = f"{os.getpid()}-{threading.get_ident() % 100_000}", 0, 0
    i = 0
    while time.monotonic() < until:
        instance = owned[i % len(owned)]
        i += 1
        started = time.perf_counter()
        for _attempt in range(50):
            sent = time.time()
            sent_count += 1
            request_id = f"{prefix}-{sent_count}"
            try:
                status, view = client.call("POST", f"/api/v1/tasks/{instance[1]}/complete", token, BODY,
                                           headers={"X-Request-Id": request_id})
            except (OSError, http.client.HTTPException):  # refused, reset, or a response cut off mid-body
                errors += 1
                time.sleep(0.05)
                continue
            if client.request_id != request_id:
                desynced += 1
            if status == 409:
                # The dropped request had committed before its worker died: read where the instance is now.
                # A 409 on a first attempt has no such cause: its message is kept for the report.
                if _attempt == 0:
                    conflicts[str((view or {}).get("message") or view)] += 1
                    if len(samples) < 20:
                        samples.append({"instance_id": instance[0], "task_id": instance[1], "sent": sent,
                                        "answered": time.time(), "request_id": request_id,
                                        "answer_request_id": client.request_id})
                status, view = client.call("GET", f"/api/v1/process-instances/{instance[0]}", token)
                recovered += 1
            if status != 200:
                raise RuntimeError(f"unexpected {status}: {view}")
            break
        else:
            raise RuntimeError("no answer after 50 attempts")
        instance[1] = view["tasks"][0]["id"]
        done[instance[0]] += 1
        if started >= warm_until:
            latencies.append((time.perf_counter() - started) * 1000)
    client.close()
    merge(out, {"latencies": latencies, "done": done, "errors": errors, "recovered": recovered,
                "desynced": desynced, "conflicts": conflicts, "conflict_samples": samples})


def merge(into: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Add one client's (thread's, process's) results to `into`: lists joined, counts and counters added."""
    for key in ("latencies", "conflict_samples"):
        into.setdefault(key, []).extend(part.get(key, []))
    for key in ("done", "conflicts"):
        into.setdefault(key, Counter()).update(part.get(key, {}))
    for key in ("errors", "recovered", "desynced"):
        into[key] = into.get(key, 0) + part.get(key, 0)
    return into


def _http_client(port: int, token: str, owned: list[list[str]], threads: int, until: float, warm_until: float,
                 queue: Any) -> None:
    out: dict[str, Any] = {}
    parts: list[dict[str, Any]] = [{} for _ in range(threads)]
    workers = [threading.Thread(target=_http_thread, args=(port, token, owned[t::threads], until, warm_until, parts[t]))
               for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for part in parts:
        merge(out, part)
    queue.put(out)


def _service_client(url: str, token: str, owned: list[list[str]], until: float, warm_until: float,
                    queue: Any) -> None:
    """One process calling services.tasks.complete directly."""
    from ggzy.config import Config
    from services import tasks, users
    from services.platform import Platform

    p = Platform.build(Config(database_url=url))
    with p.db.sessions() as session:
        actor = users.authenticate(session, token)
    latencies, done, i = [], Counter[str](), 0
    while time.monotonic() < until:
        instance = owned[i % len(owned)]
        i += 1
        started = time.perf_counter()
        view = tasks.complete(p, actor, instance[1], {"finish": False})
        instance[1] = view["tasks"][0]["id"]
        done[instance[0]] += 1
        if started >= warm_until:
            latencies.append((time.perf_counter() - started) * 1000)
    p.dispose()
    queue.put({"latencies": latencies, "done": done})


def drive(target: Any, args_for: Any, processes: int, seconds: float, warm: float,
          working: Callable[[list[int]], list[int]]) -> dict[str, Any]:
    """Run `processes` client processes for warm + seconds; merge their results. `working(client pids)` names
    the processes doing the work (server, database), whose CPU time over the measured seconds is reported."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start = time.monotonic() + 1.0
    warm_until, until = start + warm, start + warm + seconds
    procs = [ctx.Process(target=target, args=(*args_for(n), until, warm_until, queue)) for n in range(processes)]
    for proc in procs:
        proc.start()
    meter, cpu = CpuMeter(), []

    def measure() -> None:
        time.sleep(max(0.0, warm_until - time.monotonic()))
        meter.start(working([p.pid for p in procs if p.pid]))
        time.sleep(max(0.0, until - time.monotonic()))
        cpu.append(meter.stop(working([p.pid for p in procs if p.pid])))

    measuring = threading.Thread(target=measure, daemon=True)
    measuring.start()
    results = [queue.get(timeout=seconds + warm + 120) for _ in procs]
    measuring.join(timeout=10)
    for proc in procs:
        proc.join(timeout=30)
    merged = merge({}, {})  # every key present, even with no client result
    for r in results:
        merge(merged, r)
    merged["measured"] = len(merged["latencies"])
    merged["per_second"] = round(merged["measured"] / seconds, 1)
    merged["cpu_ms_per_completion"] = round(cpu[0] * 1000 / merged["measured"], 2) if cpu and merged["measured"] else None
    return merged


def verify(url: str, done: Counter[str]) -> dict[str, Any]:
    """Every instance's `done` counter and its task.completed events equal what the clients saw succeed."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT i.id, CAST(i.variables->>'done' AS integer), "
            "(SELECT count(*) FROM events e WHERE e.instance_id = i.id AND e.type = 'task.completed') "
            "FROM process_instances i WHERE i.process_key = 'loop_user'")).all()
    engine.dispose()
    lost = sum(max(0, done[i] - d) for i, d, _ in rows)
    doubled = sum(max(0, d - done[i]) for i, d, _ in rows)
    mismatched = sum(1 for _, d, events in rows if d != events)
    return {"instances": len(rows), "completions": sum(d for _, d, _ in rows), "lost": lost, "doubled": doubled,
            "events_mismatch": mismatched}


def run(kill: bool = False) -> dict[str, Any]:
    """Both modes on one fresh database; with kill, a gunicorn worker is SIGKILLed halfway through HTTP."""
    count = env_int("GGZY_BENCH_INSTANCES", 400)
    seconds = env_float("GGZY_BENCH_SECONDS", 20)
    api_workers = env_int("GGZY_BENCH_API_WORKERS", 3)
    clients, threads = env_int("GGZY_BENCH_CLIENTS", 2), env_int("GGZY_BENCH_CLIENT_THREADS", 8)
    service_procs = env_int("GGZY_BENCH_SERVICE_PROCS", 3)
    from ggzy.server import THREADS

    api_threads = env_int("GGZY_BENCH_API_THREADS", THREADS)
    result: dict[str, Any] = {"instances": count, "seconds": seconds, "api_workers": api_workers,
                              "api_threads": api_threads,
                              "clients": clients, "threads": threads, "service_procs": service_procs}
    with postgres("ggzy_bench_load") as (url, description), tempfile.TemporaryDirectory() as folder:
        result["server"] = description
        token, started = prepare(url, count)
        log(f"completions: {count} loop_user instances started")
        owned = [[i, t] for i, t in started]
        result["probe_ms"] = {}
        if not kill:
            result["probe_ms"]["service"] = settled_probe()
            res = drive(_service_client, lambda n: (url, token, owned[n::service_procs]), service_procs, seconds, 2,
                        lambda clients: clients + pg_backends(url))
            result["service"] = {"per_second": res["per_second"], "latency_ms": percentiles(res["latencies"]),
                                 "cpu_ms": res["cpu_ms_per_completion"],
                                 "check": verify(url, res["done"] + Counter())}
            log(f"completions, service layer x{service_procs}: {res['per_second']}/s "
                f"{result['service']['latency_ms']}")
            # The service run moved the tasks on: re-read where each instance stands.
            owned = _ready_tasks(url)
        flush_redis()
        # GGZY_BENCH_API_THREADS: threads per gunicorn worker (default: ggzy serve's own).
        stack = Stack(url, Path(folder), extra_env={"GGZY_API_THREADS": str(api_threads)})
        try:
            stack.api(api_workers)
            stack.celery(2)
            victim: list[int] = []
            if kill:
                def killer() -> None:
                    time.sleep(1.0 + 2 + seconds / 2)
                    pid = stack.api_workers()[0]
                    os.kill(pid, 9)
                    victim.append(pid)
                    log(f"completions: SIGKILLed gunicorn worker {pid}")
                threading.Thread(target=killer, daemon=True).start()
            before = _done_counts(url)
            result["probe_ms"]["http"] = settled_probe()
            res = drive(_http_client, lambda n: (stack.port, token, owned[n::clients], threads), clients, seconds, 2,
                        lambda _clients: stack.api_workers() + pg_backends(url))
        finally:
            stack.stop()
            server_log = _server_lines(Path(folder) / "api.log")
        expected = Counter(before)
        expected.update(res["done"])
        result["http"] = {"per_second": res["per_second"], "latency_ms": percentiles(res["latencies"]),
                          "errors": res["errors"], "recovered": res["recovered"], "desynced": res["desynced"],
                          "killed": victim, "server_log": server_log,
                          "first_attempt_conflicts": dict(res["conflicts"]),
                          "conflict_samples": _who_completed(url, res.get("conflict_samples", [])[:20]),
                          "cpu_ms": res["cpu_ms_per_completion"],
                          "check": verify(url, expected)}
        log(f"completions, HTTP gunicorn x{api_workers}: {res['per_second']}/s {result['http']}"[:400])
    return result


def _server_lines(path: Path, most: int = 40) -> list[str]:
    """The API's own log lines (conflicts and unexpected errors, each with its request id), the first `most`."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as lines:
        return [line.rstrip()[:400] for line in lines if "] api." in line or "Traceback" in line][:most]


def _who_completed(url: str, samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For first attempts answered 409: the event that had completed the task, beside when the request went out
    (milliseconds relative to sending), to tell an earlier completion from a concurrent one."""
    from sqlalchemy import create_engine, text

    if not samples:
        return []
    engine = create_engine(url)
    out = []
    with engine.connect() as connection:
        for sample in samples:
            row = connection.execute(text(
                "SELECT seq, at, actor, client_ip FROM events WHERE instance_id = :i AND type = 'task.completed' "
                "AND data->>'task_id' = :t"), {"i": sample["instance_id"], "t": sample["task_id"]}).first()
            task = connection.execute(text(
                "SELECT status, created_at, completed_at, completed_by FROM tasks WHERE id = :t"),
                {"t": sample["task_id"]}).first()
            recent = connection.execute(text(
                "SELECT seq, at, type, actor, CAST(data AS text) FROM events WHERE instance_id = :i "
                "ORDER BY seq DESC LIMIT 6"), {"i": sample["instance_id"]}).all()
            sample = {**sample, "task": [str(v) for v in task] if task else None,
                      "recent_events": [[r[0], round((r[1].timestamp() - sample["sent"]) * 1000, 1), r[2], r[3],
                                         r[4][:160]] for r in recent]}
            out.append({**sample, "completed_seq": row[0] if row else None,
                        "completed_ms_after_sending": round((row[1].timestamp() - sample["sent"]) * 1000, 1) if row else None,
                        "answered_ms_after_sending": round((sample["answered"] - sample["sent"]) * 1000, 1),
                        "completed_by": row[2] if row else None, "client_ip": row[3] if row else None})
    engine.dispose()
    return out


def _ready_tasks(url: str) -> list[list[str]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT instance_id, id FROM tasks WHERE status = 'ready'")).all()
    engine.dispose()
    return [[i, t] for i, t in rows]


def _done_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, CAST(variables->>'done' AS integer) FROM process_instances")).all()
    engine.dispose()
    return {i: d for i, d in rows}
