"""A Celery worker does at start what its first tasks would otherwise do in the middle of a timer block."""
from __future__ import annotations

import subprocess
import sys

from ggzy.config import ROOT

PROBE = """
import sys
from celery import signals
import workers.celery_app
from persistence.models import Base
from services import service_tasks
trading = [name for name in sys.modules if name.startswith("services.trading.")]
print(len(trading), Base.registry._new_mappers, len(service_tasks._REGISTRY))
signals.worker_init.send(sender=None)
trading = [name for name in sys.modules if name.startswith("services.trading.")]
print(len(trading), Base.registry._new_mappers, len(service_tasks._REGISTRY))
"""


def test_worker_start_imports_the_service_handlers_and_configures_the_mappers() -> None:
    # In a fresh interpreter: this one has imported everything already.
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True).stdout.split("\n")
    before, after = out[0].split(), out[1].split()
    assert int(before[2]) == 0  # importing the worker module loads no handler
    # (The mappers may be configured by then already: the modules' shared statements compile at import.)
    assert int(after[0]) > int(before[0]) and after[1] == "False" and int(after[2]) > 0
