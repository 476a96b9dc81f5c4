"""Production run mode: the API under gunicorn, and `ggzy up` supervising gunicorn, Celery workers and beat."""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from ggzy.config import Config

log = logging.getLogger(__name__)

# Threads per gunicorn worker: like waitress's 8 in `ggzy serve`, so a slow upload or a long poll does not
# hold up the other requests of the same process.
THREADS = 8
STOP_SECONDS = 35.0  # gunicorn's graceful_timeout (30 s) and a little more


class PortInUse(RuntimeError):
    """The address to serve on is already taken by another process."""


def ensure_port_free(host: str, port: int) -> None:
    """Raise PortInUse when something listens on host:port already.

    gunicorn's workers bind with SO_REUSEPORT, which would let a second server share the port with the first
    (each getting part of the connections) instead of failing; a plain bind, tried first, still fails."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is no owner
        try:
            probe.bind(address)
        except OSError as exc:
            raise PortInUse(f"{host}:{port} is already in use ({exc.strerror})") from exc


def serve_gunicorn(config: Config, workers: int, threads: int = THREADS) -> None:
    """Serve api.wsgi under gunicorn with `workers` processes of `threads` threads each (blocks); call
    ensure_port_free() first."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": f"{config.host}:{config.port}",
                "workers": workers,
                # gthread, listening once its app is built (see ggzy/api_worker.py).
                "worker_class": "ggzy.api_worker.ReadyWorker",
                "threads": threads,
                # The app is built in each worker after the fork: connection pools must not cross a fork.
                "preload_app": False,
                # gthread's timeout is the worker's heartbeat, not a request's duration: long uploads are fine.
                "timeout": 60,
                "graceful_timeout": 30,
                "keepalive": 5,
                # Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections
                # over them. On one shared socket the first worker to wake took every connection of a burst:
                # kept-alive clients then all sat on one process, held to one core by its interpreter lock,
                # while the others idled (measured: 16 of 16 connections on one of three workers).
                "reuse_port": True,
                "errorlog": "-",
                "loglevel": "info",
                "proc_name": "ggzy-api",
            }
            # The workers' heartbeat touches a temporary file on every turn of their loop; on a disk that is
            # busy (a database fsyncing beside it) that call can block, and with it the loop that hands ready
            # connections to the threads. In memory it never waits (as gunicorn's documentation advises).
            if os.path.isdir("/dev/shm"):
                settings["worker_tmp_dir"] = "/dev/shm"
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from api.app import create_app

            return create_app(config)

    Application().run()


@dataclass
class Child:
    """One supervised process: its name, command line, and the running process."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def up_children(api_workers: int, celery_workers: int, concurrency: int, loglevel: str) -> list[Child]:
    """The processes of a local production set-up: gunicorn, Celery workers without beat, one beat."""
    ggzy = [sys.executable, "-m", "ggzy.cli"]
    children = [Child("api", [*ggzy, "serve", "--workers", str(api_workers)])]
    for n in range(1, celery_workers + 1):
        children.append(Child(f"worker{n}", [
            *ggzy, "worker", "--no-beat", "--concurrency", str(concurrency), "--loglevel", loglevel,
            "--hostname", f"ggzy{n}@%h"]))
    children.append(Child("beat", [*ggzy, "beat", "--loglevel", loglevel]))
    return children


def supervise(children: list[Child], stop_seconds: float = STOP_SECONDS) -> int:
    """Start every child, forward SIGINT/SIGTERM as SIGTERM, and stop them all when one ends; exit code."""
    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        for child in children:
            # Each in its own session: a Ctrl-C reaches only this supervisor, which stops the children in order.
            child.proc = subprocess.Popen(child.argv, start_new_session=True)
            print(f"ggzy up: started {child.name} (pid {child.proc.pid}): {' '.join(child.argv[2:])}", flush=True)
        while not stopping:
            ended = [c for c in children if c.proc is not None and c.proc.poll() is not None]
            if ended:
                for c in ended:
                    print(f"ggzy up: {c.name} exited with {c.proc.returncode if c.proc else '?'}; stopping all",
                          file=sys.stderr, flush=True)
                code = 1
                break
            time.sleep(0.2)
    finally:
        _stop_all(children, stop_seconds)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return code


def _stop_all(children: list[Child], stop_seconds: float) -> None:
    """SIGTERM to each child (a warm shutdown), then SIGKILL to the process group of any that lingers."""
    running = [c for c in children if c.proc is not None and c.proc.poll() is None]
    for child in running:
        assert child.proc is not None
        child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + stop_seconds
    for child in running:
        assert child.proc is not None
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"ggzy up: {child.name} did not stop in {stop_seconds:.0f} s; killing it", file=sys.stderr)
        # The group too: a Celery pool child or beat process must never outlive its parent.
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
            os.killpg(child.proc.pid, signal.SIGKILL)
        child.proc.wait()
