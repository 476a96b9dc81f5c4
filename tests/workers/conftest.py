"""Fixtures for the timer worker tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from ggzy.config import Config
from services.platform import Platform


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    """A Platform on the test database with the fake clock enabled."""
    p = Platform.build(Config(database_url=db_url, fake_clock=True))
    yield p
    p.dispose()
