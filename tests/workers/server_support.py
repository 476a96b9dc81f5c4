"""Real `python -m ggzy.cli ...` processes for the worker tests: start them, find their ports and sockets."""
from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `python -m ggzy.cli ...` process in its own group, killed with its children at the end."""
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ggzy.cli", *argv], cwd=log.parent, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def listeners(port: int) -> list[int]:
    """Inodes of the sockets listening on 127.0.0.1:port."""
    inodes = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], int(fields[9])
        if state == LISTEN and int(local.split(":")[1], 16) == port:
            inodes.append(inode)
    return inodes


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False
