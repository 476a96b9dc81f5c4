"""Load scenarios on PostgreSQL with the production processes (gunicorn, Celery workers, beat); `make bench-load`.

    .venv/bin/python bench/load.py [--only completions,timers,bids] [--no-kill]

Each scenario runs on a fresh temporary database, then again with a worker SIGKILLed in the middle, and
replaces its section of docs/PERFORMANCE.md (raw numbers in bench/results/load-<scenario>.json). Sizes come
from the environment (defaults in brackets):

* completions: GGZY_BENCH_INSTANCES [400] loop_user instances, GGZY_BENCH_SECONDS [20] measured seconds per
  mode, GGZY_BENCH_API_WORKERS [3] gunicorn processes (of GGZY_BENCH_API_THREADS threads, default
  `ggzy serve`'s 8), GGZY_BENCH_CLIENTS [2] client processes of
  GGZY_BENCH_CLIENT_THREADS [8] threads, GGZY_BENCH_SERVICE_PROCS [3] processes for the service-layer run;
* timers: GGZY_BENCH_TIMERS [100000] pending timers, GGZY_BENCH_TIMER_BLOCKS [100,1000] how many of them
  are due at one instant (a run per size), GGZY_BENCH_CELERY_WORKERS [2] workers of
  GGZY_BENCH_CELERY_CONCURRENCY [2] prefork processes each (1: the solo pool);
* bids: GGZY_BENCH_BIDDERS [500], GGZY_BENCH_LATE_BIDDERS [50], GGZY_BENCH_BID_BYTES [1048576],
  GGZY_BENCH_BID_WINDOW [60] seconds, GGZY_BENCH_BID_BURST [0.4] share of the bidders in its last 5 s (0: all
  spread evenly over the window).

PostgreSQL on 127.0.0.1 (GGZY_BENCH_POSTGRES_URL, as bench/benchdb.py), Redis at GGZY_BENCH_REDIS_URL
[redis://127.0.0.1:6379/12] (flushed by the bench). Each measured mode waits, at most GGZY_BENCH_WAIT_QUIET [120]
seconds, for a quiet host (bench/loadkit.settled_probe); the probe it started with is reported.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load_bids, load_completions, load_timers, loadreport  # noqa: E402
from bench.loadkit import cpu_probe, log, machine, save_json, write_section  # noqa: E402

SCENARIOS = {"completions": load_completions.run, "timers": load_timers.run, "bids": load_bids.run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--no-kill", action="store_true", help="skip the runs with a worker killed")
    args = parser.parse_args(argv)
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        info = machine()
        runs: dict[str, Any] = {"machine": info}
        if name == "timers":  # one run per block size, then the kill run with the largest
            runs["normal"] = [load_timers.run(kill=False, block=b) for b in load_timers.blocks()]
        else:
            runs["normal"] = SCENARIOS[name](kill=False)
        if not args.no_kill:
            log(f"{name}: again with a worker killed in the middle")
            runs["kill"] = SCENARIOS[name](kill=True)
        info["load_end"], info["probe_end_ms"] = round(os.getloadavg()[0], 2), cpu_probe()
        first = runs["normal"][0] if isinstance(runs["normal"], list) else runs["normal"]
        info["server"] = first.get("server", "PostgreSQL")
        save_json(name, runs)
        write_section(name, loadreport.render(name, runs))
        log(f"{name}: section written to docs/PERFORMANCE.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
