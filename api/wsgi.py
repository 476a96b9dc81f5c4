"""The WSGI entry for production servers: `gunicorn api.wsgi:app` (what `ggzy serve --workers N` runs).

Each server worker process imports this after the fork and so builds its own Platform (engine pool, clock).
With GGZY_REDIS_URL set, Celery fires the timers and /healthz reads the beat's heartbeat; without it, every
worker runs the embedded timer thread, which is safe because a firing takes the instance's row lock and
re-checks that its timers are still pending (exactly once however many scanners run).
"""
from __future__ import annotations

from api.app import create_app

app = create_app()
