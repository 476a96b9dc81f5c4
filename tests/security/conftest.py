"""The security tier reuses the end-to-end `http` fixture (an app with its embedded timer worker)."""
from __future__ import annotations

from tests.e2e.conftest import http

__all__ = ["http"]
