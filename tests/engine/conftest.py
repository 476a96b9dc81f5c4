"""Fixtures for engine tests: a settable clock, a script runner, an EngineContext."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.engine.engine_support import SHANGHAI, Clock, make_scripts


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai, a Monday


@pytest.fixture(scope="session")
def scripts() -> Any:
    return make_scripts()


@pytest.fixture
def ctx(scripts: Any, clock: Clock) -> Any:
    from engine.bpmn import EngineContext

    return EngineContext(scripts, clock, SHANGHAI)
