"""`ggzy serve --workers N`: every gunicorn worker listens on its own socket, and a taken port is refused."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ggzy.config import ROOT
from ggzy.server import PortInUse, ensure_port_free
from tests.workers.test_kill import _free_port, _healthy, process
from tests.workers.timer_support import wait_until

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def _listeners(port: int) -> list[int]:
    """Inodes of the sockets listening on 127.0.0.1:port."""
    inodes = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], int(fields[9])
        if state == LISTEN and int(local.split(":")[1], 16) == port:
            inodes.append(inode)
    return inodes


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
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GGZY_")}
    env.update({"PYTHONPATH": str(ROOT), "GGZY_DATABASE_URL": db_url, "GGZY_PORT": str(port)})
    with process(["serve", "--workers", "3"], env, tmp_path / "api.log") as server:
        wait_until(lambda: _healthy(port) and len(_listeners(port)) == 3, timeout=60, step=0.2)
        # Three listening sockets, one in each worker: the kernel spreads new connections over them, so kept-alive
        # clients of a burst do not all land on the worker that happened to wake first.
        listeners = _listeners(port)
        workers = _workers(server.pid)
        assert len(workers) == 3
        assert _owners(listeners, workers) == set(workers)
        assert not _owners(listeners, [server.pid])

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
        assert len(_listeners(port)) == 3 and server.poll() is None


def test_a_port_freed_by_a_stopped_server_is_free_again() -> None:
    port = _free_port()
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
