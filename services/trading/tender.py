"""Steps of the tender processes (construction_open_tender) that belong to no shared trading service.

- tender.register: the unified trading code (统一交易编码) region-category-year-sequence, unique platform-wide.
- tender.clarify: a clarification or amendment of the tender documents; one issued less than the rule's
  days (cons.clarify_bid, 15 日) before the bid deadline postpones the deadline (招标投标法 第二十三条).
- tender.objection: an objection to the tender documents, admissible only the rule's days (cons.objection_doc,
  10 日) before the deadline (实施条例 第二十二条).
- tender.prequal_result: enough applicants passed prequalification (实施条例 第十九条).
- tender.check_award: the winner is the first candidate, or a later one with a stated reason (实施条例 第五十五条).

Rule ids are variables with the cons.* rules as defaults, so other tender processes can pass their own.
"""
from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Any

from domain import statutes
from domain.calendar import WorkingCalendar
from domain.errors import Conflict, Invalid, StatuteViolation
from persistence.models_tender import TradeCodeSequence, TradeRegistration
from services import audit
from services import calendar as calendar_service
from services.service_tasks import ServiceCall, service_task
from trading import uscc
from trading.bids import parse_deadline

DEFAULT_CATEGORY = "G"  # 工程建设
MAX_SEQUENCE = 999_999
CLARIFY_RULE = "cons.clarify_bid"
OBJECTION_RULE = "cons.objection_doc"
REPLY_RULE = "cons.objection_reply"
MIN_BIDDERS_RULE = "cons.min_bidders"
_KINDS = {"MIN": "最短期限", "MAX": "最长期限", "COUNT": "数量"}


# --- pure rules ---------------------------------------------------------------------------------------


def trade_code(region: str, category: str, year: int, sequence: int) -> str:
    """330100-G-2026-000123: region (6), category letter, year, sequence within region, category and year."""
    if not re.fullmatch(r"\d{6}", region or ""):
        raise Invalid("统一交易编码须有 6 位行政区划代码（受理登记时指定交易所属区域）")
    if not re.fullmatch(r"[A-Z]", category or ""):
        raise Invalid(f"交易类别代码应为一个大写字母，而不是 {category!r}")
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise Conflict(f"区域 {region} {year} 年的 {category} 类交易编号已用尽")
    return f"{region}-{category}-{year}-{sequence:06d}"


def lawful_deadline(rule: statutes.Rule, issued: date, deadline: datetime, tz: tzinfo,
                    cal: WorkingCalendar) -> datetime:
    """The deadline itself when it is at least the MIN rule's days after the issue date, else the first lawful
    day at the same time of day (the day the period ends, not extended: a waiting time, not a time to act)."""
    earliest = statutes.due(rule, issued, cal)
    local = deadline.astimezone(tz)
    if local.date() >= earliest:
        return deadline
    return datetime.combine(earliest, local.timetz())


def parse_day(value: Any, field: str) -> date:
    """A date variable (YYYY-MM-DD, or the date part of an ISO time)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        errors = [{"field": f"/{field}", "message": "应为日期"}]
        raise Invalid(f"{field} 应为日期 YYYY-MM-DD，而不是 {value!r}", errors) from None


def _rule(data: dict[str, Any], variable: str, default: str, kind: str) -> statutes.Rule:
    rule = statutes.get_rule(str(data.get(variable) or default))
    if rule.kind != kind:
        raise Invalid(f"规则 {rule.id}（{rule.title}）不是{_KINDS[kind]}规则，不能用于此环节")
    return rule


def _not_in_future(day: date, call: ServiceCall, field: str, label: str) -> None:
    today = call.now.astimezone(call.platform.tz).date()
    if day > today:
        raise Invalid(f"{label}不能晚于今天（{today.isoformat()}）", [{"field": f"/{field}", "message": "不能晚于今天"}])


# --- service tasks ------------------------------------------------------------------------------------


@service_task("tender.register", "受理登记：分配统一交易编码")
def register_task(call: ServiceCall) -> dict[str, Any]:
    """Give the trade its unified trading code; running again for the same trade returns the same code."""
    session, instance = call.session, call.instance
    existing = session.get(TradeRegistration, instance.id)
    if existing is not None:
        return {"trade_code": existing.trade_code}
    parties = {f: uscc.clean(str(call.data[f]), f) for f in ("purchaser_uscc", "agency_uscc") if call.data.get(f)}
    category = str(call.data.get("trade_category") or DEFAULT_CATEGORY)
    region = instance.region or ""
    year = call.now.astimezone(call.platform.tz).year
    trade_code(region, category, year, 1)  # refuse a bad region or category before touching the sequence
    # The row lock serializes registrations of one region and year; a concurrent first insert of the row
    # fails on the primary key and the whole step is retried by the unit of work.
    counter = session.get(TradeCodeSequence, (region, category, year), with_for_update=True)
    if counter is None:
        counter = TradeCodeSequence(region=region, category=category, year=year, last_value=0)
        session.add(counter)
    counter.last_value += 1
    code = trade_code(region, category, year, counter.last_value)
    session.add(TradeRegistration(
        instance_id=instance.id, trade_code=code, region=region, category=category, year=year,
        sequence=counter.last_value, registered_at=call.now,
        registered_by=call.actor.username if call.actor else None))
    session.flush()
    audit.append(session, instance.id, "tender.registered", call.actor, call.now,
                 {"trade_code": code, "project_name": call.data.get("project_name"), **parties})
    return {"trade_code": code, **parties}


@service_task("tender.clarify", "澄清或修改招标文件（不足法定期限的顺延投标截止时间）")
def clarify_task(call: ServiceCall) -> dict[str, Any]:
    """Record a clarification; postpone bid_deadline to the rule's first lawful day, or to a later one asked for."""
    tz = call.platform.tz
    rule = _rule(call.data, "clarify_rule", CLARIFY_RULE, "MIN")
    issued = parse_day(call.data.get("clarification_issued_on"), "clarification_issued_on")
    _not_in_future(issued, call, "clarification_issued_on", "澄清或修改发出日期")
    current = parse_deadline(call.data.get("bid_deadline"), tz)
    cal = calendar_service.load(call.session)
    lawful = lawful_deadline(rule, issued, current, tz, cal)
    asked = call.data.get("new_bid_deadline")
    new = lawful
    if asked:
        new = parse_deadline(asked, tz)
        if new < current:
            raise Invalid("澄清或修改不得提前投标截止时间", [{"field": "/new_bid_deadline", "message": "不得早于原投标截止时间"}])
        if new < lawful:
            earliest = statutes.due(rule, issued, cal)
            raise StatuteViolation(
                f"{rule.title}不足：投标截止时间不得早于 {earliest.isoformat()}（自{rule.from_event}之日起不少于"
                f"{rule.period_text}，{rule.citation}）", rule=rule.id, citation=rule.citation,
                errors=[{"field": "/new_bid_deadline", "rule": rule.id, "message": "早于法定最早截止日期"}])
    postponed = new != current
    count = int(call.data.get("clarification_count") or 0) + 1
    facts = {"clarification_no": count, "issued_on": issued.isoformat(), "rule": rule.id, "citation": rule.citation,
             "summary": call.data.get("clarification_summary"), "deadline_postponed": postponed,
             "previous_bid_deadline": current.astimezone(tz).isoformat(),
             "bid_deadline": new.astimezone(tz).isoformat()}
    # The notice to every bidder who obtained the documents: the audit chain is what bidders are shown.
    audit.append(call.session, call.instance.id, "tender.clarified", call.actor, call.now, facts)
    result: dict[str, Any] = {"deadline_postponed": postponed, "clarification_count": count, "new_bid_deadline": None}
    if postponed:
        result.update(bid_deadline=new.astimezone(tz).isoformat(), previous_bid_deadline=facts["previous_bid_deadline"])
    return result


@service_task("tender.objection", "登记对招标文件的异议（应在投标截止10日前提出）")
def objection_task(call: ServiceCall) -> dict[str, Any]:
    """Record an objection and whether it came in time; an admissible one pauses the activity until the reply."""
    tz = call.platform.tz
    rule = _rule(call.data, "objection_rule", OBJECTION_RULE, "MIN")
    reply_rule = _rule(call.data, "objection_reply_rule", REPLY_RULE, "MAX")
    received = parse_day(call.data.get("objection_received_on"), "objection_received_on")
    _not_in_future(received, call, "objection_received_on", "异议收到日期")
    deadline = parse_deadline(call.data.get("bid_deadline"), tz).astimezone(tz)
    cal = calendar_service.load(call.session)
    admissible = deadline.date() >= statutes.due(rule, received, cal)
    reply_due = statutes.due(reply_rule, received, cal) if admissible else None
    count = int(call.data.get("objection_count") or 0) + 1
    audit.append(call.session, call.instance.id, "tender.objection_received", call.actor, call.now, {
        "objection_no": count, "received_on": received.isoformat(), "objector": call.data.get("objector"),
        "summary": call.data.get("objection_summary"), "admissible": admissible, "rule": rule.id,
        "citation": rule.citation, "reply_due": reply_due.isoformat() if reply_due else None})
    return {"objection_admissible": admissible, "objection_count": count,
            "objection_reply_due": reply_due.isoformat() if reply_due else None}


@service_task("tender.prequal_result", "资格预审结果：通过资格预审的申请人是否足数")
def prequal_result_task(call: ServiceCall) -> dict[str, Any]:
    """Fewer qualified applicants than the COUNT rule: the tender must be started again (实施条例 第十九条)."""
    rule = _rule(call.data, "min_bidders_rule", MIN_BIDDERS_RULE, "COUNT")
    count = call.data.get("qualified_count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise Invalid("通过资格预审的申请人数应为非负整数", [{"field": "/qualified_count", "message": "非负整数"}])
    passed = count >= rule.n
    audit.append(call.session, call.instance.id, "tender.prequalified", call.actor, call.now,
                 {"qualified_count": count, "rule": rule.id, "min": rule.n, "passed": passed})
    return {"prequal_passed": passed}


def _award_law(process_key: str) -> str:
    """Government procurement decides its winner under its own law, construction tenders under TBR 55."""
    if process_key.startswith("gp_"):
        return "政府采购法实施条例第四十三条；财政部令第87号第六十八条"
    return "招标投标法实施条例第五十五条"


@service_task("tender.check_award", "核验中标人：应为排名第一的中标候选人")
def check_award_task(call: ServiceCall) -> dict[str, Any]:
    """The winner comes from the candidates; another than the first needs the reason the law accepts."""
    winner = uscc.clean(str(call.data.get("winner_uscc") or ""), "winner_uscc")
    candidates = [uscc.normalize(str(c)) for c in call.data.get("candidates") or []]
    law = _award_law(call.instance.process_key)
    if winner not in candidates:
        raise Invalid(f"中标人应当从评标委员会推荐的中标候选人中确定（{law}）",
                      [{"field": "/winner_uscc", "message": f"不在中标候选人 {', '.join(candidates) or '（无）'} 之中"}])
    rank = candidates.index(winner) + 1
    reason = str(call.data.get("award_reason") or "").strip()
    if rank > 1 and not reason:
        raise Invalid(
            "应当确定排名第一的中标候选人为中标人；排名第一的中标候选人放弃中标、不能履行合同或被查实存在影响中标结果的"
            f"违法行为等情形的，方可按排名依次确定，须说明理由（{law}）",
            [{"field": "/award_reason", "message": "确定非排名第一的中标候选人须说明理由"}])
    audit.append(call.session, call.instance.id, "tender.winner_decided", call.actor, call.now,
                 {"winner_uscc": winner, "rank": rank, "reason": reason or None,
                  "decided_on": call.data.get("decided_on")})
    return {"winner_uscc": winner, "winner_rank": rank}
