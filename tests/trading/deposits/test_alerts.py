"""Alerts: one open alert per (kind, trade, subject), listed by region, handled by supervisors."""
from __future__ import annotations

import pytest

from domain.access import Actor
from domain.errors import BadRequest, Conflict, Forbidden, NotFound
from services.trading import alerts
from tests.trading.deposits.conftest import at


def _raise(platform, instance_id, region, subject="S", kind="deposit_refund_overdue"):
    def use_case(session):
        alert, created = alerts.raise_alert(session, kind=kind, message="测试预警", now=platform.clock.now(),
                                            region=region, instance_id=instance_id, subject=subject,
                                            rule="cons.bond_refund", evidence={"n": 1})
        return alert.id, created

    return platform.db.run(use_case)


def sup(region=None):
    return Actor(f"sup{region}", frozenset({"supervisor"}), region)


def test_raising_the_same_alert_twice_keeps_one_open(platform, start_trade):
    trade = start_trade()
    first, created = _raise(platform, trade, "330100")
    again, created_again = _raise(platform, trade, "330100")
    other, created_other = _raise(platform, trade, "330100", subject="T")
    assert created and not created_again and again == first
    assert created_other and other != first
    # Once handled, the same finding may be raised anew.
    alerts.dismiss(platform, sup(), first, "误报")
    fresh, created_fresh = _raise(platform, trade, "330100")
    assert created_fresh and fresh != first


def test_alerts_are_listed_by_region(platform, start_trade):
    hangzhou, ningbo, nanjing = (start_trade(region=r) for r in ("330100", "330200", "320100"))
    ids = {r: _raise(platform, t, r)[0] for r, t in (("330100", hangzhou), ("330200", ningbo),
                                                       ("320100", nanjing))}
    listed = lambda actor, **q: {a["id"] for a in alerts.list_alerts(platform, actor, **q)}  # noqa: E731
    assert listed(Actor("st", frozenset({"staff"}), "330100")) == {ids["330100"]}
    assert listed(sup("330000")) == {ids["330100"], ids["330200"]}
    assert listed(sup()) == set(ids.values())
    assert listed(sup("320000"), status="open") == {ids["320100"]}
    assert listed(sup("320000"), status="reviewed") == set()
    assert listed(sup(), instance_id=ningbo) == {ids["330200"]}
    with pytest.raises(Forbidden):
        alerts.list_alerts(platform, Actor("b", frozenset({"bidder"}), "330100"))
    with pytest.raises(BadRequest):
        alerts.list_alerts(platform, sup(), status="closed")


def test_supervisors_review_then_dismiss(platform, start_trade):
    trade = start_trade()
    alert_id, _ = _raise(platform, trade, "330100")
    platform.clock.set(at(2026, 10, 10, 9, 0))
    reviewed = alerts.review(platform, sup("330100"), alert_id, "已约谈")
    assert (reviewed["status"], reviewed["handled_by"], reviewed["note"]) == ("reviewed", "sup330100", "已约谈")
    with pytest.raises(Conflict):
        alerts.review(platform, sup("330100"), alert_id)
    assert alerts.dismiss(platform, sup("330100"), alert_id)["status"] == "dismissed"
    with pytest.raises(Conflict):
        alerts.dismiss(platform, sup("330100"), alert_id)


def test_only_supervisors_of_the_region_handle_alerts(platform, start_trade):
    alert_id, _ = _raise(platform, start_trade(), "330100")
    with pytest.raises(Forbidden):
        alerts.review(platform, Actor("st", frozenset({"staff"}), "330100"), alert_id)
    with pytest.raises(Forbidden):
        alerts.review(platform, sup("320000"), alert_id)
    with pytest.raises(NotFound):
        alerts.review(platform, sup(), 999999)
