"""Government procurement challenges (质疑) and complaints (投诉): 政府采购法 第五十二条至第五十八条, 财政部令94号.

- file_challenge / file_complaint: a supplier (bidder) files against a running procurement; the platform starts
  the gp_challenge or complaint process for it with a system actor, linked by target_instance_id.
- challenges.admit: filed within gp.challenge (7 工作日 from knew_on)? A late one is refused and the refusal
  notice recorded; an admitted one gets its reply deadline (gp.challenge_reply) and complaint deadline
  (gp.complaint, counted from the reply deadline).
- challenges.admit_complaint: a complaint needs an admitted challenge by the same supplier (94号令 第十九条)
  and must be filed by that challenge's complaint deadline.
- challenges.suspend_target / resume_target / conclude: the finance department may suspend the procurement
  (at most 30 days, GPL 57); the decision resumes it, or cancels it when upheld and the procurement must be
  redone (94号令 第三十一、三十二条).

The status changes of the target run in the step's own transaction (same rules as services.instances
.change_status), because a service task must not open a second transaction.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from domain import statutes
from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import ProcessInstance
from services import audit, steps
from services import calendar as calendar_service
from services import instances as instance_service
from services.instances import PARTY_ORGS
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading.tender import parse_day
from trading import uscc

CHALLENGE_PROCESS = "gp_challenge"
COMPLAINT_PROCESS = "complaint"
CHALLENGE_RULE = "gp.challenge"
REPLY_RULE = "gp.challenge_reply"
COMPLAINT_RULE = "gp.complaint"
DECIDE_RULE = "gp.complaint_decide"
SUSPENSION_DAYS = 30  # GPL 57: 暂停采购活动，但暂停时间最长不超过三十日 (calendar days, no rule id exists)
OPEN_STATUSES = ("running", "suspended")


def system_actor(region: str | None) -> Actor:
    """The platform acting on a supplier's filing or on a finance department's decision."""
    return Actor(username="system:challenges", roles=frozenset({"staff"}), region=region)


# --- use cases ------------------------------------------------------------------------------------------


def file_challenge(p: Platform, actor: Actor, target_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A supplier files a challenge (质疑) against a procurement; starts gp_challenge."""
    challenger = _supplier(actor)
    target = _open_target(p, actor, target_id)
    variables = {"target_instance_id": target_id, "challenger_uscc": challenger, PARTY_ORGS: [challenger],
                 "challenger_name": body.get("challenger_name") or challenger,
                 "knew_on": body["knew_on"].isoformat(), "grounds": body["grounds"]}
    key = f"{target_id}/challenge/{challenger}/{p.clock.now().strftime('%Y%m%dT%H%M%S%f')}"
    view, _ = instance_service.start(p, system_actor(target.region), CHALLENGE_PROCESS, key, variables,
                                     region=target.region)
    return view


def file_complaint(p: Platform, actor: Actor, target_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A supplier not satisfied with the reply files a complaint (投诉); starts the complaint process."""
    challenger = _supplier(actor)
    target = _open_target(p, actor, target_id)
    with p.db.sessions() as session:
        challenge = session.get(ProcessInstance, body["challenge_id"])
        if challenge is None or challenge.process_key != CHALLENGE_PROCESS:
            raise NotFound(f"质疑 {body['challenge_id']} 不存在")
        data = challenge.variables or {}
        if data.get("target_instance_id") != target_id or data.get("challenger_uscc") != challenger:
            raise Forbidden("只能就本单位对该采购项目提出的质疑提起投诉")
    variables = {"target_instance_id": target_id, "challenge_instance_id": body["challenge_id"],
                 "challenger_uscc": challenger, PARTY_ORGS: [challenger], "grounds": body["grounds"]}
    key = f"{target_id}/complaint/{body['challenge_id']}/{p.clock.now().strftime('%Y%m%dT%H%M%S%f')}"
    view, _ = instance_service.start(p, system_actor(target.region), COMPLAINT_PROCESS, key, variables,
                                     region=target.region)
    return view


def _supplier(actor: Actor) -> str:
    if not actor.has("bidder") or not actor.org:
        raise Forbidden("只有供应商（bidder 角色，登记了统一社会信用代码）可以提出质疑或投诉")
    return uscc.normalize(actor.org)


def _open_target(p: Platform, actor: Actor, target_id: str) -> ProcessInstance:
    with p.db.sessions() as session:
        target = session.get(ProcessInstance, target_id)
        if target is None:
            raise NotFound(f"采购项目（流程实例）{target_id} 不存在")
        if not actor.covers(target.region):
            raise Forbidden("无权对其他区域的采购项目提出质疑或投诉")
        if target.status not in OPEN_STATUSES:
            raise Conflict(f"采购项目已{ {'completed': '结束', 'cancelled': '撤销', 'failed': '失败'}.get(target.status, target.status)}，不能再提出质疑或投诉")
        session.expunge(target)
        return target


# --- service tasks ----------------------------------------------------------------------------------------


def _today(call: ServiceCall) -> date:
    return call.now.astimezone(call.platform.tz).date()


@service_task("challenges.admit", "质疑受理：是否在知道或应当知道权益受损之日起7个工作日内提出")
def admit_task(call: ServiceCall) -> dict[str, Any]:
    """A challenge filed after gp.challenge is refused with a notice; an admitted one gets its deadlines."""
    rule = statutes.get_rule(CHALLENGE_RULE)
    knew_on = parse_day(call.data.get("knew_on"), "knew_on")
    filed_on = _today(call)
    if knew_on > filed_on:
        raise Invalid("知道权益受损的日期不能晚于提出质疑的日期", [{"field": "/knew_on", "message": "不能晚于今天"}])
    cal = calendar_service.load(call.session)
    last_day = statutes.due(rule, knew_on, cal)
    admitted = filed_on <= last_day
    out: dict[str, Any] = {"admitted": admitted, "filed_on": filed_on.isoformat(), "challenge_due": last_day.isoformat()}
    if admitted:
        reply_due = statutes.due(statutes.get_rule(REPLY_RULE), filed_on, cal)
        out |= {"reply_due": reply_due.isoformat(),
                "complaint_due": statutes.due(statutes.get_rule(COMPLAINT_RULE), reply_due, cal).isoformat(),
                "refusal_notice": None}
    else:
        out |= {"reply_due": None, "complaint_due": None, "refusal_notice": (
            f"质疑不予受理：应在知道或者应当知道权益受到损害之日（{knew_on.isoformat()}）起{rule.n}个工作日内"
            f"（至 {last_day.isoformat()}）提出，本质疑于 {filed_on.isoformat()} 提出，已超过法定期限（{rule.citation}）")}
    audit.append(call.session, call.instance.id, "challenge.admitted" if admitted else "challenge.refused",
                 call.actor, call.now, {**out, "rule": rule.id, "citation": rule.citation,
                                        "target_instance_id": call.data.get("target_instance_id")})
    return out


@service_task("challenges.admit_complaint", "投诉受理：须先质疑，并在答复期满后15个工作日内提起")
def admit_complaint_task(call: ServiceCall) -> dict[str, Any]:
    """A complaint is admitted only after an admitted challenge and within gp.complaint."""
    rule = statutes.get_rule(COMPLAINT_RULE)
    received_on = _today(call)
    challenge = call.session.get(ProcessInstance, str(call.data.get("challenge_instance_id") or ""))
    data = (challenge.variables or {}) if challenge is not None else {}
    reason = None
    if not data.get("admitted"):
        reason = "投诉人应当先依法进行质疑（政府采购法第五十五条）：所附质疑未被受理"
    elif not data.get("replied_on") and received_on <= parse_day(data["reply_due"], "reply_due"):
        reason = f"质疑尚未答复且答复期（至 {data['reply_due']}）未满，暂不能投诉（政府采购法第五十五条）"
    elif received_on > parse_day(data["complaint_due"], "complaint_due"):
        reason = (f"投诉不予受理：应在质疑答复期满（{data['reply_due']}）后{rule.n}个工作日内"
                  f"（至 {data['complaint_due']}）提起（{rule.citation}）")
    admitted = reason is None
    cal = calendar_service.load(call.session)
    decide_due = statutes.due(statutes.get_rule(DECIDE_RULE), received_on, cal) if admitted else None
    out = {"admitted": admitted, "received_on": received_on.isoformat(), "refusal_notice": reason,
           "decide_due": decide_due.isoformat() if decide_due else None}
    audit.append(call.session, call.instance.id, "complaint.admitted" if admitted else "complaint.refused",
                 call.actor, call.now, {**out, "rule": rule.id, "citation": rule.citation})
    return out


@service_task("challenges.suspend_target", "暂停采购活动（最长30日）")
def suspend_target_task(call: ServiceCall) -> dict[str, Any]:
    """The finance department suspends the procurement; the suspension ends within 30 days at the latest."""
    target = _change_target(call, "suspend", call.data.get("suspend_reason") or "投诉处理期间暂停采购活动")
    since = call.now.replace(microsecond=0)
    ends = since + timedelta(days=SUSPENSION_DAYS)
    return {"target_suspended": target.status == "suspended", "suspended_at": since.isoformat(),
            "suspension_ends_at": ends.isoformat()}


@service_task("challenges.resume_target", "暂停期满，恢复采购活动")
def resume_target_task(call: ServiceCall) -> dict[str, Any]:
    """The 30-day cap (GPL 57) or the decision ends the suspension."""
    _change_target(call, "resume", "暂停采购活动期满（政府采购法第五十七条：最长不超过三十日）")
    return {"target_suspended": False}


@service_task("challenges.conclude", "执行投诉处理决定：恢复或撤销采购活动")
def conclude_task(call: ServiceCall) -> dict[str, Any]:
    """Upheld and to be redone: the procurement is cancelled; otherwise a suspended one resumes."""
    redo = call.data.get("result") == "upheld" and bool(call.data.get("redo"))
    summary = str(call.data.get("decision_summary") or "")
    target = _change_target(call, "cancel" if redo else "resume", f"投诉处理决定：{summary}")
    audit.append(call.session, call.instance.id, "complaint.decided", call.actor, call.now, {
        "result": call.data.get("result"), "redo": redo, "target_status": target.status,
        "rule": DECIDE_RULE, "decided_on": call.data.get("decided_on")})
    return {"target_suspended": False, "target_status": target.status, "procurement_redo": redo}


def _change_target(call: ServiceCall, action: str, reason: str) -> ProcessInstance:
    """Suspend, resume or cancel the target procurement in this step's transaction; a no-op when not applicable."""
    session: Session = call.session
    target_id = str(call.data.get("target_instance_id") or "")
    if session.get(ProcessInstance, target_id) is None:
        raise NotFound(f"采购项目（流程实例）{target_id} 不存在")
    target = steps.lock_instance(session, target_id)
    allowed = {"cancel": ("running", "suspended"), "suspend": ("running",), "resume": ("suspended",)}[action]
    if target.status not in allowed:
        return target
    actor = system_actor(target.region)
    now: datetime = call.now
    facts = {"reason": reason, "by_process": call.instance.process_key, "by_instance": call.instance.id}
    if action == "cancel":
        compiled = steps.definition(session, target.definition_id)
        result = steps.runner(call.platform, session, compiled, target, actor, now).cancel(target.state)
        target.status = "running"  # let apply() record the transition once
        steps.apply(call.platform, session, target, compiled, result, actor, now)
        audit.append(session, target.id, "instance.cancelled_by_decision", actor, now, facts)
    else:
        target.status = "suspended" if action == "suspend" else "running"
        target.updated_at = now
        audit.append(session, target.id, "instance.suspended" if action == "suspend" else "instance.resumed",
                     actor, now, facts)
    return target
