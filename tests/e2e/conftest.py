"""The end-to-end tier drives whole trades through HTTP against an app running its embedded timer worker."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.platform import Platform


@pytest.fixture
def http(platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A test client of an app running the embedded timer worker (no Redis URL); bid files in a fresh folder."""
    from api.app import create_app

    monkeypatch.setenv("GGZY_BID_STORAGE", str(tmp_path / "bids"))
    app = create_app(platform=platform, start_worker=True)
    try:
        yield app.test_client()
    finally:
        app.extensions["ggzy_scheduler"].stop()
