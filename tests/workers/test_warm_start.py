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


API_PROBE = """
import sys, tempfile
from pathlib import Path
from api.app import create_app
from ggzy.config import Config
from persistence.migrate import upgrade
from services import service_tasks
url = "sqlite:///" + str(Path(tempfile.mkdtemp()) / "warm.sqlite3")
upgrade(url)
print(service_tasks._loaded)
create_app(Config(database_url=url), start_worker=False)
from persistence.models import Base
print(service_tasks._loaded, Base.registry._new_mappers, len(service_tasks._REGISTRY))
"""


def test_an_api_process_warms_up_before_its_first_request() -> None:
    # The same warm-up as a Celery worker's (services.bootstrap.warm_up), when the app is built: before
    # gunicorn's worker listens, so no request's thread pays for it.
    out = subprocess.run([sys.executable, "-c", API_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True).stdout.split("\n")
    assert out[0] == "False"
    loaded, new_mappers, handlers = out[1].split()
    assert loaded == "True" and new_mappers == "False" and int(handlers) > 0
