"""Market entities and credit lists: which qualification counts and which listing blocks, on a given day."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.errors import Invalid

LISTS: dict[str, str] = {"black": "信用黑名单", "red": "信用红名单"}

# The market roles an organisation may hold on the platform (a subset of domain.access.ROLES).
ENTITY_ROLES: dict[str, str] = {
    "purchaser": "招标人/采购人/出让人/转让方",
    "agency": "招标代理/采购代理机构",
    "bidder": "投标人/供应商/竞买人/受让方",
}


@dataclass(frozen=True)
class Listing:
    """What a credit listing says, as published by its source."""

    list: str
    source: str
    reason: str
    document_no: str | None
    valid_from: date
    valid_until: date | None
    revoked_at: datetime | None = None


def check_period(valid_from: date, valid_until: date | None, what: str = "有效期") -> None:
    """A period ends on or after the day it starts (both days inclusive; no end means indefinite)."""
    if valid_until is not None and valid_until < valid_from:
        message = f"{what}的截止日期 {valid_until.isoformat()} 早于起始日期 {valid_from.isoformat()}"
        raise Invalid(message, [{"field": "valid_until", "message": message}])


def in_period(valid_from: date, valid_until: date | None, day: date) -> bool:
    """True when the day lies in the inclusive period."""
    return valid_from <= day and (valid_until is None or day <= valid_until)


def in_force(listing: Listing, at: datetime, day: date) -> bool:
    """A listing counts on `day` (the local date of `at`) unless it has lapsed or was revoked by `at`."""
    if listing.revoked_at is not None and listing.revoked_at <= at:
        return False
    return in_period(listing.valid_from, listing.valid_until, day)


def describe(listing: Listing) -> str:
    """The listing as users read it: source, document number, reason and validity."""
    parts = [f"来源：{listing.source}"]
    if listing.document_no:
        parts.append(f"文号：{listing.document_no}")
    parts.append(f"事由：{listing.reason}")
    if listing.valid_until is None:
        parts.append(f"有效期自 {listing.valid_from.isoformat()} 起长期有效")
    else:
        parts.append(f"有效期 {listing.valid_from.isoformat()} 至 {listing.valid_until.isoformat()}")
    return "，".join(parts)


def blacklist_message(uscc: str, name: str | None, listings: list[Listing], action: str) -> str:
    """The refusal that names every listing in force, e.g. 该主体被列入信用黑名单（来源：…），不得参与投标."""
    who = f"{name}（统一社会信用代码 {uscc}）" if name else f"统一社会信用代码为 {uscc} 的主体"
    named = "；".join(f"（{describe(item)}）" for item in listings)
    return f"{who}被列入{LISTS['black']}{named}，不得{action}"


def optional_text(data: dict[str, Any], field: str, limit: int) -> str | None:
    """A stripped text field, None when absent or blank; Invalid when not text or too long."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} 必须是文本", [{"field": field, "message": "必须是文本"}])
    value = value.strip()
    if len(value) > limit:
        raise Invalid(f"{field} 不能超过 {limit} 个字符", [{"field": field, "message": f"最多 {limit} 个字符"}])
    return value or None


def text_field(data: dict[str, Any], field: str, limit: int) -> str:
    """A required text field."""
    value = optional_text(data, field, limit)
    if not value:
        raise Invalid(f"{field} 不能为空", [{"field": field, "message": "必填"}])
    return value


def date_field(value: Any, field: str, required: bool = False) -> date | None:
    """A date given as a date or as YYYY-MM-DD; a datetime is refused, its day would depend on the zone."""
    if value is None or value == "":
        if required:
            raise Invalid(f"{field} 不能为空", [{"field": field, "message": "必填，格式 YYYY-MM-DD"}])
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"{field} 不是有效日期", [{"field": field, "message": "格式 YYYY-MM-DD"}]) from None
