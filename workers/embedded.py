"""The timer worker that runs inside `ggzy serve` when no Redis is configured."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from services import obligations, timers
from services.platform import Platform

log = logging.getLogger(__name__)

STALE_AFTER_SECONDS = 5.0
MAX_ERROR_BACKOFF_SECONDS = 2.0
# Floor of the sleep when a timer is still due right after a scan (a backlog beyond one scan's limit, or a
# timer the engine keeps pending): rescan soon, but never spin.
MIN_SLEEP_SECONDS = 0.05


class EmbeddedTimerWorker:
    """A daemon thread that fires due timers, waking at the next due time or every poll interval."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.poll_seconds = platform.config.timer_poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_scan: float | None = None
        self._last_obligations: float | None = None
        self._last_error: str | None = None
        self._errors_in_a_row = 0

    def start(self) -> None:
        """Start the thread; a second call while it runs does nothing."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name="ggzy-timers", daemon=True)
        self._thread.start()
        log.info("embedded timer worker started", extra={"poll_seconds": self.poll_seconds})

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish its scan and end; wait at most `timeout` seconds."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        log.info("embedded timer worker stopped")

    def wake(self) -> None:
        self._last_obligations = None  # a clock jump may have made obligations overdue
        """Rescan now (the fake clock moved, or a timer was just scheduled)."""
        self._wake.set()

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> str:
        """"ok" when the last successful scan is recent, otherwise a short reason."""
        if self._thread is None:
            return "not started"
        if not self._thread.is_alive():
            return "stopped"
        if self._last_scan is None:
            return f"starting: no scan yet ({self._last_error})" if self._last_error else "starting: no scan yet"
        age = time.monotonic() - self._last_scan
        if age < STALE_AFTER_SECONDS:
            return "ok"
        reason = f"stale: last scan {age:.0f} s ago"
        return f"{reason} ({self._last_error})" if self._last_error else reason

    def scan(self) -> dict[str, Any]:
        """Fire every due instance once; one instance's failure does not hold up the others."""
        instances = timers.due_instances(self.p)
        fired = failed = 0
        for instance_id in instances:
            try:
                fired += timers.fire_instance(self.p, instance_id)
            except Exception:  # logged; the next scan retries this instance
                failed += 1
                log.exception("timer firing failed", extra={"instance_id": instance_id})
        self._last_scan = time.monotonic()
        if self._last_obligations is None or self._last_scan - self._last_obligations >= obligations.EVERY_SECONDS:
            self._last_obligations = self._last_scan
            try:
                obligations.check_all(self.p)
            except Exception:  # logged; the next round retries
                log.exception("obligation check failed")
        return {"instances": len(instances), "timers": fired, "failed": failed}

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = self.scan()
                if result["instances"]:
                    log.info("timers fired", extra=result)
                self._last_error, self._errors_in_a_row = None, 0
                delay = self._sleep_after_scan()
            except Exception as exc:  # the thread must outlive a database outage
                self._errors_in_a_row += 1
                self._last_error = f"{type(exc).__name__}: {exc}"[:200]
                delay = min(self.poll_seconds * 2 ** self._errors_in_a_row, MAX_ERROR_BACKOFF_SECONDS)
                log.exception("timer scan failed", extra={"errors_in_a_row": self._errors_in_a_row})
            self._wake.wait(delay)
            self._wake.clear()

    def _sleep_after_scan(self) -> float:
        due_in = timers.next_due_in(self.p)
        if due_in is None:
            return self.poll_seconds
        return max(MIN_SLEEP_SECONDS, min(self.poll_seconds, due_in))
