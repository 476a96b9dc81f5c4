"""domain.forms: schema checks, Chinese per-field messages, statutory date rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.errors import Invalid, StatuteViolation
from domain.forms import check_schema, load_form_file, validate

# ------------------------------------------------------------------------------------------- fakes


@dataclass(frozen=True)
class FakeRule:
    id: str
    kind: str
    n: int
    citation: str
    title: str


class FakeStatutes:
    """Calendar-day MIN rules only: enough to see that forms calls check_min with the right dates."""

    def __init__(self) -> None:
        self.table = {
            "cons.bid_period": FakeRule("cons.bid_period", "MIN", 20, "TBL 24", "投标文件编制期"),
            "cons.contract": FakeRule("cons.contract", "MAX", 30, "TBL 46", "合同签订期限"),
        }
        self.calls: list[tuple[str, date, date, Any]] = []

    def rule_exists(self, rule_id: str) -> bool:
        return rule_id in self.table

    def get_rule(self, rule_id: str) -> FakeRule:
        return self.table[rule_id]

    def check_min(self, rule: FakeRule, from_date: date, to_date: date, cal: Any) -> None:
        self.calls.append((rule.id, from_date, to_date, cal))
        earliest = from_date + timedelta(days=rule.n)
        if to_date < earliest:
            raise StatuteViolation(
                f"{rule.title}不得少于 {rule.n} 日，最早 {earliest.isoformat()}",
                rule=rule.id,
                citation=rule.citation,
                errors={"earliest": earliest.isoformat()},
            )


CAL = object()  # the fake calendar: forms only passes it through


def errors_of(schema: dict[str, Any], data: Any, **kw: Any) -> list[dict[str, Any]]:
    with pytest.raises(Invalid) as info:
        validate(schema, data, **kw)
    assert info.value.message == "表单数据有误"
    assert not isinstance(info.value, StatuteViolation)
    return list(info.value.errors)


def one_error(prop: dict[str, Any], value: Any) -> dict[str, Any]:
    """The single error a one-field form gives for `value`."""
    errors = errors_of({"type": "object", "properties": {"x": prop}}, {"x": value})
    assert len(errors) == 1, errors
    assert errors[0]["field"] == "/x"
    return errors[0]


# ----------------------------------------------------------------------------------- plain messages


def test_required_points_at_the_missing_property_and_uses_its_title() -> None:
    schema = {
        "type": "object",
        "properties": {
            "bid_deadline": {"type": "string", "title": "投标截止时间"},
            "remark": {"type": "string"},
        },
        "required": ["bid_deadline", "remark"],
    }
    assert errors_of(schema, {}) == [
        {"field": "/bid_deadline", "message": "投标截止时间：必填项", "keyword": "required"},
        {"field": "/remark", "message": "缺少必填字段：remark", "keyword": "required"},
    ]


@pytest.mark.parametrize(
    ("declared", "value", "message"),
    [
        ("number", "12", "应为数字"),
        ("integer", 1.5, "应为整数"),
        ("string", 5, "应为字符串"),
        ("boolean", "yes", "应为布尔值（true/false）"),
        ("array", {}, "应为数组"),
        ("object", [], "应为对象"),
        (["integer", "null"], "x", "应为整数或空值"),
    ],
)
def test_type(declared: Any, value: Any, message: str) -> None:
    assert one_error({"type": declared}, value) == {"field": "/x", "message": message, "keyword": "type"}


@pytest.mark.parametrize(
    ("prop", "value", "keyword", "message"),
    [
        ({"minimum": 0}, -1, "minimum", "不能小于 0"),
        ({"maximum": 100}, 101, "maximum", "不能大于 100"),
        ({"exclusiveMinimum": 0}, 0, "exclusiveMinimum", "必须大于 0"),
        ({"exclusiveMaximum": 1}, 1, "exclusiveMaximum", "必须小于 1"),
        ({"minLength": 1}, "", "minLength", "不能为空"),
        ({"minLength": 18}, "123", "minLength", "长度不能少于 18 个字符"),
        ({"maxLength": 4}, "12345", "maxLength", "长度不能超过 4 个字符"),
        ({"pattern": "^[0-9A-Z]{18}$"}, "abc", "pattern", "格式不正确"),
        ({"enum": ["公开招标", "邀请招标"]}, "竞价", "enum", "只能是以下值之一：公开招标、邀请招标"),
        ({"enum": [1, 2, None]}, 3, "enum", "只能是以下值之一：1、2、null"),
        ({"const": "同意"}, "不同意", "const", "只能是 同意"),
        ({"multipleOf": 0.01}, 1.234, "multipleOf", "应为 0.01 的整数倍"),
        ({"minItems": 3}, [1], "minItems", "至少需要 3 项"),
        ({"maxItems": 1}, [1, 2], "maxItems", "最多只能有 1 项"),
        ({"uniqueItems": True}, [1, 1], "uniqueItems", "不能有重复项"),
        ({"format": "email"}, "not-an-email", "format", "应为电子邮箱地址"),
    ],
)
def test_keyword_messages(prop: dict[str, Any], value: Any, keyword: str, message: str) -> None:
    assert one_error(prop, value) == {"field": "/x", "message": message, "keyword": keyword}


def test_title_prefixes_the_message() -> None:
    error = one_error({"type": "string", "format": "date-time", "title": "投标截止时间"}, "明天上午")
    assert error["message"].startswith("投标截止时间：应为日期时间")
    assert error["keyword"] == "format"


@pytest.mark.parametrize(
    "value", ["2026-02-30", "2026/03/01", "20260301", "2026-3-1", "2026-03-01T09:00:00+08:00"]
)
def test_format_date_is_enforced(value: str) -> None:
    assert one_error({"type": "string", "format": "date"}, value)["message"] == "应为日期，格式 YYYY-MM-DD"


@pytest.mark.parametrize(
    "value",
    ["2026-03-01", "2026-03-01T09:00:00", "2026-03-01 09:00:00+08:00", "2026-03-01T25:00:00+08:00", "x"],
)
def test_format_date_time_is_enforced_and_needs_an_offset(value: str) -> None:
    error = one_error({"type": "string", "format": "date-time"}, value)
    assert error["message"] == "应为日期时间，格式 YYYY-MM-DDTHH:MM:SS+08:00"


def test_well_formed_dates_pass() -> None:
    schema = {
        "type": "object",
        "properties": {
            "d": {"type": "string", "format": "date"},
            "t": {"type": "array", "items": {"type": "string", "format": "date-time"}},
        },
    }
    data = {
        "d": "2024-02-29",
        "t": ["2026-03-01T09:30:00+08:00", "2026-03-01T01:30:00Z", "2026-03-01t01:30:00.5z"],
    }
    assert validate(schema, data) == data


def test_additional_properties_names_each_extra_field() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "patternProperties": {"^note_": {"type": "string"}},
        "additionalProperties": False,
    }
    assert errors_of(schema, {"a": "ok", "note_1": "fine", "b": 1, "c": 2}) == [
        {"field": "/b", "message": "不允许的字段：b", "keyword": "additionalProperties"},
        {"field": "/c", "message": "不允许的字段：c", "keyword": "additionalProperties"},
    ]


def test_unknown_keyword_falls_back_to_jsonschema_words() -> None:
    error = one_error({"oneOf": [{"type": "string"}, {"type": "integer"}]}, 1.5)
    assert error["keyword"] == "oneOf"
    assert error["message"].startswith("不符合要求（")
    assert "is not valid under any of the given schemas" in error["message"]


def test_nested_objects_and_arrays_get_json_pointers() -> None:
    schema = {
        "type": "object",
        "properties": {
            "supplier": {
                "type": "object",
                "properties": {
                    "contact": {
                        "type": "object",
                        "properties": {
                            "phone": {"type": "string", "pattern": "^1[0-9]{10}$", "title": "手机号"}
                        },
                        "required": ["phone", "name"],
                    }
                },
            },
            "lots": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"price": {"type": "number", "minimum": 0, "title": "报价"}},
                    "required": ["price"],
                },
            },
            "a/b~c": {"type": "integer"},
        },
    }
    data = {
        "supplier": {"contact": {"phone": "12"}},
        "lots": [{"price": 1}, {"price": -5}, {}],
        "a/b~c": "x",
    }
    assert errors_of(schema, data) == [
        {"field": "/supplier/contact/phone", "message": "手机号：格式不正确", "keyword": "pattern"},
        {"field": "/supplier/contact/name", "message": "缺少必填字段：name", "keyword": "required"},
        {"field": "/lots/1/price", "message": "报价：不能小于 0", "keyword": "minimum"},
        {"field": "/lots/2/price", "message": "报价：必填项", "keyword": "required"},
        {"field": "/a~1b~0c", "message": "应为整数", "keyword": "type"},
    ]


def test_all_errors_are_collected_at_once() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "title": "项目名称", "minLength": 1},
            "budget": {"type": "number", "title": "预算金额", "minimum": 0},
            "open_at": {"type": "string", "format": "date-time", "title": "开标时间"},
            "method": {"enum": ["公开招标", "邀请招标"], "title": "招标方式"},
        },
        "required": ["name", "budget", "open_at", "method", "agency"],
        "additionalProperties": False,
    }
    errors = errors_of(schema, {"name": "", "budget": -1, "open_at": "2026-03-01", "method": "x", "y": 1})
    assert {(e["field"], e["keyword"]) for e in errors} == {
        ("/name", "minLength"),
        ("/budget", "minimum"),
        ("/open_at", "format"),
        ("/method", "enum"),
        ("/agency", "required"),
        ("/y", "additionalProperties"),
    }
    assert all(set(e) == {"field", "message", "keyword"} for e in errors)


def test_the_whole_document_is_the_empty_pointer() -> None:
    assert errors_of({"type": "object"}, [1]) == [{"field": "", "message": "应为对象", "keyword": "type"}]


def test_defaults_fill_missing_optional_top_level_properties() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "currency": {"type": "string", "default": "CNY"},
            "tags": {"type": "array", "default": []},
            "given": {"type": "string", "default": "unused"},
            "needed": {"type": "string", "default": "unused"},
        },
        "required": ["needed"],
    }
    data = {"given": "mine", "needed": "here"}
    result = validate(schema, data)
    assert result == {"given": "mine", "needed": "here", "currency": "CNY", "tags": []}
    assert data == {"given": "mine", "needed": "here"}  # the caller's dict is untouched
    result["tags"].append(1)
    assert schema["properties"]["tags"]["default"] == []  # and so is the schema's default


# ------------------------------------------------------------------------------------ statutory rules

BID_FORM = {
    "type": "object",
    "properties": {
        "docs_issued_on": {"type": "string", "format": "date", "title": "招标文件发出日期"},
        "bid_deadline": {
            "type": "string",
            "format": "date-time",
            "title": "投标截止时间",
            "x-ggzy-rule": "cons.bid_period",
            "x-ggzy-from": "docs_issued_on",
        },
    },
    "required": ["bid_deadline"],
}


def test_min_rule_violation_carries_rule_citation_and_field() -> None:
    statutes = FakeStatutes()
    data = {"docs_issued_on": "2026-03-02", "bid_deadline": "2026-03-21T09:30:00+08:00"}
    with pytest.raises(StatuteViolation) as info:
        validate(BID_FORM, data, calendar=CAL, rules=statutes)
    e = info.value
    assert (e.rule, e.citation) == ("cons.bid_period", "TBL 24")
    assert e.errors == [
        {
            "field": "/bid_deadline",
            "keyword": "x-ggzy-rule",
            "rule": "cons.bid_period",
            "message": "投标截止时间：投标文件编制期不得少于 20 日，最早 2026-03-22",
            "earliest": "2026-03-22",
        }
    ]
    assert statutes.calls == [("cons.bid_period", date(2026, 3, 2), date(2026, 3, 21), CAL)]


def test_compliant_date_passes() -> None:
    statutes = FakeStatutes()
    data = {"docs_issued_on": "2026-03-02", "bid_deadline": "2026-03-22T09:30:00+08:00"}
    assert validate(BID_FORM, data, calendar=CAL, rules=statutes) == data
    assert len(statutes.calls) == 1


def test_from_date_may_come_from_the_process_variables() -> None:
    statutes = FakeStatutes()
    data = {"bid_deadline": "2026-03-21T09:30:00+08:00"}
    with pytest.raises(StatuteViolation):
        validate(BID_FORM, data, context={"docs_issued_on": "2026-03-02"}, calendar=CAL, rules=statutes)
    assert (
        validate(BID_FORM, data, context={"docs_issued_on": "2026-03-01"}, calendar=CAL, rules=statutes)
        == data
    )


def test_a_field_of_the_form_wins_over_a_process_variable() -> None:
    statutes = FakeStatutes()
    data = {"docs_issued_on": "2026-03-01", "bid_deadline": "2026-03-21T09:30:00+08:00"}
    validate(BID_FORM, data, context={"docs_issued_on": "2026-03-10"}, calendar=CAL, rules=statutes)
    assert statutes.calls[0][1] == date(2026, 3, 1)


def test_datetimes_count_in_shanghai() -> None:
    statutes = FakeStatutes()
    # 16:30 UTC on the 21st is 00:30 on the 22nd in Shanghai: the deadline day is the 22nd.
    data = {"bid_deadline": "2026-03-21T16:30:00Z"}
    validate(
        BID_FORM, data, context={"docs_issued_on": "2026-03-02T01:00:00+09:00"}, calendar=CAL, rules=statutes
    )
    assert statutes.calls[0][1:3] == (date(2026, 3, 2), date(2026, 3, 22))


def test_no_from_date_no_statutory_check() -> None:
    statutes = FakeStatutes()
    validate(BID_FORM, {"bid_deadline": "2026-03-03T09:00:00+08:00"}, calendar=CAL, rules=statutes)
    assert statutes.calls == []


def test_statutory_check_waits_for_a_clean_form() -> None:
    statutes = FakeStatutes()
    data = {"docs_issued_on": "2026-03-02", "bid_deadline": "2026-03-03"}  # not a date-time
    errors = errors_of(BID_FORM, data, calendar=CAL, rules=statutes)
    assert [e["field"] for e in errors] == ["/bid_deadline"]
    assert statutes.calls == []


def test_unparseable_start_date_is_refused_not_skipped() -> None:
    data = {"bid_deadline": "2026-03-21T09:30:00+08:00"}
    errors = errors_of(BID_FORM, data, context={"docs_issued_on": "soon"}, calendar=CAL, rules=FakeStatutes())
    assert errors[0]["field"] == "/bid_deadline"
    assert "docs_issued_on" in errors[0]["message"]


def test_rules_inside_array_items_point_at_the_item() -> None:
    schema = {
        "type": "object",
        "properties": {
            "lots": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "issued_on": {"type": "string", "format": "date"},
                        "closes_on": {
                            "type": "string",
                            "format": "date",
                            "x-ggzy-rule": "cons.bid_period",
                            "x-ggzy-from": "issued_on",
                        },
                    },
                },
            }
        },
    }
    lots = [
        {"issued_on": "2026-03-01", "closes_on": "2026-03-21"},
        {"issued_on": "2026-03-01", "closes_on": "2026-03-20"},
    ]
    with pytest.raises(StatuteViolation) as info:
        validate(schema, {"lots": lots}, calendar=CAL, rules=FakeStatutes())
    assert info.value.errors[0]["field"] == "/lots/1/closes_on"
    assert info.value.errors[0]["message"].startswith("closes_on：")


def test_non_min_rules_are_not_checked_here() -> None:
    statutes = FakeStatutes()
    schema = {
        "type": "object",
        "properties": {
            "signed_on": {
                "type": "string",
                "format": "date",
                "x-ggzy-rule": "cons.contract",
                "x-ggzy-from": "a",
            }
        },
    }
    validate(schema, {"signed_on": "2030-01-01"}, context={"a": "2026-01-01"}, calendar=CAL, rules=statutes)
    assert statutes.calls == []


# ------------------------------------------------------------------------------------- check_schema


def test_a_good_form_is_accepted() -> None:
    check_schema(BID_FORM, rules=FakeStatutes())


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ({"type": "object", "properties": {"a": {"type": "strnig"}}}, "/properties/a/type"),
        ({"type": "object", "required": "a"}, "/required"),
        ({"type": "object", "properties": {"a": {"minimum": "zero"}}}, "/properties/a/minimum"),
    ],
)
def test_an_invalid_schema_is_refused(schema: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as info:
        check_schema(schema, rules=FakeStatutes())
    assert info.value.message == "表单不是有效的 JSON Schema"
    assert info.value.errors[0]["field"] == field
    assert info.value.errors[0]["message"].startswith("不符合 JSON Schema 2020-12（")


@pytest.mark.parametrize("schema", [{"type": "array"}, {"properties": {}}, True, []])
def test_a_form_must_be_an_object_schema(schema: Any) -> None:
    with pytest.raises(Invalid) as info:
        check_schema(schema, rules=FakeStatutes())
    assert info.value.message == "表单不是有效的 JSON Schema"


def test_unknown_rule_id_is_refused_naming_field_and_rule() -> None:
    schema = {
        "type": "object",
        "properties": {
            "bid_deadline": {"type": "string", "x-ggzy-rule": "cons.no_such_rule", "x-ggzy-from": "x"},
            "ok": {"type": "string", "x-ggzy-rule": "cons.bid_period", "x-ggzy-from": "x"},
        },
        "$defs": {"lot": {"properties": {"default": {"x-ggzy-rule": "gp.nope"}}}},
    }
    with pytest.raises(Invalid) as info:
        check_schema(schema, rules=FakeStatutes())
    errors = info.value.errors
    assert [e["field"] for e in errors] == ["/properties/bid_deadline", "/$defs/lot/properties/default"]
    assert "bid_deadline" in errors[0]["message"] and "cons.no_such_rule" in errors[0]["message"]
    assert "gp.nope" in errors[1]["message"]


def test_from_without_rule_is_refused() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "x-ggzy-from": "b"}}}
    with pytest.raises(Invalid) as info:
        check_schema(schema, rules=FakeStatutes())
    assert info.value.errors[0]["field"] == "/properties/a"


def test_enum_values_are_not_mistaken_for_keywords() -> None:
    schema = {"type": "object", "properties": {"a": {"enum": [{"x-ggzy-rule": "nope"}], "default": {}}}}
    check_schema(schema, rules=FakeStatutes())


# ----------------------------------------------------------------------------------- load_form_file


def test_load_form_file_returns_key_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "bid_notice.json"
    path.write_text(json.dumps(BID_FORM, ensure_ascii=False), encoding="utf-8")
    assert load_form_file(path, rules=FakeStatutes()) == ("bid_notice", BID_FORM)


def test_load_form_file_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "type": "object",\n  "properties": {,}\n}\n', encoding="utf-8")
    with pytest.raises(Invalid) as info:
        load_form_file(path)
    error = info.value.errors[0]
    assert (error["line"], error["column"]) == (3, 18)
    assert "第 3 行第 18 列" in error["message"]


def test_load_form_file_checks_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"type": "object", "properties": {"a": {"type": 5}}}', encoding="utf-8")
    with pytest.raises(Invalid, match="表单不是有效的 JSON Schema"):
        load_form_file(path)


# ----------------------------------------------------------------------------- with the real statutes


def test_real_statute_book_knows_the_contract_rule_ids() -> None:
    from domain import statutes

    check_schema(BID_FORM, rules=statutes)
    with pytest.raises(Invalid):
        check_schema(
            {"type": "object", "properties": {"a": {"x-ggzy-rule": "cons.nope", "x-ggzy-from": "b"}}},
            rules=statutes,
        )


def test_real_statute_book_and_calendar_enforce_the_bid_period() -> None:
    data = {"docs_issued_on": "2026-03-02", "bid_deadline": "2026-03-21T09:30:00+08:00"}
    with pytest.raises(StatuteViolation) as info:
        validate(BID_FORM, data)
    assert info.value.rule == "cons.bid_period"
    assert info.value.citation
    assert info.value.errors[0]["field"] == "/bid_deadline"
    assert "2026-03-22" in info.value.errors[0]["message"]
    ok = {"docs_issued_on": "2026-03-02", "bid_deadline": "2026-03-22T09:30:00+08:00"}
    assert validate(BID_FORM, ok) == ok
