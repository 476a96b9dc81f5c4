"""Recording bond payments and telling which bidders paid enough."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, StatuteViolation
from persistence.models import Event
from services.trading import deposits
from tests.trading.deposits.conftest import BANK, STAFF, at, payment, uscc

VARIABLES = {"bond_amount": "200000", "estimated_price": "10000000"}


def test_staff_record_a_payment_from_the_basic_account(platform, start_trade):
    trade = start_trade(variables=VARIABLES)
    platform.clock.set(at(2026, 9, 10, 10, 0))
    view, created = deposits.record_payment(platform, STAFF, trade, payment(1))
    assert created
    assert (view["amount"], view["required"], view["deposit_ok"], view["status"]) == (
        "200000.00", "200000.00", True, "held")
    assert view["paid_at"].startswith("2026-09-10T10:00") and view["paid_at"].endswith("+08:00")
    assert (view["payer_account_name"], view["is_basic_account"], view["recorded_by"]) == (
        "投标人1有限公司", True, "staff1")
    # The payment is audited in the platform chain, never in the trade's (the tenderer reads that one).
    with platform.db.sessions() as session:
        types = {(e.instance_id, e.type) for e in session.scalars(select(Event))}
    assert ("platform", "deposit.recorded") in types
    assert not any(t == "deposit.recorded" for i, t in types if i == trade)


def test_a_non_basic_account_is_refused_for_construction(platform, start_trade):
    trade = start_trade(variables=VARIABLES)
    with pytest.raises(StatuteViolation) as caught:
        deposits.record_payment(platform, STAFF, trade, payment(1, is_basic_account=False))
    assert (caught.value.rule, caught.value.citation) == ("cons.bond_cap", "TBR 26")
    assert deposits.list_deposits(platform, STAFF, trade) == []


def test_a_land_deposit_need_not_come_from_a_basic_account(platform, start_trade):
    trade = start_trade("land_deposit_test", {"bond_amount": "1000000"})
    view, _ = deposits.record_payment(platform, BANK, trade, payment(1, "1000000", is_basic_account=False))
    assert view["is_basic_account"] is False and view["recorded_by"] == "bank"


def test_the_payer_account_must_be_in_the_bidders_own_name(platform, start_trade):
    trade = start_trade(variables=VARIABLES)
    with pytest.raises(StatuteViolation, match="不一致"):
        deposits.record_payment(platform, STAFF, trade, payment(1, payer_account_name="某某劳务有限公司"))


def test_a_registered_bidder_is_named_as_registered(platform, start_trade):
    from services.trading.entities import register_organisation

    register_organisation(platform, Actor("admin", frozenset({"admin"})), {"uscc": uscc(7), "name": "登记建设有限公司"})
    trade = start_trade(variables=VARIABLES)
    body = payment(7, bidder_name=None, payer_account_name="登记建设有限公司")
    assert deposits.record_payment(platform, STAFF, trade, body)[0]["bidder_name"] == "登记建设有限公司"
    with pytest.raises(Invalid, match="登记名称"):
        deposits.record_payment(platform, STAFF, start_trade(variables=VARIABLES), payment(7))


def test_an_insufficient_bond_is_recorded_but_not_ok(platform, start_trade):
    trade = start_trade(variables=VARIABLES)
    deposits.record_payment(platform, STAFF, trade, payment(1, "199999.99"))
    deposits.record_payment(platform, STAFF, trade, payment(2, "200000.00"))
    with platform.db.sessions() as session:
        short = deposits.deposit_status(session, trade, uscc(1))
        full = deposits.deposit_status(session, trade, uscc(2))
        none = deposits.deposit_status(session, trade, uscc(3))
    assert (short["paid"], short["required"], short["deposit_ok"]) == ("199999.99", "200000.00", False)
    assert full["deposit_ok"] is True
    assert (none["paid"], none["deposit_ok"], none["status"]) == (None, False, None)


def test_the_bank_interface_may_send_a_payment_twice(platform, start_trade):
    trade = start_trade(variables=VARIABLES)
    first, created = deposits.record_payment(platform, BANK, trade, payment(1))
    again, created_again = deposits.record_payment(platform, BANK, trade, payment(1))
    assert created and not created_again and again["id"] == first["id"]
    with pytest.raises(Conflict):
        deposits.record_payment(platform, BANK, trade, payment(1, bank_reference="OTHER"))
    second_lot, _ = deposits.record_payment(platform, BANK, trade, payment(1, lot="2"))
    assert second_lot["lot"] == "2" and second_lot["id"] != first["id"]


def test_who_may_record_and_where(platform, start_trade):
    trade = start_trade(variables=VARIABLES)
    with pytest.raises(Forbidden):
        deposits.record_payment(platform, Actor("b", frozenset({"bidder"}), org=uscc(1)), trade, payment(1))
    with pytest.raises(Forbidden):
        deposits.record_payment(platform, Actor("s", frozenset({"staff"}), "320100"), trade, payment(1))
    with pytest.raises(Invalid, match="校验位"):
        deposits.record_payment(platform, STAFF, trade, payment(1, bidder_uscc=uscc(1)[:17] + "0"
                                                                if uscc(1)[17] != "0" else uscc(1)[:17] + "1"))


def test_bidders_see_only_their_own_deposits(platform, start_trade):
    trade = start_trade(variables=VARIABLES)
    deposits.record_payment(platform, STAFF, trade, payment(1))
    deposits.record_payment(platform, STAFF, trade, payment(2))
    bidder = Actor("b1", frozenset({"bidder"}), None, uscc(1))
    assert [d["bidder_uscc"] for d in deposits.list_deposits(platform, bidder, trade)] == [uscc(1)]
    supervisor = Actor("sup", frozenset({"supervisor"}), "330000")
    assert len(deposits.list_deposits(platform, supervisor, trade)) == 2
    for outsider in (Actor("p", frozenset({"purchaser"}), "330100"), Actor("s", frozenset({"supervisor"}), "320000")):
        with pytest.raises(Forbidden):
            deposits.list_deposits(platform, outsider, trade)
