"""Forms: deploying JSON Schemas, and a statutory MIN rule carried by a form field."""
from __future__ import annotations

import pytest

from tests.api.conftest import assert_error, chain, user_task

SCHEMA = {"type": "object", "title": "开标记录",
          "properties": {"bidders": {"type": "integer", "title": "投标人数", "minimum": 0}},
          "required": ["bidders"]}

BID_FORM = {
    "type": "object",
    "title": "发布招标文件",
    "properties": {
        "docs_issued_on": {"type": "string", "format": "date", "title": "招标文件发出日期"},
        "bid_deadline": {"type": "string", "format": "date", "title": "投标截止日期",
                         "x-ggzy-rule": "cons.bid_period", "x-ggzy-from": "docs_issued_on"},
    },
    "required": ["docs_issued_on", "bid_deadline"],
}


def test_put_valid_schema_201_then_200_and_versions(api, make_user):
    created = api.call("PUT", "/forms/open_bids", api.designer, 201, json=SCHEMA).get_json()
    assert (created["key"], created["version"], created["schema"]) == ("open_bids", 1, SCHEMA)
    again = api.call("PUT", "/forms/open_bids", api.designer, 200, json=SCHEMA).get_json()
    assert again["version"] == 1 and again["checksum"] == created["checksum"]

    changed = {**SCHEMA, "title": "开标记录（修订）"}
    assert api.call("PUT", "/forms/open_bids", api.admin, 201, json=changed).get_json()["version"] == 2
    latest = api.call("GET", "/forms/open_bids", make_user("bidder"), 200).get_json()
    assert latest["version"] == 2 and latest["schema"] == changed


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "nonsense"}}},
    {"type": "object", "properties": {"a": {"minimum": "zero"}}},
    {"type": "object", "required": "a"},
    {"type": "object", "properties": {"d": {"type": "string", "x-ggzy-rule": "cons.no_such_rule"}}},
], ids=["bad-type", "bad-minimum", "bad-required", "unknown-rule"])
def test_put_invalid_schema_is_422(api, schema):
    body = assert_error(api.call("PUT", "/forms/broken_form", api.designer, json=schema), 422)
    assert body["errors"]
    assert_error(api.call("GET", "/forms/broken_form", api.designer), 404)


def test_put_a_non_object_body_is_refused(api):
    response = api.call("PUT", "/forms/list_form", api.designer, json=[1, 2, 3])
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


def test_only_designer_or_admin_may_put(api, make_user):
    for role in ("staff", "bidder", "supervisor", "integrator"):
        assert_error(api.call("PUT", "/forms/not_mine", make_user(role), json=SCHEMA), 403)
    assert_error(api.call("PUT", "/forms/not_mine", {}, json=SCHEMA), 401)
    assert_error(api.call("GET", "/forms/not_mine", api.designer), 404)


def test_get_form_needs_a_token(api):
    api.call("PUT", "/forms/open_bids", api.designer, 201, json=SCHEMA)
    assert_error(api.call("GET", "/forms/open_bids", {}), 401)


@pytest.fixture
def bid_task(api, staff):
    api.put_form("bid_docs", BID_FORM)
    api.deploy(chain("bid_period_proc", [("issue", user_task("issue", "发布招标文件", form="bid_docs")),
                                         ("open", user_task("open", "开标"))]))
    instance = api.start("bid_period_proc", "BID-1", staff)
    return instance, instance["tasks"][0]


def test_bid_deadline_shorter_than_20_days_is_a_statutory_422(api, bid_task, staff):
    _, task = bid_task
    response = api.complete(task["id"], staff, {"docs_issued_on": "2026-06-01", "bid_deadline": "2026-06-11"},
                            expect=None)
    body = assert_error(response, 422)
    assert body["rule"] == "cons.bid_period"
    assert body["citation"] == "TBL 24"
    assert [e["field"] for e in body["errors"]] == ["/bid_deadline"]
    assert api.task(task["id"], staff)["status"] == "ready"
    # one day short is still too short
    short = api.complete(task["id"], staff, {"docs_issued_on": "2026-06-01", "bid_deadline": "2026-06-20"},
                         expect=None)
    assert assert_error(short, 422)["rule"] == "cons.bid_period"


def test_bid_deadline_20_days_after_passes(api, bid_task, staff):
    _, task = bid_task
    after = api.complete(task["id"], staff, {"docs_issued_on": "2026-06-01", "bid_deadline": "2026-06-21"})
    assert [t["name"] for t in after["tasks"]] == ["开标"]
    assert after["variables"]["bid_deadline"] == "2026-06-21"


def test_the_from_date_may_come_from_process_variables(api, staff):
    form = {"type": "object", "properties": {
        "bid_deadline": {"type": "string", "format": "date", "x-ggzy-rule": "cons.bid_period",
                         "x-ggzy-from": "docs_issued_on"}}, "required": ["bid_deadline"]}
    api.put_form("bid_deadline_only", form)
    api.deploy(chain("bid_from_variables", [("set", user_task("set", "确定截止日", form="bid_deadline_only"))]))
    instance = api.start("bid_from_variables", "BID-2", staff, {"docs_issued_on": "2026-12-01"})
    task_id = instance["tasks"][0]["id"]
    body = assert_error(api.complete(task_id, staff, {"bid_deadline": "2026-12-20"}, expect=None), 422)
    assert (body["rule"], body["citation"]) == ("cons.bid_period", "TBL 24")
    assert api.complete(task_id, staff, {"bid_deadline": "2026-12-21"})["status"] == "completed"


def test_a_malformed_date_is_a_plain_form_error(api, bid_task, staff):
    _, task = bid_task
    body = assert_error(api.complete(task["id"], staff, {"docs_issued_on": "2026-06-01", "bid_deadline": "明天"},
                                     expect=None), 422)
    assert "/bid_deadline" in [e["field"] for e in body["errors"]]
    assert body.get("rule") is None


@pytest.mark.parametrize("ref", ["#/$defs/missing", "https://example.invalid/schema.json"], ids=["local", "remote"])
def test_form_with_an_unresolvable_ref_never_gives_500(api, staff, ref):
    schema = {"type": "object", "properties": {"a": {"$ref": ref}}}
    response = api.call("PUT", "/forms/dangling_ref", api.designer, json=schema)
    if response.status_code == 422:
        assert_error(response, 422)
        return
    assert response.status_code == 201
    api.deploy(chain("dangling_ref_proc", [("fill", user_task("fill", "填写", form="dangling_ref"))]))
    task = api.start("dangling_ref_proc", "REF-1", staff)["tasks"][0]
    assert_error(api.complete(task["id"], staff, {"a": "x"}, expect=None), 422)
    assert api.task(task["id"], staff)["status"] == "ready"
