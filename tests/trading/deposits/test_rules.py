"""Pure deposit rules: the bond ceiling, payer account, refund plan and due dates, interest."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import default_calendar
from domain.errors import Invalid, NotFound, StatuteViolation
from domain.statutes import get_rule
from trading import deposits as rules

SH = ZoneInfo("Asia/Shanghai")


# --- bond ceiling ----------------------------------------------------------------------------------


def test_a_bond_of_exactly_two_percent_of_the_estimated_price_passes():
    rules.check_bond_cap("cons.bond_cap", Decimal("200000.00"), Decimal("10000000.00"))
    rules.check_bond_cap("cons.bond_cap", Decimal("2000.02"), Decimal("100001.00"))  # 2% = 2000.02 exactly


def test_a_cent_above_the_ceiling_fails_with_rule_citation_and_the_cap_amount():
    with pytest.raises(StatuteViolation) as caught:
        rules.check_bond_cap("cons.bond_cap", Decimal("200000.01"), Decimal("10000000.00"))
    assert caught.value.rule == "cons.bond_cap"
    assert caught.value.citation == get_rule("cons.bond_cap").citation == "TBR 26"
    assert "200000.00 元" in caught.value.message and "TBR 26" in caught.value.message


def test_the_ceiling_rounds_down_to_the_cent():
    # 2% of 100.01 is 2.0002: 2.00 is within it, 2.01 is not, and the message names 2.00.
    rules.check_bond_cap("cons.bond_cap", Decimal("2.00"), Decimal("100.01"))
    with pytest.raises(StatuteViolation, match="最高为 2.00 元"):
        rules.check_bond_cap("cons.bond_cap", Decimal("2.01"), Decimal("100.01"))


def test_the_percentage_is_read_from_the_statutes(monkeypatch):
    import dataclasses

    from domain import statutes

    real = statutes.get_rule
    monkeypatch.setattr(statutes, "get_rule", lambda rule_id: dataclasses.replace(real(rule_id), n=3)
                        if rule_id == "gp.bond_cap" else real(rule_id))
    rules.check_bond_cap("gp.bond_cap", Decimal("300.00"), Decimal("10000.00"))
    assert rules.bond_cap("gp.bond_cap", Decimal("10000.00")) == Decimal("300.00")


def test_gp_bonds_are_capped_on_the_budget_with_their_own_citation():
    assert rules.cap_base("gp.bond_cap") == ("budget", "采购项目预算金额")
    with pytest.raises(StatuteViolation) as caught:
        rules.check_bond_cap("gp.bond_cap", Decimal("20000.01"), Decimal(1000000))
    assert (caught.value.rule, caught.value.citation) == ("gp.bond_cap", "GPR 33")


@pytest.mark.parametrize("rule_id, error", [("cons.bond_refund", Invalid), ("prop.payment_first", Invalid),
                                            ("no.such_rule", NotFound)])
def test_only_bond_ceiling_rules_can_cap_a_bond(rule_id, error):
    with pytest.raises(error):
        rules.check_bond_cap(rule_id, Decimal(1), Decimal(100))


@pytest.mark.parametrize("value, expected", [("1234.5", "1234.50"), (0.1, "0.10"), (100, "100.00"),
                                             (Decimal("7.77"), "7.77")])
def test_money_is_exact_yuan_and_fen(value, expected):
    assert rules.yuan(rules.money(value)) == expected


@pytest.mark.parametrize("value", ["1.001", "-5", "0", "abc", None, True, float("nan"), "1e20"])
def test_money_refuses_fractions_of_a_fen_and_nonsense(value):
    with pytest.raises(Invalid):
        rules.money(value)


def test_bond_figures_may_be_per_lot():
    assert rules.per_lot({"1": "100", "2": "200"}, "2") == "200"
    assert rules.per_lot("100", "2") == "100"


# --- payer account ---------------------------------------------------------------------------------


def test_construction_bonds_must_come_from_the_basic_account():
    with pytest.raises(StatuteViolation) as caught:
        rules.check_payer("cons", "甲建设有限公司", "甲建设有限公司", is_basic_account=False)
    assert (caught.value.rule, caught.value.citation) == ("cons.bond_cap", "TBR 26")
    assert "基本账户" in caught.value.message
    rules.check_payer("cons", "甲建设有限公司", "甲建设有限公司", is_basic_account=True)
    rules.check_payer("land", "甲置业有限公司", "甲置业有限公司", is_basic_account=False)


def test_the_payer_must_be_the_bidder_itself():
    # Full-width brackets and stray spaces are how banks print the same name.
    rules.check_payer("cons", "甲建设（杭州）有限公司", "甲建设(杭州)有限公司 ", is_basic_account=True)
    with pytest.raises(StatuteViolation, match="不一致"):
        rules.check_payer("cons", "甲建设有限公司", "乙劳务有限公司", is_basic_account=True)
    with pytest.raises(Invalid, match="不一致"):
        rules.check_payer("land", "甲置业有限公司", "张三", is_basic_account=False)


def test_the_category_comes_from_the_bond_rule_then_the_process_key():
    assert rules.category_of("land_auction", "gp.bond_cap") == "gp"
    assert rules.category_of("land_auction", None) == "land"
    assert rules.category_of("construction_open_tender", None) == "cons"
    assert rules.category_of("something_else", None) == "cons"  # the default bond rule is cons.bond_cap


# --- refund plan and due dates across the 2026 National Day holiday ----------------------------------
# The 2026 schedule: 9-25 (Fri, 中秋) off; 10-01 to 10-07 off; Sat 10-10 a make-up working day (调休).

CAL = default_calendar()


def test_cons_refund_due_five_days_after_the_contract_extended_past_the_holiday():
    # Contract signed Mon 2026-09-28. 5 日 (day of signing not counted): 9-29, 9-30, 10-01, 10-02, 10-03 →
    # 10-03 (Sat) is in the holiday; a MAX period ending on a day off runs to the next working day: Thu 10-08.
    assert rules.refund_due_day("cons.bond_refund", date(2026, 9, 28), CAL) == date(2026, 10, 8)
    assert rules.end_of_day(date(2026, 10, 8), SH) == datetime(2026, 10, 9, 0, 0, tzinfo=SH)


def test_cons_refund_due_date_without_a_holiday_is_not_moved():
    # Signed Thu 9-17: 9-18, 9-19, 9-20, 9-21, 9-22 → Tue 9-22 is a working day.
    assert rules.refund_due_day("cons.bond_refund", date(2026, 9, 17), CAL) == date(2026, 9, 22)


def test_land_refund_counts_working_days_through_the_holiday():
    # Sale ends Tue 9-29. 5 工作日: Wed 9-30 (1); 10-01..10-07 off; Thu 10-08 (2), Fri 10-09 (3),
    # Sat 10-10 调休 (4), Sun 10-11 off, Mon 10-12 (5).
    assert rules.refund_due_day("land.deposit_refund", date(2026, 9, 29), CAL) == date(2026, 10, 12)


def test_gp_losers_refund_counts_working_days():
    # Award notice Wed 9-30: 10-08 (1), 10-09 (2), 10-10 调休 (3), 10-12 (4), 10-13 (5).
    assert rules.refund_due_day("gp.bond_refund", date(2026, 9, 30), CAL) == date(2026, 10, 13)


def test_construction_refunds_everyone_including_the_winner():
    policy = rules.refund_policy("cons.bond_refund")
    assert policy.interest and policy.default_event == "contract_signed"
    assert rules.refund_action(policy, "contract_signed", "W", winner="W") == rules.REFUND
    assert rules.refund_action(policy, "contract_signed", "L", winner="W") == rules.REFUND


def test_land_winner_goes_to_the_price_losers_are_refunded_without_interest():
    policy = rules.refund_policy("land.deposit_refund")
    assert not policy.interest
    assert rules.refund_action(policy, "sale_ended", "W", winner="W") == rules.APPLY
    assert rules.refund_action(policy, "sale_ended", "L", winner="W") == rules.REFUND
    assert rules.refund_action(policy, "sale_ended", "L", winner=None) == rules.REFUND  # 流拍: all refunded


def test_property_deposits_of_every_selected_investor_go_to_the_price():
    policy = rules.refund_policy("prop.deposit_refund")
    assert not policy.interest and policy.default_event == "trade_concluded"
    assert rules.EVENT_VARIABLES["trade_concluded"] == "trade_concluded_at"
    winners = ["W1", "W2"]
    assert [rules.refund_action(policy, "trade_concluded", u, winners) for u in ("W1", "W2", "L")] == [
        rules.APPLY, rules.APPLY, rules.REFUND]
    assert rules.refund_action(policy, "trade_concluded", "W1", winner="W1") == rules.APPLY
    assert rules.refund_action(policy, "trade_concluded", "W1", winner=None) == rules.REFUND  # terminated: all back


def test_property_refund_counts_working_days_through_the_may_day_holiday():
    # Wed 4-29: Thu 4-30 (1); 5-01..5-05 off; Wed 5-06 (2), Thu 5-07 (3).
    assert rules.refund_due_day("prop.deposit_refund", date(2026, 4, 29), CAL) == date(2026, 5, 7)


def test_gp_releases_losers_at_the_award_and_the_winner_at_the_contract():
    policy = rules.refund_policy("gp.bond_refund")
    assert rules.refund_action(policy, "award_notice", "W", winner="W") is None
    assert rules.refund_action(policy, "award_notice", "L", winner="W") == rules.REFUND
    assert rules.refund_action(policy, "contract_signed", "W", winner="W") == rules.REFUND
    assert rules.refund_action(policy, "contract_signed", "L", winner="W") is None
    with pytest.raises(Invalid, match="winner_uscc"):
        rules.refund_action(policy, "contract_signed", "W", winner=None)


def test_unknown_refund_rules_and_events_are_refused():
    with pytest.raises(Invalid):
        rules.refund_policy("cons.contract")
    with pytest.raises(Invalid, match="sale_ended"):
        rules.refund_action(rules.refund_policy("land.deposit_refund"), "contract_signed", "L", None)


# --- interest --------------------------------------------------------------------------------------


def test_interest_is_rate_times_days_held_over_360():
    # Paid 9-10, refunded 10-08: 9-10..9-30 is 21 days counting the first, 10-01..10-07 is 7: 28 days.
    days = rules.days_held(date(2026, 9, 10), date(2026, 10, 8))
    assert days == 28
    # 200000 × 0.35% = 700 a year; × 28 / 360 = 54.444… → 54.44
    assert rules.interest(Decimal("200000.00"), Decimal("0.35"), days) == Decimal("54.44")
    # 10000 × 1.5% × 3 / 360 = 1.25 exactly; half-up rounding: 1000 × 0.35% × 1 / 360 = 0.00972 → 0.01
    assert rules.interest(Decimal("10000.00"), Decimal("1.5"), 3) == Decimal("1.25")
    assert rules.interest(Decimal("1000.00"), Decimal("0.35"), 1) == Decimal("0.01")
    assert rules.interest(Decimal("1000.00"), Decimal("0.35"), 0) == Decimal("0.00")


def test_interest_rate_is_an_annual_percentage_with_a_default():
    assert rules.interest_rate(None) == Decimal("0.35")
    assert rules.interest_rate("1.5%") == Decimal("1.5")
    assert rules.interest_rate(0.3) == Decimal("0.3")
    for bad in ("-1", "abc", 101):
        with pytest.raises(Invalid):
            rules.interest_rate(bad)
