"""Refund scheduling by rule, refunds with interest, and alerts for overdue refunds."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.errors import Conflict, Invalid
from persistence.models import Event
from services.trading import alerts, deposits
from tests.trading.deposits.conftest import SH, STAFF, at, payment, uscc

SUPERVISOR = STAFF.__class__("sup", frozenset({"supervisor"}), "330100")


def _schedule(platform, trade, event, on, winner=None, rule_id="cons.bond_refund"):
    return platform.db.run(lambda s: deposits.schedule_refunds(s, trade, event, on, winner, rule_id, tz=platform.tz))


def _by_bidder(platform, trade):
    return {d["bidder_uscc"]: d for d in deposits.list_deposits(platform, STAFF, trade)}


@pytest.fixture
def cons_trade(platform, start_trade):
    """A construction trade with two bonds paid on 2026-09-10 10:00, bidder 1 the winner."""
    trade = start_trade(variables={"bond_amount": "200000", "estimated_price": "10000000"})
    platform.clock.set(at(2026, 9, 10, 10, 0))
    for n in (1, 2):
        deposits.record_payment(platform, STAFF, trade, payment(n))
    return trade


def test_construction_refunds_all_bonds_within_five_days_of_the_contract(platform, cons_trade):
    # Signed Mon 9-28 → 10-03 falls in the National Day holiday → due Thu 10-08, at 24:00 Shanghai time.
    changed = _schedule(platform, cons_trade, "contract_signed", at(2026, 9, 28, 15, 0), winner=uscc(1))
    assert len(changed) == 2
    for view in _by_bidder(platform, cons_trade).values():  # the winner's bond is refunded too (TBR 57)
        assert view["status"] == "refund_due"
        assert datetime.fromisoformat(view["refund_due_at"]) == datetime(2026, 10, 9, 0, 0, tzinfo=SH)
        assert (view["refund_rule"], view["interest_rate"]) == ("cons.bond_refund", "0.35")
    with platform.db.sessions() as session:
        scheduled = session.scalars(select(Event).where(Event.instance_id == cons_trade,
                                                        Event.type == "deposits.refunds_scheduled")).all()
    assert len(scheduled) == 1 and scheduled[0].data["event_date"] == "2026-09-28"
    assert _schedule(platform, cons_trade, "contract_signed", date(2026, 9, 28)) == []  # already scheduled


def test_a_refund_records_bank_interest_for_the_days_held(platform, cons_trade):
    _schedule(platform, cons_trade, "contract_signed", date(2026, 9, 28))
    target = _by_bidder(platform, cons_trade)[uscc(1)]
    platform.clock.set(at(2026, 10, 8, 15, 0))
    view = deposits.mark_refunded(platform, STAFF, cons_trade, target["id"], "REFUND-1")
    # Paid 9-10, refunded 10-08: 28 days; 200000 × 0.35% × 28 / 360 = 54.444… → 54.44.
    assert view["status"] == "refunded"
    assert {k: view["refund"][k] for k in ("amount", "interest", "days_held", "bank_reference", "late")} == {
        "amount": "200000.00", "interest": "54.44", "days_held": 28, "bank_reference": "REFUND-1", "late": False}
    # Replaying the same transfer is harmless; another one is a conflict.
    assert deposits.mark_refunded(platform, STAFF, cons_trade, target["id"], "REFUND-1")["refund"]["interest"] == "54.44"
    with pytest.raises(Conflict):
        deposits.mark_refunded(platform, STAFF, cons_trade, target["id"], "REFUND-2")


def test_the_interest_rate_is_a_process_variable(platform, start_trade):
    trade = start_trade(variables={"bond_amount": "10000", "deposit_interest_rate": 1.5})
    platform.clock.set(at(2026, 9, 25, 9, 0))
    deposits.record_payment(platform, STAFF, trade, payment(1, "10000"))
    _schedule(platform, trade, "contract_signed", date(2026, 9, 27))
    platform.clock.set(at(2026, 9, 28, 9, 0))
    view = deposits.mark_refunded(platform, STAFF, trade, _by_bidder(platform, trade)[uscc(1)]["id"], "R")
    assert view["refund"]["interest"] == "1.25"  # 10000 × 1.5% × 3 / 360


def test_land_winner_applied_to_price_losers_refunded_without_interest(platform, start_trade):
    trade = start_trade("land_deposit_test", {"bond_amount": "1000000"})
    platform.clock.set(at(2026, 9, 1, 9, 0))
    for n in (1, 2, 3):
        deposits.record_payment(platform, STAFF, trade, payment(n, "1000000", is_basic_account=False))
    # Sale ends Tue 9-29; 5 working days: 9-30, 10-08, 10-09, 10-10 (调休), 10-12.
    _schedule(platform, trade, "sale_ended", at(2026, 9, 29, 11, 0), winner=uscc(2), rule_id="land.deposit_refund")
    views = _by_bidder(platform, trade)
    assert (views[uscc(2)]["status"], views[uscc(2)]["refund_due_at"]) == ("applied_to_price", None)
    for n in (1, 3):
        assert views[uscc(n)]["status"] == "refund_due" and views[uscc(n)]["interest_rate"] is None
        assert datetime.fromisoformat(views[uscc(n)]["refund_due_at"]) == datetime(2026, 10, 13, tzinfo=SH)
    platform.clock.set(at(2026, 10, 9, 10, 0))
    refunded = deposits.mark_refunded(platform, STAFF, trade, views[uscc(1)]["id"], "R-1")
    assert (refunded["refund"]["interest"], refunded["refund"]["days_held"]) == ("0.00", 38)
    with pytest.raises(Conflict):
        deposits.mark_refunded(platform, STAFF, trade, views[uscc(2)]["id"], "R-2")


def test_gp_refunds_losers_at_the_award_and_the_winner_at_the_contract(platform, start_trade):
    trade = start_trade("gp_deposit_test", {"bond_amount": "5000", "bond_cap_rule": "gp.bond_cap"})
    for n in (1, 2):
        deposits.record_payment(platform, STAFF, trade, payment(n, "5000"))
    # Award notice Wed 9-30: 10-08, 10-09, 10-10 (调休), 10-12, 10-13.
    _schedule(platform, trade, "award_notice", date(2026, 9, 30), uscc(1), "gp.bond_refund")
    views = _by_bidder(platform, trade)
    assert views[uscc(1)]["status"] == "held"
    assert datetime.fromisoformat(views[uscc(2)]["refund_due_at"]) == datetime(2026, 10, 14, tzinfo=SH)
    _schedule(platform, trade, "contract_signed", date(2026, 10, 15), uscc(1), "gp.bond_refund")
    assert _by_bidder(platform, trade)[uscc(1)]["status"] == "refund_due"


def test_an_unknown_event_for_the_rule_is_refused(platform, cons_trade):
    with pytest.raises(Invalid):
        _schedule(platform, cons_trade, "sale_ended", date(2026, 9, 28))


# --- overdue refunds -------------------------------------------------------------------------------


def test_an_overdue_refund_raises_exactly_one_alert(platform, cons_trade):
    _schedule(platform, cons_trade, "contract_signed", date(2026, 9, 28))  # due 10-08 24:00
    deposits.mark_refunded(platform, STAFF, cons_trade, _by_bidder(platform, cons_trade)[uscc(2)]["id"], "R-2")
    platform.clock.set(at(2026, 10, 8, 23, 59, 0))
    assert deposits.check_overdue_refunds(platform) == 0  # the last day is not over yet
    platform.clock.set(at(2026, 10, 9, 0, 0, 5))
    assert deposits.check_overdue_refunds(platform) == 1
    assert deposits.check_overdue_refunds(platform) == 0  # a second scan finds the alert already raised
    found = alerts.list_alerts(platform, SUPERVISOR, status="open")
    assert len(found) == 1
    alert = found[0]
    assert (alert["kind"], alert["subject"], alert["rule"], alert["instance_id"], alert["region"]) == (
        "deposit_refund_overdue", uscc(1), "cons.bond_refund", cons_trade, "330100")
    assert alert["evidence"]["refund_due_at"] == "2026-10-09T00:00:00+08:00"
    # Closing the alert does not make the next scan raise it again for the same deposit.
    alerts.review(platform, SUPERVISOR, alert["id"], "已督促退还")
    assert deposits.check_overdue_refunds(platform) == 0
    late = deposits.mark_refunded(platform, STAFF, cons_trade, alert["evidence"]["deposit_id"], "R-1")
    assert late["refund"]["late"] is True


def test_refunds_made_in_time_raise_no_alert(platform, cons_trade):
    _schedule(platform, cons_trade, "contract_signed", date(2026, 9, 28))
    platform.clock.set(at(2026, 10, 8, 17, 0))
    for view in _by_bidder(platform, cons_trade).values():
        deposits.mark_refunded(platform, STAFF, cons_trade, view["id"], f"R-{view['id']}")
    platform.clock.set(at(2026, 10, 20, 9, 0))
    assert deposits.check_overdue_refunds(platform) == 0
    assert alerts.list_alerts(platform, SUPERVISOR) == []


def test_held_bonds_are_never_overdue(platform, cons_trade):
    platform.clock.set(at(2027, 1, 1, 9, 0))
    assert deposits.check_overdue_refunds(platform) == 0


def test_interest_owed_grows_with_a_late_refund(platform, cons_trade):
    _schedule(platform, cons_trade, "contract_signed", date(2026, 9, 28))
    platform.clock.set(at(2026, 10, 20, 9, 0))
    view = deposits.mark_refunded(platform, STAFF, cons_trade, _by_bidder(platform, cons_trade)[uscc(1)]["id"], "R")
    # 9-10 → 10-20 is 40 days: 200000 × 0.35% × 40 / 360 = 77.777… → 77.78
    assert (view["refund"]["days_held"], view["refund"]["interest"], view["refund"]["late"]) == (40, "77.78", True)
    assert Decimal(view["refund"]["interest"]) == Decimal("77.78")
