"""The pure rules of disclosure: what a form lets out, when it publishes, titles and identifiers."""
from __future__ import annotations

from domain import disclosure
from tests.disclosure.support import RESERVE_PRICE, RESULT_FORM, SECRET_NOTE


def test_confidential_fields_are_dropped_at_any_depth_and_in_any_branch() -> None:
    data = {"title": "成交结果公告", "winner_name": "浙江某建设有限公司", "reserve_price": RESERVE_PRICE,
            "terms": {"deposit": "10%", "floor": RESERVE_PRICE}, "note": SECRET_NOTE, "reviewer": "审核人甲"}

    public = disclosure.public_data(RESULT_FORM, data)

    assert public == {"title": "成交结果公告", "winner_name": "浙江某建设有限公司", "terms": {"deposit": "10%"}}
    assert data["reserve_price"] == RESERVE_PRICE  # the submitted data itself is left alone


def test_confidential_items_of_arrays_are_dropped() -> None:
    schema = {"type": "object", "properties": {"lots": {"type": "array", "items": {
        "type": "object", "properties": {"name": {"type": "string"},
                                         "reserve": {"type": "string", "x-ggzy-confidential": True}}}}}}

    public = disclosure.public_data(schema, {"lots": [{"name": "一号地块", "reserve": "99"}, {"name": "二号地块"}]})

    assert public == {"lots": [{"name": "一号地块"}, {"name": "二号地块"}]}


def test_labels_come_from_the_form_titles_of_published_fields() -> None:
    assert disclosure.labels(RESULT_FORM, {"winner_name": "x", "unknown": 1}) == {"winner_name": "成交人"}


def test_a_publish_condition_decides_which_completions_publish() -> None:
    schema = {"type": "object", disclosure.PUBLISH_WHEN_KEY: {
        "properties": {"action": {"const": "clarify"}}, "required": ["action"]}}

    assert disclosure.should_publish(schema, {"action": "clarify"})
    assert not disclosure.should_publish(schema, {"action": "objection"})
    assert not disclosure.should_publish(schema, {})
    assert disclosure.should_publish({"type": "object"}, {})


def test_a_missing_title_becomes_the_kinds_title_with_the_trade_code() -> None:
    title, body, rest = disclosure.title_and_body("result", "330100-G-2026-000001", {"x": 1, "body": ""})

    assert title == "交易结果公告（330100-G-2026-000001）" and body is None and rest == {"x": 1}
    title, body, rest = disclosure.title_and_body("announcement", "C", {"title": " 招标公告 ", "body": "正文"})
    assert (title, body, rest) == ("招标公告", "正文", {})


def test_deploy_rules_for_a_publishing_task() -> None:
    titled = {"type": "object", "properties": {"title": {"type": "string"}}}

    assert disclosure.form_errors(None, "userTask", None) == []
    assert disclosure.form_errors("announcement", "userTask", titled) == []
    assert disclosure.form_errors("result", "serviceTask", None) == []
    assert "未知的公开类型" in disclosure.form_errors("gossip", "userTask", titled)[0]
    assert "须有表单" in disclosure.form_errors("announcement", "userTask", None)[0]
    assert "title" in disclosure.form_errors("announcement", "userTask", {"type": "object", "properties": {}})[0]
    assert "只能用于" in disclosure.form_errors("announcement", "startEvent", titled)[0]
    secret_title = {"type": "object", "properties": {"title": {"type": "string", "x-ggzy-confidential": True}}}
    assert "保密" in disclosure.form_errors("announcement", "userTask", secret_title)[0]
    bad_condition = {**titled, disclosure.PUBLISH_WHEN_KEY: {"type": 12}}
    assert "不是有效的 JSON Schema" in disclosure.form_errors("change", "userTask", bad_condition)[0]


def test_ocid_carries_the_unified_trading_code() -> None:
    ocid = disclosure.ocid("330100-G-2026-000001")

    assert ocid == "ocds-ggzy01-330100-G-2026-000001"
    assert disclosure.trade_code_of(ocid) == "330100-G-2026-000001"
    assert disclosure.trade_code_of("ocds-other-1") is None
