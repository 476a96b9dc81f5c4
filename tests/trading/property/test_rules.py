"""Pure rules of the state-owned property trades: re-disclosure prices, payment plans, disclosure tiers, selection."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.calendar import WorkingCalendar, default_calendar
from domain.errors import Invalid, StatuteViolation
from trading import property as rules

D = Decimal


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return default_calendar()


# --- listing prices ------------------------------------------------------------------------------------


def test_first_listing_not_below_the_appraisal() -> None:
    rules.check_first_listing(D("10000000.00"), D("10000000.00"))
    with pytest.raises(Invalid, match="不得低于评估结果"):
        rules.check_first_listing(D("9999999.99"), D("10000000.00"))


def test_the_approval_threshold_is_ninety_percent_of_the_appraisal() -> None:
    assert rules.approval_threshold(D("10000000.00")) == D("9000000.00")
    assert rules.approval_threshold(D("333.33")) == D("300.00")  # 299.997 rounds to the fen


def test_redisclosure_at_or_above_ninety_percent_needs_no_approval() -> None:
    assert rules.check_redisclosure_price(D("9000000.00"), D("10000000.00"), D("10000000.00"), None) is False


def test_redisclosure_below_ninety_percent_without_approval_is_a_statute_violation() -> None:
    with pytest.raises(StatuteViolation) as refused:
        rules.check_redisclosure_price(D("8999999.99"), D("10000000.00"), D("10000000.00"), None)
    assert (refused.value.rule, refused.value.citation) == ("prop.redisclosure", "32号令 18")
    assert "9000000.00" in refused.value.message and refused.value.errors[0]["field"] == "/approval_no"


def test_redisclosure_below_ninety_percent_with_the_recorded_approval() -> None:
    approval = rules.Approval("杭国资产权〔2026〕30号", "杭州市国资委", date(2026, 4, 29))
    assert rules.check_redisclosure_price(D("5000000.00"), D("9000000.00"), D("10000000.00"), approval) is True


def test_redisclosure_may_not_raise_the_price() -> None:
    with pytest.raises(Invalid, match="高于原转让底价"):
        rules.check_redisclosure_price(D("9500000.01"), D("9500000.00"), D("10000000.00"), None)


def test_an_approval_is_all_three_fields_or_none() -> None:
    assert rules.approval_from({"approval_no": "", "approval_body": None}) is None
    with pytest.raises(Invalid) as half:
        rules.approval_from({"approval_no": "X号"})
    assert {e["field"] for e in half.value.errors} == {"/approval_body", "/approved_on"}
    full = rules.approval_from({"approval_no": "X号", "approval_body": "国资委", "approved_on": "2026-04-29"})
    assert full == rules.Approval("X号", "国资委", date(2026, 4, 29))


def test_twelve_months_after_the_first_disclosure_the_trade_starts_over() -> None:
    rules.check_relisting_window(date(2026, 3, 2), date(2027, 3, 2))
    with pytest.raises(Invalid, match="12个月"):
        rules.check_relisting_window(date(2026, 3, 2), date(2027, 3, 3))


# --- disclosure tiers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("price", "rule_id", "days"), [
    ("0.01", "prop.asset_disclosure_small", 5),
    ("999999.99", "prop.asset_disclosure_small", 5),
    ("1000000.00", "prop.asset_disclosure", 10),
    ("10000000.00", "prop.asset_disclosure", 10),
    ("10000000.01", "prop.asset_disclosure_large", 20),
])
def test_asset_disclosure_tiers(price: str, rule_id: str, days: int) -> None:
    rule = rules.asset_disclosure_rule(D(price))
    assert (rule.id, rule.n, rule.unit, rule.kind) == (rule_id, days, "工作日", "MIN")


# --- payment plans -------------------------------------------------------------------------------------

EFFECTIVE = date(2026, 4, 8)  # 5 working days later is Wed 04-15


def test_lump_sum_defaults_to_the_last_lawful_day(cal: WorkingCalendar) -> None:
    plan = rules.payment_plan(D("100.00"), EFFECTIVE, rules.LUMP_SUM, [], None, cal)
    assert plan == [rules.Instalment(1, D("100.00"), date(2026, 4, 15))]


def test_lump_sum_after_five_working_days_is_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(StatuteViolation) as late:
        rules.payment_plan(D("100.00"), EFFECTIVE, rules.LUMP_SUM, [{"amount": 100, "due_on": "2026-04-16"}], None, cal)
    assert late.value.rule == "prop.payment" and "2026-04-15" in late.value.message


def instalments(*rows: tuple[str, str]) -> list[dict[str, str]]:
    return [{"amount": a, "due_on": d} for a, d in rows]


def test_a_lawful_instalment_plan(cal: WorkingCalendar) -> None:
    plan = rules.payment_plan(D("1000.00"), EFFECTIVE, rules.INSTALMENTS,
                              instalments(("300", "2026-04-15"), ("700", "2027-04-08")), "银行保函", cal)
    assert [(i.seq, i.amount, i.due_on) for i in plan] == [
        (1, D("300.00"), date(2026, 4, 15)), (2, D("700.00"), date(2027, 4, 8))]


@pytest.mark.parametrize(("rows", "guarantee", "field"), [
    ((("299.99", "2026-04-15"), ("700.01", "2026-10-08")), "保函", "/instalments/0/amount"),
    ((("300", "2026-04-15"), ("700", "2027-04-09")), "保函", "/instalments/1/due_on"),
    ((("300", "2026-04-15"), ("700", "2026-10-08")), "  ", "/guarantee"),
])
def test_instalments_break_the_first_payment_rule(cal: WorkingCalendar, rows: tuple[tuple[str, str], ...],
                                                  guarantee: str, field: str) -> None:
    with pytest.raises(StatuteViolation) as refused:
        rules.payment_plan(D("1000.00"), EFFECTIVE, rules.INSTALMENTS, instalments(*rows), guarantee, cal)
    assert (refused.value.rule, refused.value.citation) == ("prop.payment_first", "32号令 28")
    assert [e["field"] for e in refused.value.errors] == [field]


def test_every_breach_of_the_plan_is_named_at_once(cal: WorkingCalendar) -> None:
    with pytest.raises(StatuteViolation) as refused:
        rules.payment_plan(D("1000.00"), EFFECTIVE, rules.INSTALMENTS,
                           instalments(("100", "2026-04-15"), ("900", "2027-06-01")), None, cal)
    assert len(refused.value.errors) == 3


def test_a_late_first_instalment_breaks_the_payment_deadline(cal: WorkingCalendar) -> None:
    with pytest.raises(StatuteViolation) as refused:
        rules.payment_plan(D("1000.00"), EFFECTIVE, rules.INSTALMENTS,
                           instalments(("300", "2026-04-16"), ("700", "2026-10-08")), "保函", cal)
    assert refused.value.rule == "prop.payment"


@pytest.mark.parametrize(("mode", "rows", "message"), [
    ("instalments", (("1000", "2026-04-15"),), "至少须有两期"),
    ("instalments", (("300", "2026-04-15"), ("600", "2026-10-08")), "不一致"),
    ("instalments", (("300", "2026-04-15"), ("700", "2026-04-15")), "依次推后"),
    ("instalments", (("300", "2026-04-07"), ("700", "2026-10-08")), "不得早于合同生效日期"),
    ("monthly", (), "付款方式"),
])
def test_malformed_plans_are_invalid(cal: WorkingCalendar, mode: str, rows: tuple[tuple[str, str], ...],
                                     message: str) -> None:
    with pytest.raises(Invalid, match=message) as refused:
        rules.payment_plan(D("1000.00"), EFFECTIVE, mode, instalments(*rows), "保函", cal)
    assert not isinstance(refused.value, StatuteViolation)


def test_add_months_keeps_the_day_or_takes_the_last_one() -> None:
    assert rules.add_months(date(2026, 4, 8), 12) == date(2027, 4, 8)
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert rules.add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_money_received_covers_the_earliest_instalments_first() -> None:
    assert rules.allocate([D("300"), D("700")], D("500")) == [D("300"), D("200")]
    assert rules.allocate([D("300"), D("700")], D("0")) == [D("0"), D("0")]
    assert rules.allocate([D("300"), D("700")], D("1000")) == [D("300"), D("700")]


# --- selection of investors ----------------------------------------------------------------------------

CRITERIA = [{"key": "price", "name": "认购价格", "weight": 60}, {"key": "plan", "name": "经营方案", "weight": 40}]


def test_criteria_weights_sum_to_one_hundred() -> None:
    assert rules.check_criteria(CRITERIA) == {"price": D("60"), "plan": D("40")}
    with pytest.raises(Invalid, match="合计应为 100"):
        rules.check_criteria([{"key": "price", "weight": 60}])
    with pytest.raises(Invalid, match="不重复"):
        rules.check_criteria([{"key": "price", "weight": 50}, {"key": "price", "weight": 50}])


def test_investors_ranked_by_the_weighted_total() -> None:
    weights = rules.check_criteria(CRITERIA)
    ranking = rules.rank_investors(weights, [
        {"investor_uscc": "A", "scores": {"price": 90, "plan": 70}},
        {"investor_uscc": "B", "scores": {"price": 80, "plan": 95}}])
    assert ranking == [("B", D("86.00")), ("A", D("82.00"))]


@pytest.mark.parametrize("scores", [{"price": 90}, {"price": 90, "plan": 70, "size": 10}, {"price": 101, "plan": 0},
                                    {"price": True, "plan": 0}])
def test_scores_only_on_the_published_criteria_within_range(scores: dict[str, object]) -> None:
    with pytest.raises(Invalid):
        rules.rank_investors(rules.check_criteria(CRITERIA), [{"investor_uscc": "A", "scores": scores}])
