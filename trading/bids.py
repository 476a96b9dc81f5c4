"""Sealed electronic bids (电子投标文件): deadlines, statuses, receipts and the decryption window, as pure rules.

The law behind it: 招标投标法 第二十八条 (bids arriving after the deadline are refused), 第二十九条 (a bidder
may supplement, modify or withdraw before the deadline), 电子招标投标办法 第二十六条 (the platform keeps bids
secret and issues a receipt with the server time), 第三十一条 (a bid the bidder fails to decrypt is treated as
withdrawn).

Times: the deadline is a process variable, ISO 8601 with offset; a date alone means 24:00 of that day and a
time without offset means wall-clock time, both in the platform zone (Asia/Shanghai). The server clock decides,
to the second: a bid is late when the clock, truncated to whole seconds, is at or after the deadline, so at
09:30:00 exactly a 09:30 deadline has passed.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from domain.errors import BadRequest, Conflict, DomainError, Invalid

SUBMITTED = "submitted"
SUPERSEDED = "superseded"
WITHDRAWN = "withdrawn"
DECRYPTED = "decrypted"
NOT_DECRYPTED = "not_decrypted"
STATUSES = (SUBMITTED, SUPERSEDED, WITHDRAWN, DECRYPTED, NOT_DECRYPTED)
STATUS_NAMES = {
    SUBMITTED: "已递交", SUPERSEDED: "已被替换", WITHDRAWN: "已撤回", DECRYPTED: "已解密",
    NOT_DECRYPTED: "未解密（视为撤回）",
}
# Bids that count at the deadline (开标): submitted and still in force.
AT_OPENING = (SUBMITTED, DECRYPTED)

NOT_DECRYPTED_REASON = (
    "《电子招标投标办法》第三十一条：因投标人原因造成投标文件未解密的，视为撤销其投标文件"
)

DEFAULT_MIN_BIDDERS_RULE = "cons.min_bidders"
DEFAULT_DECRYPT_MINUTES = 60
DEFAULT_LOT = "1"
MAX_FINGERPRINT = 200


class BidTooLarge(DomainError):
    """413: the bid file exceeds the platform's size limit."""

    code = "payload_too_large"


def parse_deadline(value: Any, tz: tzinfo) -> datetime:
    """A deadline variable as an aware datetime: a bare date is 24:00 of that day, a naive time is local."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return datetime.combine(value + timedelta(days=1), time.min, tz)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text) + timedelta(days=1), time.min, tz)
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(f"投标截止时间 {value!r} 不是有效的 ISO 8601 时间") from None
    else:
        raise Conflict("该交易尚未设置投标截止时间（流程变量 bid_deadline）")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def has_passed(deadline: datetime, now: datetime) -> bool:
    """True once the server clock, to the whole second, has reached the deadline."""
    return now.replace(microsecond=0) >= deadline


def local_text(moment: datetime, tz: tzinfo) -> str:
    """A time as users read it: 2026-12-01 09:30:00（北京时间）."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


def require_open(deadline: datetime, now: datetime, tz: tzinfo, doing: str = "递交") -> None:
    """Refuse an upload, replacement or withdrawal once the deadline has passed (招标投标法 第二十八条)."""
    if has_passed(deadline, now):
        raise Conflict(
            f"投标截止时间 {local_text(deadline, tz)} 已过，不能{doing}投标文件（服务器时间 {local_text(now, tz)}）",
            {"bid_deadline": deadline.isoformat(), "server_time": now.isoformat()},
        )


def require_closed(deadline: datetime, now: datetime, tz: tzinfo) -> None:
    """Refuse any look at the bids (list, count, content) before the deadline (电子招标投标办法 第二十六条)."""
    if not has_passed(deadline, now):
        raise Conflict(
            f"投标截止时间 {local_text(deadline, tz)} 前，任何人不得查看投标文件、投标人名单或投标数量",
            {"bid_deadline": deadline.isoformat()},
        )


def decrypt_until(opened_at: datetime, minutes: Any) -> datetime:
    """The end of the decryption window set in the tender documents."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise Invalid(f"解密时限 decrypt_minutes 必须是正整数（分钟），而不是 {minutes!r}")
    return opened_at.replace(microsecond=0) + timedelta(minutes=minutes)


def require_in_window(opened_at: datetime | None, until: datetime | None, now: datetime, tz: tzinfo) -> None:
    """Decryption is allowed from the opening until the window's end, exclusive, to the second."""
    if opened_at is None or until is None:
        raise Conflict("尚未开标，不能解密投标文件")
    if has_passed(until, now):
        raise Conflict(f"解密时限 {local_text(until, tz)} 已过，不能再解密投标文件",
                       {"decrypt_until": until.isoformat()})


def receipt_no(now: datetime, tz: tzinfo) -> str:
    """A receipt number that says when, never who: TB + local time to the second + 8 random hex digits."""
    return "TB" + now.astimezone(tz).strftime("%Y%m%d%H%M%S") + secrets.token_hex(4).upper()


def clean_lot(lot: Any) -> str:
    """A lot (标段) id: short text, "1" when absent."""
    text = str(lot).strip() if lot is not None else ""
    if not text:
        return DEFAULT_LOT
    if len(text) > 40:
        raise Invalid("标段编号过长（最多 40 个字符）")
    return text


def clean_fingerprint(value: str | None) -> str | None:
    """The device fingerprint header, trimmed; None when absent or blank."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_FINGERPRINT:
        raise BadRequest(f"设备指纹过长（最多 {MAX_FINGERPRINT} 个字符）")
    return text
