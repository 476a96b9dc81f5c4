"""Live bidding (拍卖, 挂牌, 产权网络竞价) as pure rules: terms, bid validity, the effective close time, the outcome.

The law behind it: 招标拍卖挂牌出让国有建设用地使用权规定 (国土资源部令第39号) 第十五条 (拍卖: 竞买人应价,
不低于底价的最高应价者竞得), 第十九条至第二十一条 (挂牌: 报价不低于起始价且按加价幅度加价; 挂牌期限届满,
两个以上竞买人要求报价的, 现场竞价), and the exchanges' 网络竞价 rules for state-owned property (自由报价期后
限时报价: a bid in the last window of the period extends it).

Every rule here is a function of the terms and of persisted bids, so the result is the same whatever the
timing of requests: the close time is a fold over the accepted bids' server times.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from domain.errors import Conflict, Invalid
from trading import deposits as money_rules

AUCTION = "auction"
LISTING = "listing"
ONLINE = "online"
KINDS = {AUCTION: "拍卖", LISTING: "挂牌", ONLINE: "网络竞价"}

OPEN = "open"
CLOSED = "closed"

SOLD = "sold"
NO_SALE = "no_sale"
NO_BIDS = "no_bids"
OUTCOMES = {SOLD: "成交", NO_SALE: "最高报价低于底价，未成交", NO_BIDS: "无人报价，未成交"}

MAX_SECONDS = 366 * 24 * 3600


@dataclass(frozen=True)
class Terms:
    """What the documents fix before the first bid; amounts in yuan, times aware."""

    kind: str
    start_price: Decimal
    increment: Decimal
    reserve_price: Decimal | None
    starts_at: datetime
    ends_at: datetime | None = None
    quiet_seconds: int | None = None
    free_quote_until: datetime | None = None
    extend_window_seconds: int | None = None
    extend_seconds: int | None = None


def parse_terms(data: Mapping[str, Any], tz: tzinfo) -> Terms:
    """The terms from process variables (auction_kind, start_price, ...); anything inconsistent is Invalid."""
    kind = str(data.get("auction_kind") or "").strip()
    if kind not in KINDS:
        raise _invalid("auction_kind", f"竞价方式必须是 {', '.join(KINDS)} 之一（拍卖/挂牌/网络竞价）")
    start_price = money_rules.money(data.get("start_price"), "start_price")
    increment = money_rules.money(data.get("increment"), "increment")
    reserve = data.get("reserve_price")
    reserve_price = None if reserve in (None, "") else money_rules.money(reserve, "reserve_price")
    starts_at = parse_time(data.get("auction_start"), tz, "auction_start")
    if starts_at is None:
        raise _invalid("auction_start", "缺少竞价开始时间")
    ends_at = parse_time(data.get("auction_end"), tz, "auction_end")
    quiet = seconds(data.get("quiet_seconds"), "quiet_seconds")
    free_until = parse_time(data.get("free_quote_until"), tz, "free_quote_until")
    window = seconds(data.get("extend_window_seconds"), "extend_window_seconds")
    extend = seconds(data.get("extend_seconds"), "extend_seconds")
    if kind == AUCTION:
        if ends_at is None and quiet is None:
            raise _invalid("auction_end", "拍卖须设置结束时间（auction_end）或无人应价等待秒数（quiet_seconds）")
        free_until = window = extend = None
    elif kind == LISTING:
        if ends_at is None:
            raise _invalid("auction_end", "挂牌须设置挂牌截止时间（auction_end）")
        quiet = free_until = window = extend = None
    else:
        if ends_at is None or free_until is None:
            raise _invalid("auction_end", "网络竞价须设置自由报价截止时间（free_quote_until）和限时报价截止时间（auction_end）")
        if not (starts_at <= free_until <= ends_at):
            raise _invalid("free_quote_until", "自由报价截止时间须在竞价开始时间与限时报价截止时间之间")
        if window is None or extend is None:
            raise _invalid("extend_seconds", "网络竞价须设置延时窗口（extend_window_seconds）和延时秒数（extend_seconds）")
        quiet = None
    if ends_at is not None and ends_at <= starts_at:
        raise _invalid("auction_end", "竞价结束时间须晚于开始时间")
    if reserve_price is not None and reserve_price < start_price:
        # A reserve below the start price could never decide anything: every valid bid is above it.
        reserve_price = None
    return Terms(kind, start_price, increment, reserve_price, starts_at, ends_at, quiet, free_until, window, extend)


def parse_time(value: Any, tz: tzinfo, field: str) -> datetime | None:
    """An ISO 8601 variable as an aware time; a naive one is wall-clock time in tz, a bare date its 00:00."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return datetime.combine(value, time.min, tz)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise _invalid(field, f"{value!r} 不是有效的 ISO 8601 时间") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def seconds(value: Any, field: str) -> int | None:
    """A positive whole number of seconds, or None when not given."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise _invalid(field, "必须是正整数秒")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _invalid(field, "必须是正整数秒") from None
    if not 0 < number <= MAX_SECONDS:
        raise _invalid(field, "必须是正整数秒（不超过一年）")
    return number


# --- the close time ----------------------------------------------------------------------------------


def initial_close(terms: Terms) -> datetime:
    """The close time before any bid."""
    return next_close(terms, None, None)


def next_close(terms: Terms, current: datetime | None, bid_at: datetime | None) -> datetime:
    """The close time after a bid accepted at bid_at (None: before any bid), given the close time before it."""
    if bid_at is not None and bid_at < terms.starts_at:
        bid_at = None  # a quote carried over from the listing before the start moves nothing
    if terms.kind == LISTING:
        assert terms.ends_at is not None
        return terms.ends_at
    if terms.kind == AUCTION:
        candidates = []
        if terms.quiet_seconds is not None:
            candidates.append((bid_at or terms.starts_at) + timedelta(seconds=terms.quiet_seconds))
        if terms.ends_at is not None:
            candidates.append(terms.ends_at)  # a fixed end caps the quiet period
        return min(candidates)
    assert terms.ends_at is not None and terms.extend_window_seconds is not None and terms.extend_seconds is not None
    close = current or terms.ends_at
    if bid_at is not None and bid_at >= close - timedelta(seconds=terms.extend_window_seconds):
        close = max(close, bid_at + timedelta(seconds=terms.extend_seconds))
    return close


def effective_close(terms: Terms, bid_times: Iterable[datetime]) -> datetime:
    """The close time after the accepted bids, in server order: a pure function of terms and persisted bids."""
    close = initial_close(terms)
    for bid_at in bid_times:
        close = next_close(terms, close, bid_at)
    return close


def phase(terms: Terms, close: datetime, now: datetime, closed: bool) -> str:
    """scheduled, free_quote (online), open, closing (past the close time, not yet closed) or closed."""
    if closed:
        return CLOSED
    if now < terms.starts_at:
        return "scheduled"
    if now >= close:
        return "closing"
    if terms.kind == ONLINE and terms.free_quote_until is not None and now < terms.free_quote_until:
        return "free_quote"
    return OPEN


# --- bids --------------------------------------------------------------------------------------------


def check_open(terms: Terms, close: datetime, now: datetime, closed: bool, tz: tzinfo) -> None:
    """Refuse a bid before the start, at or after the effective close time, or once closed (409)."""
    if closed:
        raise Conflict("竞价已结束，不再接受报价")
    if now < terms.starts_at:
        raise Conflict(f"竞价尚未开始，开始时间为 {local_text(terms.starts_at, tz)}",
                       {"starts_at": terms.starts_at.isoformat(), "server_time": now.isoformat()})
    if now >= close:
        raise Conflict(f"竞价已于 {local_text(close, tz)} 截止，报价无效（服务器时间 {local_text(now, tz)}）",
                       {"closes_at": close.isoformat(), "server_time": now.isoformat()})


def minimum_bid(terms: Terms, current: Decimal | None) -> Decimal:
    """The lowest acceptable amount: the start price for the first bid, then the current price plus one increment."""
    return terms.start_price if current is None else current + terms.increment


def check_amount(terms: Terms, current: Decimal | None, amount: Decimal) -> None:
    """A bid is the start price or more, raised over the current price by whole increments (422 otherwise)."""
    base = terms.start_price if current is None else current
    lowest = minimum_bid(terms, current)
    if amount < lowest:
        what = "起始价" if current is None else f"当前最高价 {money_rules.yuan(current)} 元加一个加价幅度"
        raise Invalid(f"报价 {money_rules.yuan(amount)} 元低于{what}（最低 {money_rules.yuan(lowest)} 元）",
                      [{"field": "amount", "message": f"最低 {money_rules.yuan(lowest)} 元"}])
    if (amount - base) % terms.increment != 0:
        raise Invalid(f"加价须为加价幅度 {money_rules.yuan(terms.increment)} 元的整数倍",
                      [{"field": "amount", "message": f"须为 {money_rules.yuan(base)} 元加 "
                                                      f"{money_rules.yuan(terms.increment)} 元的整数倍"}])


def check_not_leading(is_leader: bool) -> None:
    """The current highest bidder may not raise its own price (409)."""
    if is_leader:
        raise Conflict("您已是当前最高报价人，不能对自己的报价加价")


# --- the outcome -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How a closed auction ended: sold, no_sale or no_bids, with the winning amount when sold."""

    outcome: str
    amount: Decimal | None
    reserve_met: bool | None


def outcome(terms: Terms, highest: Decimal | None) -> Outcome:
    """The outcome from the highest persisted bid: sold unless there is none or it is below the reserve."""
    if highest is None:
        return Outcome(NO_BIDS, None, None)
    if terms.reserve_price is not None and highest < terms.reserve_price:
        return Outcome(NO_SALE, highest, False)
    return Outcome(SOLD, highest, None if terms.reserve_price is None else True)


def onsite_auction_due(continue_count: int) -> bool:
    """39号令 第二十一条: two or more bidders asking to continue at listing close lead to an on-site auction."""
    return continue_count >= 2


# --- paddle numbers ----------------------------------------------------------------------------------


def paddles(count: int, taken: Iterable[str] = (), rng: secrets.SystemRandom | None = None) -> list[str]:
    """count distinct random paddle numbers (竞买号) not in taken: three digits, four past 300 bidders."""
    rng = rng or secrets.SystemRandom()
    used = set(taken)
    width = 3 if count + len(used) <= 300 else 4 if count + len(used) <= 3000 else 6
    pool = [f"{n:0{width}d}" for n in range(10 ** (width - 1), 10 ** width) if f"{n:0{width}d}" not in used]
    return rng.sample(pool, count)


def local_text(moment: datetime, tz: tzinfo) -> str:
    """A time as users read it: 2026-12-01 09:30:00（北京时间）."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, [{"field": field, "message": message}])
