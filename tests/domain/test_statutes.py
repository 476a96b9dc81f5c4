"""Statutory rules: the data matches STATUTES.md, and due dates follow its counting rules."""
from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from domain.calendar import WorkingCalendar, YearCalendar, default_calendar, seed_year
from domain.errors import CalendarYearUnknown, Invalid, NotFound, StatuteViolation
from domain.statutes import (
    check_min,
    due,
    get_rule,
    load_rules,
    rule_exists,
    rule_to_dict,
    statute_names,
    with_override,
)

# The rule table of /work/shared/STATUTES.md, transcribed: id, n, unit, kind, citation, as written there.
STATUTES_TABLE = [
    ('cons.doc_sale', '5', '日', 'MIN', 'TBR 16'),
    ('cons.prequal_submit', '5', '日', 'MIN', 'TBR 17'),
    ('cons.clarify_prequal', '3', '日', 'MIN', 'TBR 21'),
    ('cons.clarify_bid', '15', '日', 'MIN', 'TBL 23; TBR 21'),
    ('cons.objection_doc', '10', '日', 'MIN', 'TBR 22'),
    ('cons.objection_reply', '3', '日', 'MAX', 'TBR 22'),
    ('cons.bid_period', '20', '日', 'MIN', 'TBL 24'),
    ('cons.min_bidders', '3', '-', 'COUNT', 'TBL 28; TBR 44'),
    ('cons.committee', '5', '-', 'COUNT', 'TBL 37'),
    ('cons.publicity_start', '3', '日', 'MAX', 'TBR 54'),
    ('cons.publicity_len', '3', '日', 'MIN', 'TBR 54'),
    ('cons.contract', '30', '日', 'MAX', 'TBL 46'),
    ('cons.report', '15', '日', 'MAX', 'TBL 47'),
    ('cons.bond_cap', '2%', '-', 'CAP', 'TBR 26'),
    ('cons.bond_refund', '5', '日', 'MAX', 'TBR 57'),
    ('cons.complaint', '10', '日', 'MAX', 'TBR 60'),
    ('cons.complaint_accept', '3', '工作日', 'MAX', 'TBR 61'),
    ('cons.complaint_decide', '30', '工作日', 'MAX', 'TBR 61'),
    ('gp.tender_notice', '5', '工作日', 'MIN', '87号令 16'),
    ('gp.doc_provision', '5', '工作日', 'MIN', 'GPR 31; 87号令 18'),
    ('gp.clarify', '15', '日', 'MIN', 'GPR 31; 87号令 27'),
    ('gp.bid_period', '20', '日', 'MIN', 'GPL 35'),
    ('gp.min_bidders', '3', '-', 'COUNT', '87号令'),
    ('gp.committee', '5', '-', 'COUNT', '87号令 47'),
    ('gp.bond_cap', '2%', '-', 'CAP', 'GPR 33'),
    ('gp.bond_refund', '5', '工作日', 'MAX', 'GPR 33; 87号令 38'),
    ('gp.report', '2', '工作日', 'MAX', 'GPR 43'),
    ('gp.decide', '5', '工作日', 'MAX', 'GPR 43'),
    ('gp.result_notice', '2', '工作日', 'MAX', 'GPR 43; 87号令 69'),
    ('gp.result_notice_len', '1', '工作日', 'MIN', '87号令 69'),
    ('gp.contract', '30', '日', 'MAX', 'GPL 46'),
    ('gp.contract_notice', '2', '工作日', 'MAX', 'GPR 50'),
    ('gp.contract_filing', '7', '工作日', 'MAX', 'GPL 47'),
    ('gp.negotiation_response', '3', '工作日', 'MIN', '74号令 29'),
    ('gp.inquiry_response', '3', '工作日', 'MIN', '74号令 45'),
    ('gp.single_source_publicity', '5', '工作日', 'MIN', 'GPR 38; 74号令 38'),
    ('gp.consultation_response', '10', '日', 'MIN', '财库〔2014〕214号 10'),
    ('gp.challenge', '7', '工作日', 'MAX', 'GPL 52; 94号令 10'),
    ('gp.challenge_reply', '7', '工作日', 'MAX', 'GPL 53; 94号令 13'),
    ('gp.complaint', '15', '工作日', 'MAX', 'GPL 55; 94号令 17'),
    ('gp.complaint_decide', '30', '工作日', 'MAX', 'GPL 56; 94号令 26'),
    ('land.announcement', '20', '日', 'MIN', '39号令'),
    ('land.listing_period', '10', '工作日', 'MIN', '39号令'),
    ('land.min_bidders_auction', '3', '-', 'COUNT', '39号令'),
    ('land.result_publication', '10', '工作日', 'MAX', '39号令'),
    ('land.deposit_refund', '5', '工作日', 'MAX', '39号令'),
    ('mine.announcement', '20', '日', 'MIN', 'mining-right trading rules'),
    ('mine.listing_period', '10', '工作日', 'MIN', 'mining-right trading rules'),
    ('prop.pre_disclosure', '20', '工作日', 'MIN', '32号令 13'),
    ('prop.disclosure', '20', '工作日', 'MIN', '32号令 13'),
    ('prop.redisclosure', '20', '工作日', 'MIN', '32号令 18'),
    ('prop.capital_increase', '40', '工作日', 'MIN', '32号令 39'),
    ('prop.payment_first', '30%', '-', 'CAP', '32号令 28'),
    ('prop.result_publicity', '5', '工作日', 'MIN', '32号令 29'),
]


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return default_calendar()


# --- the data --------------------------------------------------------------------------------------------


def test_every_statute_rule_exists_with_its_figures() -> None:
    rules = load_rules()
    for rule_id, n, unit, kind, citation in STATUTES_TABLE:
        assert rule_exists(rule_id), rule_id
        rule = rules[rule_id]
        assert rule.kind == kind, rule_id
        assert rule.citation == citation, rule_id
        assert rule.citation_full, rule_id
        assert rule.title, rule_id
        assert rule.category == rule_id.split(".")[0]
        if n.endswith("%"):
            assert (rule.n, rule.unit) == (int(n[:-1]), "%"), rule_id
        else:
            assert (rule.n, rule.unit) == (int(n), unit), rule_id


# Rules the platform adds beyond STATUTES.md ("add rules freely, never rename one"); each is named here.
PLATFORM_RULES = {"gp.complaint_suspend", "land.min_bidders_tender", "mine.min_bidders_auction",
                  "prop.payment", "prop.disclosure_extension", "prop.asset_disclosure_small",
                  "prop.asset_disclosure", "prop.asset_disclosure_large", "prop.deposit_refund"}


def test_the_table_and_the_platform_rules_are_all_there_and_nothing_else() -> None:
    assert set(load_rules()) == {row[0] for row in STATUTES_TABLE} | PLATFORM_RULES
    assert len(STATUTES_TABLE) == 54


def test_citation_full_expands_every_statute_named() -> None:
    names = statute_names()
    assert names["TBL"] == "《中华人民共和国招标投标法》"
    for rule in load_rules().values():
        for part in rule.citation.split("; "):
            abbr = part.rsplit(" ", 1)[0] if part[-1].isdigit() else part
            assert names[abbr] in rule.citation_full, rule.id
    assert get_rule("cons.bid_period").citation_full == "《中华人民共和国招标投标法》第二十四条"
    assert get_rule("cons.clarify_bid").citation_full == (
        "《中华人民共和国招标投标法》第二十三条；《中华人民共和国招标投标法实施条例》第二十一条"
    )
    assert get_rule("gp.tender_notice").citation_full == (
        "《政府采购货物和服务招标投标管理办法》（财政部令第87号）第十六条"
    )


def test_gp_committee_large_budget_is_data() -> None:
    rule = get_rule("gp.committee")
    assert rule.n == 5
    assert rule.params["n_large_budget"] == 7
    assert rule.params["large_budget_yuan"] == 10_000_000


def test_unknown_rule() -> None:
    assert not rule_exists("cons.nope")
    with pytest.raises(NotFound) as exc:
        get_rule("cons.nope")
    assert "cons.nope" in exc.value.message


def test_load_rules_returns_a_copy() -> None:
    rules = load_rules()
    rules.pop("cons.bid_period")
    assert rule_exists("cons.bid_period")


def test_rule_to_dict() -> None:
    d = rule_to_dict(get_rule("cons.bid_period"))
    assert set(d) == {"id", "n", "unit", "kind", "category", "title", "from", "to", "citation",
                      "citation_full", "notes"}
    assert d["id"] == "cons.bid_period"
    assert (d["n"], d["unit"], d["kind"], d["category"]) == (20, "日", "MIN", "cons")
    assert d["citation"] == "TBL 24"


# --- due dates -------------------------------------------------------------------------------------------


def test_bid_period_from_2026_12_01(cal: WorkingCalendar) -> None:
    assert due(get_rule("cons.bid_period"), date(2026, 12, 1), cal) == date(2026, 12, 21)


def test_min_calendar_days_do_not_extend(cal: WorkingCalendar) -> None:
    # 2025-09-28 + 3 = 2025-10-01, National Day: a waiting period may end on a holiday.
    assert due(get_rule("cons.publicity_len"), date(2025, 9, 28), cal) == date(2025, 10, 1)


def test_max_calendar_days_extend_over_a_holiday(cal: WorkingCalendar) -> None:
    # 2025-09-28 + 3 = 2025-10-01 falls in the National Day holiday: the reply is due 2025-10-09.
    assert due(get_rule("cons.objection_reply"), date(2025, 9, 28), cal) == date(2025, 10, 9)


def test_max_calendar_days_extend_over_a_weekend(cal: WorkingCalendar) -> None:
    # 2026-03-04 (Wed) + 3 = Saturday 2026-03-07 -> Monday 2026-03-09.
    assert due(get_rule("cons.objection_reply"), date(2026, 3, 4), cal) == date(2026, 3, 9)
    # 2026-09-29 + 30 = Thursday 2026-10-29, a working day: no extension.
    assert due(get_rule("cons.contract"), date(2026, 9, 29), cal) == date(2026, 10, 29)


def test_max_calendar_days_ending_on_a_make_up_saturday_do_not_extend(cal: WorkingCalendar) -> None:
    # 2026-02-11 + 3 = Saturday 2026-02-14, a 调休 working day.
    assert due(get_rule("cons.objection_reply"), date(2026, 2, 11), cal) == date(2026, 2, 14)


def test_working_day_rules(cal: WorkingCalendar) -> None:
    # From Thu 2026-02-12: Fri 13, Sat 14 (调休), then the Spring Festival, then 24, 25, 26.
    assert due(get_rule("gp.tender_notice"), date(2026, 2, 12), cal) == date(2026, 2, 26)
    assert due(get_rule("gp.challenge"), date(2026, 2, 12), cal) == date(2026, 2, 28)  # 调休 Saturday
    # MAX 工作日: cons.complaint_accept from the last pre-holiday day of 2025.
    assert due(get_rule("cons.complaint_accept"), date(2025, 9, 30), cal) == date(2025, 10, 11)


def test_count_and_cap_have_no_due_date(cal: WorkingCalendar) -> None:
    for rule_id in ("cons.min_bidders", "gp.bond_cap"):
        with pytest.raises(Invalid):
            due(get_rule(rule_id), date(2026, 3, 2), cal)


def test_due_in_an_unknown_year(cal: WorkingCalendar) -> None:
    only_2026 = WorkingCalendar({2026: seed_year(2026)})  # type: ignore[dict-item]
    # MAX 日 ending in 2027 needs to know whether the last day is a working day.
    with pytest.raises(CalendarYearUnknown) as exc:
        due(get_rule("cons.contract"), date(2026, 12, 15), only_2026)
    assert exc.value.year == 2027
    with pytest.raises(CalendarYearUnknown) as exc:
        due(get_rule("gp.tender_notice"), date(2026, 12, 28), only_2026)
    assert exc.value.year == 2027
    # MIN 日 needs no schedule, so it is computable.
    assert due(get_rule("cons.bid_period"), date(2026, 12, 20), only_2026) == date(2027, 1, 9)
    with pytest.raises(CalendarYearUnknown) as exc:
        due(get_rule("cons.objection_reply"), date(2031, 3, 2), cal)
    assert exc.value.year == 2031


def test_due_with_admin_2027(cal: WorkingCalendar) -> None:
    admin = YearCalendar(2027, holidays=frozenset({date(2027, 1, 1)}), source="admin")
    full = cal.with_years(admin)
    # 2026-12-29 + 3 = Friday 2027-01-01, a holiday -> Monday 2027-01-04.
    assert due(get_rule("cons.objection_reply"), date(2026, 12, 29), full) == date(2027, 1, 4)


# --- check_min -------------------------------------------------------------------------------------------


def test_check_min_refuses_a_short_period(cal: WorkingCalendar) -> None:
    rule = get_rule("cons.bid_period")
    with pytest.raises(StatuteViolation) as exc:
        check_min(rule, date(2026, 12, 1), date(2026, 12, 20), cal)
    err = exc.value
    assert err.rule == "cons.bid_period"
    assert err.citation == "TBL 24"
    assert "2026-12-21" in err.message
    assert rule.title in err.message
    assert "TBL 24" in err.message
    assert "20日" in err.message


def test_check_min_accepts_the_earliest_lawful_date(cal: WorkingCalendar) -> None:
    rule = get_rule("cons.bid_period")
    check_min(rule, date(2026, 12, 1), date(2026, 12, 21), cal)
    check_min(rule, date(2026, 12, 1), date(2026, 12, 31), cal)


def test_check_min_working_days(cal: WorkingCalendar) -> None:
    rule = get_rule("gp.tender_notice")
    with pytest.raises(StatuteViolation) as exc:
        check_min(rule, date(2026, 2, 12), date(2026, 2, 25), cal)
    assert "2026-02-26" in exc.value.message
    assert "5个工作日" in exc.value.message
    check_min(rule, date(2026, 2, 12), date(2026, 2, 26), cal)


def test_check_min_only_for_min_rules(cal: WorkingCalendar) -> None:
    with pytest.raises(Invalid):
        check_min(get_rule("cons.contract"), date(2026, 3, 2), date(2026, 3, 3), cal)


# --- regional overrides ----------------------------------------------------------------------------------


def test_override_min_may_only_grow() -> None:
    rule = get_rule("cons.bid_period")
    longer = with_override(rule, 25)
    assert longer.n == 25
    assert dataclasses.replace(longer, n=20) == rule
    assert rule.n == 20  # the default is untouched
    assert with_override(rule, 20).n == 20
    with pytest.raises(Invalid):
        with_override(rule, 19)


def test_override_count_may_only_grow() -> None:
    assert with_override(get_rule("cons.committee"), 7).n == 7
    with pytest.raises(Invalid):
        with_override(get_rule("cons.min_bidders"), 2)


def test_override_max_may_only_shrink() -> None:
    assert with_override(get_rule("cons.contract"), 20).n == 20
    with pytest.raises(Invalid):
        with_override(get_rule("cons.contract"), 31)


def test_override_cap_is_refused() -> None:
    with pytest.raises(Invalid):
        with_override(get_rule("gp.bond_cap"), 1)


def test_override_applies_to_due(cal: WorkingCalendar) -> None:
    rule = with_override(get_rule("cons.bid_period"), 25)
    assert due(rule, date(2026, 12, 1), cal) == date(2026, 12, 26)
