"""The disclosure tests reuse the end-to-end tier's `http` fixture (real app with its embedded timer worker)."""
from __future__ import annotations

from tests.e2e.conftest import http

__all__ = ["http"]
