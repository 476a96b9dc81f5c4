"""Task forms: JSON Schemas (Draft 2020-12) checked on deploy and applied to task data."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

from domain.errors import Invalid, StatuteViolation

RULE_KEY = "x-ggzy-rule"
FROM_KEY = "x-ggzy-from"
SEALED_KEY = "x-ggzy-sealed"  # a value masked in every view while the trade runs (services/sealing.py)


class StatuteBook(Protocol):
    """What forms need of `domain.statutes`; the module itself satisfies it, tests pass a fake."""

    def rule_exists(self, rule_id: str) -> bool: ...

    def get_rule(self, rule_id: str) -> Any: ...

    def check_min(self, rule: Any, from_date: date, to_date: date, cal: Any) -> None: ...


def _statutes() -> StatuteBook:
    # Imported late: statutes loads its rule table from data, and forms must import without it.
    from domain import statutes

    return statutes  # type: ignore[return-value]


def _default_calendar() -> Any:
    # Services that hold admin-published years pass their own calendar; this one is the seeded default.
    from domain.calendar import default_calendar

    return default_calendar()


def _zone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("GGZY_TIMEZONE") or "Asia/Shanghai")


# jsonschema only checks date-time when rfc3339-validator is installed; without it every string passes.
_FORMATS = FormatChecker()
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    # The offset is mandatory (RFC 3339): a bare local time could be any day in Asia/Shanghai.
    return bool(_DATE_TIME.fullmatch(instance)) and datetime.fromisoformat(instance.upper()) is not None


# ---------------------------------------------------------------------------------------------- schema


def check_schema(schema: dict[str, Any], *, rules: StatuteBook | None = None) -> None:
    """Refuse a form that is not a Draft 2020-12 object schema or names an unknown statutory rule."""
    if not isinstance(schema, dict):
        raise Invalid("表单不是有效的 JSON Schema", errors=[{"field": "", "message": "表单应为 JSON 对象"}])
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as e:
        message = f"不符合 JSON Schema 2020-12（{e.message}）"
        errors = [{"field": _pointer(e.absolute_path), "message": message, "keyword": str(e.validator)}]
        raise Invalid("表单不是有效的 JSON Schema", errors=errors) from None
    if schema.get("type") != "object":
        errors = [{"field": "/type", "message": '表单的顶层应为 "type": "object"', "keyword": "type"}]
        raise Invalid("表单不是有效的 JSON Schema", errors=errors)
    errors = list(_extension_errors(schema, (), rules)) + list(_ref_errors(schema, schema, ()))
    if errors:
        raise Invalid("表单不是有效的 JSON Schema", errors=errors)


def _ref_errors(node: Any, root: dict[str, Any], path: tuple[Any, ...]) -> Iterator[dict[str, str]]:
    """Every $ref must point inside the form itself: nothing is fetched, nothing is left dangling."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _ref_errors(item, root, (*path, i))
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            if not value.startswith("#") or _resolve_pointer(root, value[1:]) is _UNRESOLVED:
                yield {"field": _pointer((*path, key)), "keyword": "$ref",
                       "message": f"引用 {value} 无法在本表单内解析（只允许 #/... 形式的内部引用）"}
        elif key not in _INSTANCE_VALUES:
            yield from _ref_errors(value, root, (*path, key))


_UNRESOLVED = object()


def _resolve_pointer(root: Any, pointer: str) -> Any:
    node = root
    for raw in [p for p in pointer.split("/")[1:]] if pointer else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _UNRESOLVED
    return node


_NAME_MAPS = {"properties", "patternProperties", "dependentSchemas", "$defs", "definitions"}
_INSTANCE_VALUES = {"const", "enum", "default", "examples"}


def _extension_errors(
    node: Any, path: tuple[str | int, ...], rules: StatuteBook | None, names: bool = False
) -> Iterator[dict[str, str]]:
    # Walks every subschema, so a rule hidden in $defs or allOf is checked as well as one in properties;
    # `names` marks a map of property names, whose keys are not keywords.
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _extension_errors(item, (*path, i), rules)
        return
    if not isinstance(node, dict):
        return
    if not names:
        yield from _own_extension_errors(node, path, rules)
    for key, value in node.items():
        if names or key not in _INSTANCE_VALUES:
            yield from _extension_errors(value, (*path, key), rules, names=not names and key in _NAME_MAPS)


def _own_extension_errors(
    node: dict[str, Any], path: tuple[str | int, ...], rules: StatuteBook | None
) -> Iterator[dict[str, str]]:
    where = _pointer(path)
    name = f"{path[-1]}（{where}）" if path else "/"
    if RULE_KEY in node:
        rule_id = node[RULE_KEY]
        if not isinstance(rule_id, str) or not (rules or _statutes()).rule_exists(rule_id):
            yield {
                "field": where,
                "keyword": RULE_KEY,
                "message": f"字段 {name} 引用了未知的法定规则：{rule_id}",
            }
    if FROM_KEY in node:
        if RULE_KEY not in node:
            yield {
                "field": where,
                "keyword": FROM_KEY,
                "message": f"字段 {name}：{FROM_KEY} 须与 {RULE_KEY} 一起使用",
            }
        elif not isinstance(node[FROM_KEY], str) or not node[FROM_KEY]:
            yield {
                "field": where,
                "keyword": FROM_KEY,
                "message": f"字段 {name}：{FROM_KEY} 应为字段名或流程变量名",
            }


def load_form_file(
    path: str | os.PathLike[str], *, rules: StatuteBook | None = None
) -> tuple[str, dict[str, Any]]:
    """Read `forms/<key>.json`, check it, return (key, schema)."""
    file = Path(path)
    try:
        schema = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        where = {"field": "", "line": e.lineno, "column": e.colno}
        message = f"{file.name} 第 {e.lineno} 行第 {e.colno} 列：JSON 语法错误（{e.msg}）"
        raise Invalid(
            f"表单文件 {file.name} 不是有效的 JSON", errors=[{**where, "message": message}]
        ) from None
    check_schema(schema, rules=rules)
    return file.stem, schema


# ------------------------------------------------------------------------------------------------ data


def validate(
    schema: dict[str, Any],
    data: dict[str, Any],
    *,
    context: Mapping[str, Any] | None = None,
    calendar: Any = None,
    rules: StatuteBook | None = None,
) -> dict[str, Any]:
    """Check task data against its form; return it with top-level defaults filled in."""
    validator = Draft202012Validator(schema, format_checker=_FORMATS)
    try:
        errors = [item for e in validator.iter_errors(data) for item in _describe(e)]
    except Exception as exc:  # a stored form that cannot be applied: the form is at fault, not the data
        raise Invalid("表单定义有误，无法校验数据，请联系流程设计人员", errors=[{"field": "", "message": str(exc)}]) from exc
    if errors:
        raise Invalid("表单数据有误", errors=errors)
    # Statutory dates are compared only once both are known to be well-formed dates.
    _StatuteCheck(context or {}, calendar, rules).walk(schema, data, ())
    return _with_defaults(schema, data)


def _with_defaults(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", ()))
    filled = dict(data)
    for name, sub in schema.get("properties", {}).items():
        if name not in filled and name not in required and isinstance(sub, dict) and "default" in sub:
            filled[name] = copy.deepcopy(sub["default"])
    return filled


class _StatuteCheck:
    """The MIN date rules a form's properties carry, checked against the submitted data."""

    def __init__(self, context: Mapping[str, Any], calendar: Any, rules: StatuteBook | None) -> None:
        self.context = context
        self._calendar = calendar
        self._rules = rules

    def walk(self, schema: Any, data: Any, path: tuple[str | int, ...]) -> None:
        if not isinstance(schema, dict):
            return
        if isinstance(data, dict):
            for name, sub in schema.get("properties", {}).items():
                if name in data and isinstance(sub, dict):
                    if RULE_KEY in sub:
                        self.check(sub, data, name, (*path, name))
                    self.walk(sub, data[name], (*path, name))
        elif isinstance(data, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(data):
                self.walk(schema["items"], item, (*path, i))

    def check(
        self, sub: dict[str, Any], data: dict[str, Any], name: str, path: tuple[str | int, ...]
    ) -> None:
        rules = self.rules
        rule = rules.get_rule(sub[RULE_KEY])
        source = sub.get(FROM_KEY)
        # Only MIN rules compare two dates of a form; MAX rules become timers, COUNT and CAP live elsewhere.
        if rule.kind != "MIN" or not source:
            return
        # A field of the same object wins over a process variable of the same name: it is the newer value.
        start_value = data[source] if source in data else self.context.get(source)
        if start_value is None or data[name] is None:
            return
        field, label = _pointer(path), str(sub.get("title") or name)
        end = _as_date(data[name])
        if end is None:
            raise Invalid(
                "表单数据有误",
                errors=[{"field": field, "keyword": RULE_KEY, "message": f"{label}：应为日期"}],
            )
        start = _as_date(start_value)
        if start is None:
            message = f"{label}：起算日期 {source} 不是有效日期（{start_value!r}），无法校验法定期限"
            raise Invalid("表单数据有误", errors=[{"field": field, "keyword": RULE_KEY, "message": message}])
        try:
            rules.check_min(rule, start, end, self.calendar)
        except StatuteViolation as e:
            extra = e.errors if isinstance(e.errors, dict) else {}
            e.errors = [
                {
                    **extra,
                    "field": field,
                    "keyword": RULE_KEY,
                    "rule": e.rule,
                    "message": f"{label}：{e.message}",
                }
            ]
            raise

    @property
    def rules(self) -> StatuteBook:
        if self._rules is None:
            self._rules = _statutes()
        return self._rules

    @property
    def calendar(self) -> Any:
        if self._calendar is None:
            self._calendar = _default_calendar()
        return self._calendar


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str):
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            moment = datetime.fromisoformat(value.upper())
        except ValueError:
            return None
    else:
        return None
    # Statutory days are counted in the platform's zone, not the zone the client happened to send.
    return (moment.astimezone(_zone()) if moment.tzinfo else moment).date()


# -------------------------------------------------------------------------------------------- messages

_TYPES = {
    "string": "字符串",
    "number": "数字",
    "integer": "整数",
    "boolean": "布尔值（true/false）",
    "object": "对象",
    "array": "数组",
    "null": "空值",
}

_FORMAT_MESSAGES = {
    "date": "应为日期，格式 YYYY-MM-DD",
    "date-time": "应为日期时间，格式 YYYY-MM-DDTHH:MM:SS+08:00",
    "time": "应为时间，格式 HH:MM:SS+08:00",
    "email": "应为电子邮箱地址",
    "idn-email": "应为电子邮箱地址",
    "ipv4": "应为 IPv4 地址",
    "ipv6": "应为 IPv6 地址",
    "uuid": "应为 UUID",
    "regex": "应为正则表达式",
}


def _describe(e: ValidationError) -> Iterator[dict[str, str]]:
    keyword = str(e.validator)
    schema = e.schema if isinstance(e.schema, dict) else {}
    # required and additionalProperties are reported on the object; the user needs the property's own pointer.
    if keyword == "required":
        name = _missing_property(e)
        sub = schema.get("properties", {}).get(name)
        title = sub.get("title") if isinstance(sub, dict) else None
        message = f"{title}：必填项" if title else f"缺少必填字段：{name}"
        yield {"field": _pointer((*e.absolute_path, name)), "message": message, "keyword": keyword}
        return
    if keyword == "additionalProperties" and e.validator_value is False and isinstance(e.instance, dict):
        for name in _extra_properties(schema, e.instance):
            yield {
                "field": _pointer((*e.absolute_path, name)),
                "message": f"不允许的字段：{name}",
                "keyword": keyword,
            }
        return
    text = _text(keyword, e)
    title = schema.get("title")
    yield {
        "field": _pointer(e.absolute_path),
        "message": f"{title}：{text}" if title else text,
        "keyword": keyword,
    }


def _text(keyword: str, e: ValidationError) -> str:
    v = e.validator_value
    if keyword == "type":
        names = v if isinstance(v, list) else [v]
        return "应为" + "或".join(_TYPES.get(str(n), str(n)) for n in names)
    if keyword == "format":
        return _FORMAT_MESSAGES.get(v, f"格式不正确（应为 {v}）")
    simple = {
        "minimum": f"不能小于 {v}",
        "maximum": f"不能大于 {v}",
        "exclusiveMinimum": f"必须大于 {v}",
        "exclusiveMaximum": f"必须小于 {v}",
        "minLength": "不能为空" if v == 1 else f"长度不能少于 {v} 个字符",
        "maxLength": f"长度不能超过 {v} 个字符",
        "pattern": "格式不正确",
        "minItems": f"至少需要 {v} 项",
        "maxItems": f"最多只能有 {v} 项",
        "uniqueItems": "不能有重复项",
        "minProperties": f"至少需要 {v} 个字段",
        "maxProperties": f"最多只能有 {v} 个字段",
        "multipleOf": f"应为 {v} 的整数倍",
    }
    if keyword in simple:
        return simple[keyword]
    if keyword == "enum":
        return "只能是以下值之一：" + "、".join(_show(x) for x in v)
    if keyword == "const":
        return f"只能是 {_show(v)}"
    # Combinators and rarer keywords: a Chinese lead-in, jsonschema's own words for the detail.
    return f"不符合要求（{e.message}）"


def _missing_property(e: ValidationError) -> str:
    names = [n for n in e.validator_value if isinstance(e.instance, dict) and n not in e.instance]
    for name in names:
        if e.message == f"{name!r} is a required property":
            return str(name)
    return str(names[0]) if names else ""


def _extra_properties(schema: dict[str, Any], instance: dict[str, Any]) -> list[str]:
    known = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    return [k for k in instance if k not in known and not any(re.search(p, k) for p in patterns)]


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _pointer(path: Any) -> str:
    """RFC 6901 pointer; the whole document is the empty string."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
