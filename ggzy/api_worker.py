"""The gunicorn worker of `ggzy serve --workers N`: gthread, listening only once its app is built.

With reuse_port each worker has a listening socket of its own, and the kernel hashes every new connection to
one of them. gunicorn binds a worker's socket before the worker builds the app (about a second: imports,
the database pool, the definitions), and the connections hashed to it meanwhile wait in its backlog. When a
worker is replaced (killed, crashed, reloaded) while the others serve, a share of the new connections would
stall for that second. This worker closes the socket it was given, builds the app, then binds again: until
it is ready the kernel sends every connection to the workers that are.
"""
from __future__ import annotations

from typing import Any

from gunicorn import sock
from gunicorn.workers.gthread import ThreadWorker


class ReadyWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker whose listening sockets open after the app is loaded (with reuse_port)."""

    def init_process(self) -> None:
        # First thing in the new worker: close the socket the arbiter bound for it a moment ago. A connection
        # the kernel hashed to it in between is reset (and retried by its client), where one arriving while
        # the app is built would wait for it. Without reuse_port the socket is the one shared with the master
        # and the other workers: it stays.
        if self.cfg.reuse_port:
            given: list[Any] = self.sockets  # type: ignore[has-type]
            for listener in given:
                listener.close()
            given.clear()
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        if self.cfg.reuse_port:
            # (Python's sockets are not inherited by exec'd children: nothing more to set.)
            self.sockets = sock.create_sockets(self.cfg, self.log)
