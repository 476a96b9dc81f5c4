"""`ggzy serve --workers N`: every gunicorn worker listens on its own socket, and a taken port is refused."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ggzy.config import ROOT
from ggzy.server import PortInUse, ensure_port_free
from tests.workers.server_support import free_port, healthy, listeners, process
from tests.workers.timer_support import wait_until


def _owners(inodes: list[int], pids: list[int]) -> set[int]:
    """Which of pids hold one of the socket inodes."""
    owners = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                owners.add(pid)
    return owners


def _workers(master: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def test_each_worker_listens_on_its_own_socket_and_a_taken_port_is_refused(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
    env.update({"PYTHONPATH": str(ROOT), "GGZY_DATABASE_URL": db_url, "GGZY_PORT": str(port)})
    with process(["serve", "--workers", "3"], env, tmp_path / "api.log") as server:
        wait_until(lambda: healthy(port) and len(listeners(port)) == 3, timeout=60, step=0.2)
        # Three listening sockets, one in each worker: the kernel spreads new connections over them, so kept-alive
        # clients of a burst do not all land on the worker that happened to wake first.
        sockets = listeners(port)
        workers = _workers(server.pid)
        assert len(workers) == 3
        assert _owners(sockets, workers) == set(workers)
        assert not _owners(sockets, [server.pid])

        # Requests on many connections are all answered.
        for _ in range(12):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/healthz")
            assert connection.getresponse().status == 200
            connection.close()

        # A second server on the same port fails at once instead of sharing the port with the first.
        with pytest.raises(PortInUse, match=str(port)):
            ensure_port_free("127.0.0.1", port)
        second = subprocess.run([sys.executable, "-m", "ggzy.cli", "serve", "--workers", "2"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert f"127.0.0.1:{port} is already in use" in second.stderr
        assert len(listeners(port)) == 3 and server.poll() is None


SLOW_APP = """
import sys, time
import api.app
from flask import Flask

def slow_app(config):
    # Stands for a worker's app build (imports, pools), made long enough to watch.
    time.sleep(float(sys.argv[2]))
    app = Flask("slow")
    app.route("/healthz")(lambda: "ok")
    return app

api.app.create_app = slow_app
from ggzy.config import Config
from ggzy.server import serve_gunicorn
serve_gunicorn(Config.from_env(port=int(sys.argv[1])), 2)
"""


BUILD_SECONDS, GRACE = 5, 0.3


def test_a_worker_listens_only_once_its_app_is_built(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
    env.update({"PYTHONPATH": str(ROOT), "GGZY_DATABASE_URL": db_url})
    with (tmp_path / "api.log").open("ab") as log:
        server = subprocess.Popen([sys.executable, "-c", SLOW_APP, str(port), str(BUILD_SECONDS)], cwd=tmp_path, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Booting: the workers exist but build their apps, and nothing listens (gunicorn binds a worker's socket
        # just before the worker starts; it is closed a few milliseconds later, before the app is built).
        wait_until(lambda: len(_workers(server.pid)) == 2, timeout=30, step=0.05)
        time.sleep(GRACE)
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            assert listeners(port) == []
            time.sleep(0.05)
        wait_until(lambda: len(listeners(port)) == 2, timeout=30, step=0.1)
        first, second = _workers(server.pid)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: len(_workers(server.pid)) == 2 and first not in _workers(server.pid), timeout=30,
                   step=0.05)
        replacement = next(pid for pid in _workers(server.pid) if pid != second)
        time.sleep(GRACE)
        # While the replacement builds its app, only the other worker listens, and every new connection is
        # answered at once by it instead of waiting in the replacement's backlog.
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            assert _owners(listeners(port), [replacement, second]) == {second}
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            assert connection.getresponse().status == 200
            connection.close()
        wait_until(lambda: _owners(listeners(port), [replacement, second]) == {replacement, second}, timeout=30,
                   step=0.1)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def test_a_port_freed_by_a_stopped_server_is_free_again() -> None:
    port = free_port()
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        with pytest.raises(PortInUse):
            ensure_port_free("127.0.0.1", port)
    deadline = time.monotonic() + 5
    while True:
        try:
            ensure_port_free("127.0.0.1", port)
            break
        except PortInUse:
            assert time.monotonic() < deadline
            time.sleep(0.1)
