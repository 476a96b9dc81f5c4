"""Evaluation (评标): staff open it with a method and criteria, the committee's experts score, staff close it.

Each expert's marks are rows of evaluation_scores; the audit chain records a SHA-256 digest of every
submission, so a mark changed in the table afterwards no longer matches its audited digest.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import Actor
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from persistence.models import ProcessInstance
from persistence.models_experts import CommitteeMember, Evaluation, EvaluationScore, Expert, ExpertCommittee
from services import audit, steps
from services.platform import Platform
from services.service_tasks import ServiceCall, service_task
from services.trading.experts import OVERSEERS, clean_lot, result_published
from trading import evaluation as rules
from trading import uscc

REVIEW = "review"  # the criterion under which a pass/fail review is stored (1 pass, 0 fail)


def open_evaluation(p: Platform, actor: Actor, instance_id: str, method: str, criteria: list[dict[str, Any]],
                    bidders: list[dict[str, Any]], base: str = "lowest", drop_extremes: bool = False,
                    lot: str | None = None) -> dict[str, Any]:
    """Open the evaluation of a lot with its method, criteria and the bidders' prices (staff)."""
    if not actor.has("staff"):
        raise Forbidden("只有交易中心工作人员可以组织评标")
    if method not in rules.METHODS:
        raise Invalid(f"评标办法只能是：{', '.join(f'{k}（{v}）' for k, v in rules.METHODS.items())}")
    parsed = rules.parse_criteria(criteria or [], method)
    if base not in rules.BASES:
        raise Invalid(f"评标基准价只能取：{', '.join(rules.BASES)}")
    entries = [_bidder(item) for item in bidders or []]
    offers = [offer for offer, _ in entries]
    if not offers:
        raise Invalid("请提供参加评标的投标人及其投标报价", [{"field": "bidders", "message": "[{uscc, price}]"}])
    usccs = [b.uscc for b in offers]
    if len(set(usccs)) != len(usccs):
        raise Invalid("投标人重复")
    if any(b.price <= 0 for b in offers):
        raise Invalid("投标报价必须大于零")
    lot = clean_lot(lot)

    def use_case(session: Session) -> dict[str, Any]:
        instance = _instance(session, actor, instance_id, lock=True)
        declared = instance.variables.get("evaluation_method")
        if declared and declared != method:
            # The committee evaluates by the method the tender documents published (TBR 49), not another.
            raise Invalid(f"评标办法须与招标文件一致：{rules.METHODS.get(declared, declared)}",
                          [{"field": "method", "message": f"招标文件规定的评标办法为 {declared}"}])
        committee = session.scalar(select(ExpertCommittee).where(ExpertCommittee.instance_id == instance.id,
                                                                 ExpertCommittee.lot == lot))
        if committee is None:
            raise Conflict(f"标段 {lot} 尚未抽取评标委员会")
        missing = committee.experts_needed - len(_confirmed(session, committee.id))
        if missing > 0:
            raise Conflict(f"评标委员会尚未组建完成：还有 {missing} 名专家未确认参加")
        if _evaluation(session, instance.id, lot) is not None:
            raise Conflict(f"标段 {lot} 已组织评标")
        _check_against_bids(session, instance.id, lot, offers)
        now = p.clock.now()
        row = Evaluation(
            instance_id=instance.id, lot=lot, committee_id=committee.id, method=method,
            criteria=[{"key": c.key, "name": c.name, "kind": c.kind, "max": str(c.max)} for c in parsed],
            params={"base": base, "drop_extremes": bool(drop_extremes)},
            bidders=[{"uscc": b.uscc, "price": str(b.price), "adjustments": adjustments} for b, adjustments in entries],
            status="open", result=None, opened_at=now, opened_by=actor.username)
        session.add(row)
        session.flush()
        audit.append(session, instance.id, "evaluation.opened", actor, now, {
            "evaluation_id": row.id, "lot": lot, "method": method, "criteria": row.criteria, "params": row.params,
            "bidders": row.bidders})
        return _view(session, actor, instance, row)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def submit_scores(p: Platform, actor: Actor, instance_id: str, scores: list[dict[str, Any]] | None = None,
                  reviews: list[dict[str, Any]] | None = None, lot: str | None = None) -> dict[str, Any]:
    """An expert of the committee records marks (综合评分法) or pass/fail reviews; a resubmission replaces."""
    if not actor.has("expert"):
        raise Forbidden("只有评标委员会的专家可以评分")
    lot = clean_lot(lot)

    def use_case(session: Session) -> dict[str, Any]:
        instance = steps.lock_instance(session, instance_id)
        row = _evaluation(session, instance.id, lot)
        if row is None:
            raise NotFound(f"标段 {lot} 尚未开始评标")
        if row.status != "open":
            raise Conflict("评标已经结束，不能再评分")
        expert_id = session.scalar(select(Expert.id).where(Expert.username == actor.username))
        if expert_id is None or expert_id not in _confirmed(session, row.committee_id):
            raise Forbidden("只有本项目评标委员会中已确认参加的专家可以评分")
        marks = _marks(row, scores or [], reviews or [])
        now = p.clock.now()
        existing = {(s.bidder_uscc, s.criterion): s for s in session.scalars(select(EvaluationScore).where(
            EvaluationScore.evaluation_id == row.id, EvaluationScore.expert_id == expert_id))}
        for (bidder, criterion), value in marks.items():
            old = existing.get((bidder, criterion))
            if old is None:
                session.add(EvaluationScore(evaluation_id=row.id, expert_id=expert_id, bidder_uscc=bidder,
                                            criterion=criterion, score=value, submitted_at=now))
            else:
                old.score, old.submitted_at = value, now
        session.flush()
        canonical = json.dumps(sorted([b, c, str(v)] for (b, c), v in marks.items()), separators=(",", ":"))
        audit.append(session, instance.id, "evaluation.scored", actor, now, {
            "evaluation_id": row.id, "expert_id": expert_id, "count": len(marks),
            "digest": hashlib.sha256(canonical.encode()).hexdigest()})
        return _view(session, actor, instance, row)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def close_evaluation(p: Platform, actor: Actor, instance_id: str, lot: str | None = None) -> dict[str, Any]:
    """Close the evaluation and rank the bidders; up to three candidates (staff)."""
    if not actor.has("staff"):
        raise Forbidden("只有交易中心工作人员可以结束评标")

    def use_case(session: Session) -> dict[str, Any]:
        instance = _instance(session, actor, instance_id, lock=True)
        row = _evaluation(session, instance.id, clean_lot(lot))
        if row is None:
            raise NotFound("该标段尚未开始评标")
        if row.status != "open":
            raise Conflict("评标已经结束")
        close(session, actor, p.clock.now(), row)
        return _view(session, actor, instance, row)

    return p.db.run(use_case)  # type: ignore[no-any-return]


def close(session: Session, actor: Actor | None, now: datetime, row: Evaluation) -> dict[str, Any]:
    """Rank from the confirmed experts' marks, store and audit the result; the caller holds the lock."""
    confirmed = _confirmed(session, row.committee_id)
    committee = session.get(ExpertCommittee, row.committee_id)
    if committee is not None and len(confirmed) < committee.experts_needed:
        # A member who recused during the evaluation leaves a seat that must be refilled and scored first.
        raise Conflict(f"评标委员会已确认的专家只有 {len(confirmed)} 名，应为 {committee.experts_needed} 名")
    marks = list(session.scalars(select(EvaluationScore).where(EvaluationScore.evaluation_id == row.id,
                                                               EvaluationScore.expert_id.in_(confirmed))))
    silent = sorted(confirmed - {m.expert_id for m in marks})
    if silent:
        raise Conflict(f"还有 {len(silent)} 名专家未提交评审意见", [{"expert_id": e} for e in silent])
    bidders = [rules.Bidder(b["uscc"], Decimal(b["price"]), tuple(Decimal(a["amount"]) for a in b["adjustments"]))
               for b in row.bidders]
    if row.method == rules.COMPOSITE:
        criteria = [rules.Criterion(c["key"], c["name"], c["kind"], Decimal(c["max"])) for c in row.criteria]
        ranking = rules.composite(criteria, bidders,
                                  [rules.Score(m.expert_id, m.bidder_uscc, m.criterion, m.score) for m in marks],
                                  base=row.params["base"], drop_extremes=row.params["drop_extremes"])
    else:
        ranking = rules.lowest_price(bidders, [rules.Review(m.expert_id, m.bidder_uscc, m.score == 1) for m in marks])
    result = rules.ranking_to_dict(ranking)
    row.result, row.status, row.closed_at = result, "closed", now
    row.closed_by = actor.username if actor else None
    audit.append(session, row.instance_id, "evaluation.closed", actor, now, {
        "evaluation_id": row.id, "lot": row.lot, "candidates": result["candidates"],
        "winner_candidate": result["winner_candidate"], "rejected": result["rejected"], "ties": result["ties"]})
    return result


def get_evaluation(p: Platform, actor: Actor, instance_id: str, lot: str | None = None) -> dict[str, Any]:
    """Staff and supervisors: everything; the committee's experts: their own marks; others: after the result."""
    with p.db.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"交易 {instance_id} 不存在")
        row = _evaluation(session, instance.id, clean_lot(lot))
        if row is None:
            raise NotFound("该标段尚未开始评标")
        return _view(session, actor, instance, row)


@service_task("evaluation.rank", "评标排序并推荐中标候选人")
def rank_task(call: ServiceCall) -> dict[str, Any]:
    """Close the lot's evaluation if still open; returns up to three candidates and the first."""
    row = _evaluation(call.session, call.instance.id, clean_lot(call.data.get("lot")))
    if row is None:
        raise Invalid("该标段尚未开始评标，不能推荐中标候选人")
    result = row.result if row.status == "closed" and row.result else close(call.session, call.actor, call.now, row)
    return {"candidates": result["candidates"], "winner_candidate": result["winner_candidate"],
            "evaluation_id": row.id}


# --- helpers ------------------------------------------------------------------------------------------


def _view(session: Session, actor: Actor, instance: ProcessInstance, row: Evaluation) -> dict[str, Any]:
    base = {"id": row.id, "instance_id": row.instance_id, "lot": row.lot, "method": row.method,
            "method_name": rules.METHODS[row.method], "criteria": row.criteria, "params": row.params,
            "bidders": row.bidders, "status": row.status, "opened_at": row.opened_at.isoformat(),
            "closed_at": row.closed_at.isoformat() if row.closed_at else None}
    query = select(EvaluationScore, Expert.name).join(Expert, Expert.id == EvaluationScore.expert_id).where(
        EvaluationScore.evaluation_id == row.id).order_by(EvaluationScore.expert_id, EvaluationScore.bidder_uscc,
                                                          EvaluationScore.criterion)
    if actor.has(*OVERSEERS) and actor.covers(instance.region):
        return {**base, "result": row.result, "scores": [_score(s, name) for s, name in session.execute(query)]}
    me = session.scalar(select(Expert.id).join(CommitteeMember, CommitteeMember.expert_id == Expert.id).where(
        Expert.username == actor.username, CommitteeMember.committee_id == row.committee_id,
        CommitteeMember.status == "confirmed")) if actor.has("expert") else None
    if me is not None:
        own = [_score(s, name) for s, name in session.execute(query.where(EvaluationScore.expert_id == me))]
        return {**base, "result": row.result, "scores": own}
    if not actor.has("purchaser", "agency", "bidder"):
        raise Forbidden("无权查看评标信息")
    if actor.has("purchaser", "agency") and not actor.has("bidder") and not actor.covers(instance.region):
        raise Forbidden("无权查看其他区域的评标信息")
    if row.status != "closed" or not result_published(instance):
        raise Forbidden("评标结果公布前不能查看评标信息")
    return {**base, "result": row.result}


def _score(score: EvaluationScore, name: str) -> dict[str, Any]:
    return {"expert_id": score.expert_id, "expert_name": name, "bidder": score.bidder_uscc,
            "criterion": score.criterion, "score": str(score.score), "submitted_at": score.submitted_at.isoformat()}


def _marks(row: Evaluation, scores: list[dict[str, Any]], reviews: list[dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    """The submission checked against the evaluation: known bidders and criteria, marks within range."""
    bidders = {b["uscc"] for b in row.bidders}
    marks: dict[tuple[str, str], Decimal] = {}
    if row.method == rules.LOWEST_PRICE:
        if scores or not reviews:
            raise Invalid("经评审的最低投标价法只提交合格性评审意见 reviews: [{bidder, passed}]")
        for item in reviews:
            bidder = _known(item.get("bidder"), bidders)
            if not isinstance(item.get("passed"), bool):
                raise Invalid("passed 必须是布尔值")
            marks[(bidder, REVIEW)] = Decimal(1 if item["passed"] else 0)
        return marks
    if reviews or not scores:
        raise Invalid("综合评分法提交评分 scores: [{bidder, criterion, score}]")
    criteria = {c["key"]: c for c in row.criteria if c["kind"] != "price"}
    for item in scores:
        bidder = _known(item.get("bidder"), bidders)
        criterion = criteria.get(str(item.get("criterion")))
        if criterion is None:
            raise Invalid(f"评分项 {item.get('criterion')!r} 不存在或不由专家打分（价格分按公式计算）")
        value = rules.money(item.get("score"), "评分")
        top = Decimal(criterion["max"])
        if value != rules.r2(value) or not Decimal(0) <= value <= top:
            raise Invalid(f"评分项 {criterion['name']} 的得分应在 0 到 {top} 之间，最多两位小数，不能为 {value}")
        marks[(bidder, criterion["key"])] = value
    return marks


def _known(value: Any, bidders: set[str]) -> str:
    code = uscc.normalize(str(value or ""))
    if code not in bidders:
        raise Invalid(f"投标人 {value!r} 不在本次评标范围内")
    return code


def _bidder(item: Any) -> tuple[rules.Bidder, list[dict[str, Any]]]:
    """A bidder's price and price adjustments (with their reasons, kept for the report), in yuan and fen."""
    if not isinstance(item, dict):
        raise Invalid("投标人应为 {uscc, price, adjustments}")
    code = uscc.clean(str(item.get("uscc") or ""), "bidders.uscc")
    price = _cents(item.get("price"), f"投标人 {code} 的投标报价")
    amounts: list[Decimal] = []
    adjustments: list[dict[str, Any]] = []
    for adj in item.get("adjustments") or []:
        amount, reason = (adj.get("amount"), adj.get("reason")) if isinstance(adj, dict) else (adj, None)
        amounts.append(_cents(amount, f"投标人 {code} 的价格调整"))
        adjustments.append({"amount": str(amounts[-1]), "reason": str(reason)[:500] if reason else None})
    return rules.Bidder(code, price, tuple(amounts)), adjustments


def _cents(value: Any, what: str) -> Decimal:
    amount = rules.money(value, what)
    if amount != rules.r2(amount):
        raise Invalid(f"{what}最多保留两位小数（元、角、分）：{value}")
    return rules.r2(amount)


def _check_against_bids(session: Session, instance_id: str, lot: str, offers: list[rules.Bidder]) -> None:
    """When the bids service knows the decrypted bids, only those bidders may be evaluated."""
    try:  # imported late: evaluation works on the staff's list where the bids service is absent
        from services.trading.bids import valid_bidders
    except ModuleNotFoundError as exc:
        if exc.name != "services.trading.bids":
            raise
        return
    valid = set(valid_bidders(session, instance_id, lot=lot))
    if not valid:
        return  # bids handled outside the platform (paper or another system): staff's list stands
    unknown = sorted(b.uscc for b in offers if b.uscc not in valid)
    if unknown:
        raise Invalid(f"以下投标人没有有效（已解密）的投标：{', '.join(unknown)}")


def _confirmed(session: Session, committee_id: int) -> set[int]:
    return set(session.scalars(select(CommitteeMember.expert_id).where(
        CommitteeMember.committee_id == committee_id, CommitteeMember.status == "confirmed")))


def _evaluation(session: Session, instance_id: str, lot: str) -> Evaluation | None:
    return session.scalar(select(Evaluation).where(Evaluation.instance_id == instance_id, Evaluation.lot == lot)
                          .order_by(Evaluation.id.desc()).limit(1))


def _instance(session: Session, actor: Actor, instance_id: str, lock: bool) -> ProcessInstance:
    instance = steps.lock_instance(session, instance_id) if lock else session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"交易 {instance_id} 不存在")
    if not actor.covers(instance.region):
        raise Forbidden("无权处理其他区域的交易")
    return instance
