"""What a published item may contain: kinds, confidential fields, labels, the OCDS identifier (pure rules)."""
from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from domain.forms import SEALED_KEY

CONFIDENTIAL_KEY = "x-ggzy-confidential"
# A form may publish only some completions, e.g. a bid-period form only when a clarification is issued:
# a JSON Schema the submitted data must match for the completion to be published.
PUBLISH_WHEN_KEY = "x-ggzy-publish-when"

KINDS: dict[str, str] = {
    "announcement": "招标/采购/出让/转让公告",
    "change": "变更/澄清公告",
    "prequalification": "资格预审结果",
    "candidates": "中标候选人公示",
    "result": "中标/成交/出让结果",
    "contract": "合同公告",
    "termination": "终止公告",
    "performance": "履约信息",
}

# The default title of an item whose form has no title filled in.
DEFAULT_TITLES: dict[str, str] = {
    "announcement": "交易公告",
    "change": "变更公告",
    "prequalification": "资格预审结果公告",
    "candidates": "中标候选人公示",
    "result": "交易结果公告",
    "contract": "合同公告",
    "termination": "终止公告",
    "performance": "履约信息公告",
}

CATEGORIES: dict[str, str] = {
    "G": "工程建设",
    "Z": "政府采购",
    "D": "政府采购",
    "L": "土地使用权",
    "K": "矿业权",
    "P": "国有产权",
}

# What a service task carrying ggzy:publish may publish of the values it returned: the trade outcome
# variables of the shared conventions, nothing else (a service sees every process variable).
SERVICE_PUBLIC_KEYS = (
    "winner_uscc", "winner_name", "award_amount", "budget_amount", "bidder_count", "trade_failed",
    "failure_reason", "auction_outcome", "bid_count",
)

OCID_PREFIX = "ocds-ggzy01-"
TITLE_MAX = 500


def ocid(trade_code: str) -> str:
    """The OCDS contracting process identifier of a trade: the registered prefix and the unified code."""
    return f"{OCID_PREFIX}{trade_code}"


def trade_code_of(ocid_value: str) -> str | None:
    """The unified trading code inside an ocid of this platform, or None."""
    if not ocid_value.startswith(OCID_PREFIX):
        return None
    return ocid_value[len(OCID_PREFIX):] or None


def public_data(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """The submitted data without every field the form marks confidential, at any depth."""
    if not schema:
        return copy.deepcopy(data)
    stripped = _strip(schema, data, schema)
    return stripped if isinstance(stripped, dict) else {}


def _strip(schema: Any, value: Any, root: dict[str, Any]) -> Any:
    schema = _deref(schema, root)
    if not isinstance(schema, dict):
        return copy.deepcopy(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        properties = schema.get("properties") or {}
        for name, item in value.items():
            sub = _deref(properties.get(name), root)
            if _confidential(sub) or _confidential_anywhere(schema, name, root):
                continue
            out[name] = _strip(sub, item, root) if sub is not None else copy.deepcopy(item)
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [_strip(items, v, root) for v in value]
    return copy.deepcopy(value)


def _confidential(sub: Any) -> bool:
    # A sealed value (底价) is never published either, even on a form that forgot to mark it confidential.
    return isinstance(sub, dict) and (sub.get(CONFIDENTIAL_KEY) is True or sub.get(SEALED_KEY) is True)


def _confidential_anywhere(schema: dict[str, Any], name: str, root: dict[str, Any]) -> bool:
    # A field declared in allOf/anyOf/oneOf/then/else branches counts as well: a secret stays secret
    # whichever branch of the form declares it.
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            branch = _deref(branch, root)
            if isinstance(branch, dict) and _declares_confidential(branch, name, root):
                return True
    for key in ("then", "else"):
        branch = _deref(schema.get(key), root)
        if isinstance(branch, dict) and _declares_confidential(branch, name, root):
            return True
    return False


def _declares_confidential(branch: dict[str, Any], name: str, root: dict[str, Any]) -> bool:
    if _confidential(_deref((branch.get("properties") or {}).get(name), root)):
        return True
    return _confidential_anywhere(branch, name, root)


def _deref(schema: Any, root: dict[str, Any]) -> Any:
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        node: Any = root
        for part in schema["$ref"][2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        return node
    return schema


def labels(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, str]:
    """The form's label (title) of each published top-level field."""
    properties = (schema or {}).get("properties") or {}
    return {name: str(properties[name]["title"]) for name in data
            if isinstance(properties.get(name), dict) and properties[name].get("title")}


def should_publish(schema: dict[str, Any] | None, data: dict[str, Any]) -> bool:
    """True unless the form names a condition (x-ggzy-publish-when) that the submitted data does not meet."""
    condition = (schema or {}).get(PUBLISH_WHEN_KEY)
    if not isinstance(condition, dict):
        return True
    return Draft202012Validator(condition).is_valid(data)


def title_and_body(kind: str, trade_code: str, data: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """Title, body and the remaining fields of an item; a form without a title gets the kind's default."""
    rest = dict(data)
    title = str(rest.pop("title", "") or "").strip()
    body = rest.pop("body", None)
    if not title:
        title = f"{DEFAULT_TITLES[kind]}（{trade_code}）"
    return title[:TITLE_MAX], (str(body) if body not in (None, "") else None), rest


def form_errors(kind: str | None, element_type: str, schema: dict[str, Any] | None) -> list[str]:
    """Why a task cannot carry ggzy:publish=kind (deploy check); empty when it can."""
    if kind is None:
        return []
    if kind not in KINDS:
        return [f"未知的公开类型 ggzy:publish={kind!r}（可用：{', '.join(KINDS)}）"]
    if element_type == "serviceTask":
        return []
    if element_type not in ("userTask", "manualTask"):
        return [f"ggzy:publish 只能用于用户任务或服务任务，而不是 {element_type}"]
    if schema is None:
        return ["发布信息的用户任务须有表单（camunda:formKey），公开内容取自表单提交的数据"]
    title = (schema.get("properties") or {}).get("title")
    if not isinstance(title, dict) or title.get("type") != "string":
        return ["发布信息的表单须有字符串字段 title（公告标题）"]
    if title.get(CONFIDENTIAL_KEY) is True:
        return ["公告标题 title 不能标记为保密字段"]
    condition = schema.get(PUBLISH_WHEN_KEY)
    if condition is not None:
        try:
            Draft202012Validator.check_schema(condition)
        except SchemaError as exc:
            return [f"表单的 {PUBLISH_WHEN_KEY} 不是有效的 JSON Schema：{exc.message}"]
    return []
