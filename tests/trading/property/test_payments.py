"""Price payments of property trades: who may record and read them, overdue alerts, the voucher."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain.access import SYSTEM, Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import ProcessInstance
from services.platform import Platform
from services.service_tasks import ServiceCall
from services.trading import property_payments as payments
from tests.trading.deposits.conftest import REGION, at, uscc

BUYER, SELLER = uscc(501), uscc(502)
STAFF = Actor("staff1", frozenset({"staff"}), REGION)
BANK = Actor("bank", frozenset({"integrator"}))
KEY = "property_payment_test"


@pytest.fixture
def trade(platform: Platform, start_trade: Callable[..., str]) -> str:
    """A running trade with a contract effective Wed 2026-04-08 and two instalments: 30% by 04-15, 70% by 10-08."""
    platform.clock.set(at(2026, 4, 8, 10))
    trade_id = start_trade(KEY, {"purchaser_uscc": SELLER, "purchaser_name": "某国资公司",
                                 "trade_code": "330100-P-2026-000001", "project_name": "股权转让"})
    plan_task(platform, trade_id)
    return trade_id


def plan_task(platform: Platform, trade_id: str, **changes: Any) -> dict[str, Any]:
    data = {"winner_uscc": BUYER, "winner_name": "浙江某投资有限公司", "award_amount": "1000.00",
            "contract_no": "HT-1", "contract_effective_on": "2026-04-08", "payment_mode": "instalments",
            "instalments": [{"amount": 300, "due_on": "2026-04-15"}, {"amount": 700, "due_on": "2026-10-08"}],
            "guarantee": "银行保函", **changes}

    def use_case(session: Any) -> dict[str, Any]:
        instance = session.get(ProcessInstance, trade_id)
        call = ServiceCall(platform, session, instance, "Service_PaymentPlan", data, SYSTEM, platform.clock.now())
        result = payments.payment_plan_task(call)
        assert result is not None
        return result

    return platform.db.run(use_case)


def pay(amount: str, reference: str, payer: str = "浙江某投资有限公司") -> dict[str, Any]:
    return {"amount": amount, "bank_reference": reference, "payer_account_name": payer, "payer_account_no": "6222001"}


def test_the_plan_is_created_once(platform: Platform, trade: str) -> None:
    again = plan_task(platform, trade, award_amount="5.00")
    plan = payments.get_plan(platform, STAFF, trade)
    assert again["payment_plan_id"] == plan["id"] and plan["total"] == "1000.00"
    assert [(i["seq"], i["amount"], i["due_on"]) for i in plan["instalments"]] == [
        (1, "300.00", "2026-04-15"), (2, "700.00", "2026-10-08")]


def test_instalments_refused_where_the_price_is_paid_at_once(platform: Platform,
                                                             start_trade: Callable[..., str]) -> None:
    other = start_trade(KEY, {})
    with pytest.raises(Invalid, match="一次性付清"):
        plan_task(platform, other, instalments_allowed=False)


def test_who_may_record_a_payment(platform: Platform, trade: str, start_trade: Callable[..., str]) -> None:
    with pytest.raises(Forbidden):
        payments.record_payment(platform, Actor("b", frozenset({"bidder"}), REGION, BUYER), trade, pay("300", "R1"))
    with pytest.raises(Forbidden):
        payments.record_payment(platform, Actor("s2", frozenset({"staff"}), "320100"), trade, pay("300", "R1"))
    with pytest.raises(NotFound):
        payments.record_payment(platform, STAFF, start_trade(KEY, {}), pay("300", "R1"))
    view, created = payments.record_payment(platform, BANK, trade, pay("300", "R1"))
    assert created and view["paid_total"] == "300.00" and view["payments"][0]["recorded_by"] == "bank"


def test_payments_are_idempotent_and_bounded(platform: Platform, trade: str) -> None:
    payments.record_payment(platform, STAFF, trade, pay("100", "R1"))
    view, created = payments.record_payment(platform, STAFF, trade, pay("100", "R1"))
    assert not created and view["paid_total"] == "100.00"
    with pytest.raises(Conflict):
        payments.record_payment(platform, STAFF, trade, pay("200", "R1"))
    with pytest.raises(Invalid, match="未付价款 900.00"):
        payments.record_payment(platform, STAFF, trade, pay("900.01", "R2"))
    with pytest.raises(Invalid, match="不一致"):
        payments.record_payment(platform, STAFF, trade, pay("100", "R2", payer="另一家公司"))
    # partial money covers the earliest instalment first
    view, _ = payments.record_payment(platform, STAFF, trade, pay("250", "R3"))
    assert [(i["paid"], i["status"]) for i in view["instalments"]] == [("300.00", "paid"), ("50.00", "due")]


def test_the_voucher_comes_with_the_last_payment(platform: Platform, trade: str) -> None:
    buyer = Actor("buyer", frozenset({"bidder"}), None, BUYER)
    with pytest.raises(NotFound, match="尚未出具"):
        payments.get_voucher(platform, buyer, trade)
    payments.record_payment(platform, STAFF, trade, pay("300", "R1"))
    view, _ = payments.record_payment(platform, STAFF, trade, pay("700", "R2"))
    assert view["status"] == "paid" and view["outstanding"] == "0.00"
    voucher = payments.get_voucher(platform, buyer, trade)
    assert voucher["voucher_no"] == "330100-P-2026-000001-PZ" and voucher["price"] == "1000.00"
    assert voucher["transferor_uscc"] == SELLER and voucher["transferee_uscc"] == BUYER
    with pytest.raises(Conflict, match="已全部付清"):
        payments.record_payment(platform, STAFF, trade, pay("1", "R3"))


READERS = [
    (Actor("sup", frozenset({"supervisor"}), "330000"), True),
    (Actor("sup2", frozenset({"supervisor"}), "320100"), False),
    (Actor("buyer", frozenset({"bidder"}), "110000", BUYER), True),
    (Actor("other", frozenset({"bidder"}), REGION, uscc(503)), False),
    (Actor("seller", frozenset({"purchaser"}), REGION, SELLER), True),
    (Actor("seller2", frozenset({"purchaser"}), REGION, uscc(504)), False),
    (Actor("buyer_as_seller", frozenset({"purchaser"}), REGION, BUYER), False),
]


def test_who_may_read_the_plan(platform: Platform, trade: str) -> None:
    for who, allowed in READERS:
        if allowed:
            assert payments.get_plan(platform, who, trade)["transferee_uscc"] == BUYER, who
        else:
            with pytest.raises(Forbidden):
                payments.get_plan(platform, who, trade)


def test_overdue_instalments_raise_one_alert_each(platform: Platform, trade: str) -> None:
    payments.record_payment(platform, STAFF, trade, pay("300", "R1"))
    platform.clock.set(at(2026, 10, 8, 23, 59))
    assert payments.check_overdue_instalments(platform) == 0  # due by 24:00 of its last day
    platform.clock.set(at(2026, 10, 9, 0, 1))
    assert payments.check_overdue_instalments(platform) == 1
    assert payments.check_overdue_instalments(platform) == 0
    plan = payments.get_plan(platform, STAFF, trade)
    assert [i["overdue"] for i in plan["instalments"]] == [False, True]
    assert plan["instalments"][1]["alert_id"] is not None
