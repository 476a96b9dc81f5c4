"""Periodic checks of obligations that have no timer of their own, such as bond refunds past their due date."""
from __future__ import annotations

import logging
from typing import Any

from services.platform import Platform

log = logging.getLogger(__name__)

EVERY_SECONDS = 10.0


def check_all(p: Platform) -> dict[str, Any]:
    """Run every obligation check once; each runs its own transactions and is safe to run twice."""
    from services.trading import deposits, property_payments, supervision

    return {"overdue_refund_alerts": deposits.check_overdue_refunds(p),
            "overdue_payment_alerts": property_payments.check_overdue_instalments(p),
            "overdue_deadline_alerts": supervision.check_overdue_deadlines(p)}
