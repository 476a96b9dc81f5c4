"""The statutory rules and the working-day calendar over HTTP (STATUTES.md)."""
from __future__ import annotations

import pytest

from tests.api.conftest import assert_error

STATUTE_IDS = """
cons.doc_sale cons.prequal_submit cons.clarify_prequal cons.clarify_bid cons.objection_doc cons.objection_reply
cons.bid_period cons.min_bidders cons.committee cons.publicity_start cons.publicity_len cons.contract cons.report
cons.bond_cap cons.bond_refund cons.complaint cons.complaint_accept cons.complaint_decide gp.tender_notice
gp.doc_provision gp.clarify gp.bid_period gp.min_bidders gp.committee gp.bond_cap gp.bond_refund gp.report
gp.decide gp.result_notice gp.result_notice_len gp.contract gp.contract_notice gp.contract_filing
gp.negotiation_response gp.inquiry_response gp.single_source_publicity gp.consultation_response gp.challenge
gp.challenge_reply gp.complaint gp.complaint_decide land.announcement land.listing_period
land.min_bidders_auction land.result_publication land.deposit_refund mine.announcement mine.listing_period
prop.pre_disclosure prop.disclosure prop.redisclosure prop.capital_increase prop.payment_first
prop.result_publicity
""".split()  # noqa: SIM905 - pasted from STATUTES.md

SPOT = {  # id: (n, unit, kind, citation)
    "cons.bid_period": (20, "日", "MIN", "TBL 24"),
    "cons.objection_reply": (3, "日", "MAX", "TBR 22"),
    "cons.complaint_decide": (30, "工作日", "MAX", "TBR 61"),
    "gp.complaint_decide": (30, "工作日", "MAX", "GPL 56; 94号令 26"),
    "gp.tender_notice": (5, "工作日", "MIN", "87号令 16"),
    "gp.challenge": (7, "工作日", "MAX", "GPL 52; 94号令 10"),
    "land.listing_period": (10, "工作日", "MIN", "39号令"),
    "mine.announcement": (20, "日", "MIN", "mining-right trading rules"),
    "prop.capital_increase": (40, "工作日", "MIN", "32号令 39"),
    "prop.result_publicity": (5, "工作日", "MIN", "32号令 29"),
    "cons.min_bidders": (3, "-", "COUNT", "TBL 28; TBR 44"),
}

YEAR_2031 = {"holidays": ["2031-01-01", "2031-10-01", "2031-10-02", "2031-10-03", "2031-10-06", "2031-10-07"],
             "workdays": ["2031-09-28", "2031-10-11"]}


def due(api, headers, rule, start, expect=200):
    response = api.call("GET", f"/statutes/{rule}/due", headers, expect, query_string={"from": start})
    return response.get_json()


def working(api, headers, start, add, expect=200):
    response = api.call("GET", "/calendar/working-days", headers, expect, query_string={"start": start, "add": add})
    return response.get_json()


def test_statutes_list_every_contract_id(api):
    rules = api.call("GET", "/statutes", {}, 200).get_json()
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    assert set(STATUTE_IDS) <= set(ids), sorted(set(STATUTE_IDS) - set(ids))
    by_id = {r["id"]: r for r in rules}
    for rule_id, (n, unit, kind, citation) in SPOT.items():
        rule = by_id[rule_id]
        assert (rule["n"], rule["unit"], rule["kind"], rule["citation"]) == (n, unit, kind, citation), rule
    one = api.call("GET", "/statutes/gp.complaint_decide", {}, 200).get_json()
    assert one["id"] == "gp.complaint_decide" and one["citation"] == SPOT["gp.complaint_decide"][3]


def test_min_rule_due(api, staff):
    body = due(api, staff, "cons.bid_period", "2026-12-01")
    assert {k: body[k] for k in ("rule", "from", "due", "citation")} == {
        "rule": "cons.bid_period", "from": "2026-12-01", "due": "2026-12-21", "citation": "TBL 24"}
    # a MIN period is not extended: 2026-06-21 is a Sunday in the Dragon Boat holiday, and still the answer
    assert due(api, staff, "cons.bid_period", "2026-06-01")["due"] == "2026-06-21"


@pytest.mark.parametrize("start, expected", [
    ("2026-06-03", "2026-06-08"),  # Wed + 3 = Sat 06-06 → Mon 06-08
    ("2026-06-01", "2026-06-04"),  # Mon + 3 = Thu, a working day: no extension
    ("2026-06-16", "2026-06-22"),  # Tue + 3 = Fri 06-19, Dragon Boat Festival (19-21) → Mon 06-22
    ("2026-09-28", "2026-10-08"),  # Mon + 3 = Thu 10-01, National Day (1-7) → Thu 10-08
])
def test_max_day_rule_ending_on_a_rest_day_extends(api, staff, start, expected):
    body = due(api, staff, "cons.objection_reply", start)
    assert (body["due"], body["citation"]) == (expected, "TBR 22")


@pytest.mark.parametrize("rule, start, expected", [
    ("gp.report", "2026-09-30", "2026-10-09"),             # 2 工作日 across National Day
    ("cons.complaint_accept", "2026-09-30", "2026-10-10"),  # 3 工作日: Sat 10-10 is a 调休 working day
    ("gp.tender_notice", "2026-09-24", "2026-10-09"),       # 5 工作日 over Mid-Autumn (09-25) and National Day
])
def test_working_day_rule_across_national_day(api, staff, rule, start, expected):
    assert due(api, staff, rule, start)["due"] == expected


def test_working_days_across_national_day(api, staff):
    body = working(api, staff, "2026-09-30", 3)
    assert body["result"] == "2026-10-10"
    assert body["skipped"] == [f"2026-10-0{d}" for d in range(1, 8)]
    assert working(api, staff, "2026-09-19", 1)["result"] == "2026-09-20"  # Sunday 调休 working day
    assert working(api, staff, "2026-06-05", 0)["result"] == "2026-06-05"


def test_unpublished_year_is_422_naming_the_year(api, staff):
    for response in (api.call("GET", "/calendar/working-days", staff, query_string={"start": "2031-09-30", "add": 3}),
                     api.call("GET", "/statutes/cons.complaint_accept/due", staff,
                              query_string={"from": "2031-09-30"})):
        body = assert_error(response, 422)
        assert "2031" in body["message"]


def test_admin_publishes_a_year_then_it_computes(api, staff, make_user):
    assert_error(api.call("PUT", "/calendar/2031", staff, json=YEAR_2031), 403)
    assert_error(api.call("PUT", "/calendar/2031", make_user("designer"), json=YEAR_2031), 403)
    assert_error(api.call("PUT", "/calendar/2031", {}, json=YEAR_2031), 401)
    working(api, staff, "2031-09-30", 3, expect=422)

    api.call("PUT", "/calendar/2031", api.admin, 200, json=YEAR_2031)
    body = working(api, staff, "2031-09-30", 3)
    assert body["result"] == "2031-10-10"
    assert body["skipped"] == ["2031-10-01", "2031-10-02", "2031-10-03", "2031-10-04", "2031-10-05",
                               "2031-10-06", "2031-10-07"]
    assert working(api, staff, "2031-09-30", 4)["result"] == "2031-10-11"  # published make-up Saturday
    assert working(api, staff, "2031-09-26", 1)["result"] == "2031-09-28"  # published make-up Sunday
    assert due(api, staff, "cons.complaint_accept", "2031-09-30")["due"] == "2031-10-10"
    assert due(api, staff, "cons.objection_reply", "2031-09-29")["due"] == "2031-10-08"

    # publishing again replaces the year
    api.call("PUT", "/calendar/2031", api.admin, 200, json={"holidays": [], "workdays": []})
    assert working(api, staff, "2031-09-30", 3)["result"] == "2031-10-03"


def test_bad_calendar_years_are_refused(api):
    response = api.call("PUT", "/calendar/2031", api.admin, json={"holidays": ["2031-13-40"], "workdays": []})
    assert response.status_code in (400, 422)
    response = api.call("PUT", "/calendar/2031", api.admin, json={"holidays": [], "workdays": ["2031-10-08"]})
    assert_error(response, 422)  # a Wednesday cannot be a make-up weekend day


def test_unknown_rule_is_404(api, staff):
    assert_error(api.call("GET", "/statutes/cons.nope", {}), 404)
    assert_error(api.call("GET", "/statutes/cons.nope/due", staff, query_string={"from": "2026-06-01"}), 404)


def test_due_needs_a_valid_date_and_a_token(api, staff):
    assert_error(api.call("GET", "/statutes/cons.bid_period/due", staff, query_string={"from": "June"}), 400)
    assert_error(api.call("GET", "/statutes/cons.bid_period/due", staff), 400)
    assert_error(api.call("GET", "/statutes/cons.bid_period/due", {}, query_string={"from": "2026-06-01"}), 401)
    assert_error(api.call("GET", "/calendar/working-days", staff, query_string={"start": "2026-06-01", "add": -1}),
                 400)


def test_year_end_never_guesses_the_next_year(api, staff):
    # the seeded calendar ends with 2026 (chinese-calendar), so 2027 is unknown until an admin publishes it
    body = assert_error(api.call("GET", "/calendar/working-days", staff,
                                 query_string={"start": "2026-12-28", "add": 5}), 422)
    assert "2027" in body["message"]
    body = assert_error(api.call("GET", "/statutes/cons.contract/due", staff, query_string={"from": "2026-12-20"}),
                        422)  # a MAX 日 rule must know whether its last day is a holiday
    assert "2027" in body["message"]
    # a MIN 日 rule is plain calendar arithmetic and needs no holiday data
    assert due(api, staff, "cons.bid_period", "2026-12-20")["due"] == "2027-01-09"
    # a MAX 日 rule ending inside the known year is fine
    assert due(api, staff, "cons.objection_reply", "2026-12-27")["due"] == "2026-12-30"


def test_count_and_cap_rules_have_no_due_date(api, staff):
    for rule in ("cons.min_bidders", "gp.bond_cap"):
        response = api.call("GET", f"/statutes/{rule}/due", staff, query_string={"from": "2026-06-01"})
        assert response.status_code in (400, 422)
        assert_error(response, response.status_code)
