"""Trades for the payment tests: the deposits tier's one-task trade, started as a property trade."""
from __future__ import annotations

from tests.trading.deposits.conftest import start_trade  # noqa: F401  (the fixture, shared)
