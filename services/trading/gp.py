"""Steps of the government procurement processes (gp_*) that belong to no shared trading service.

- gp.deemed_award: the purchaser let the gp.decide period (5 工作日 from the report) lapse without deciding;
  the first candidate of the report is taken as the winner (财政部令第87号 第六十八条).
"""
from __future__ import annotations

from typing import Any

from domain import statutes
from domain.errors import Invalid
from services import audit
from services.service_tasks import ServiceCall, service_task
from trading import uscc

DECIDE_RULE = "gp.decide"


@service_task("gp.deemed_award", "采购人逾期未确定中标人：视同确定排名第一的中标候选人")
def deemed_award_task(call: ServiceCall) -> dict[str, Any]:
    """Take the first candidate as the winner, decided on the day the timer fired (the first day after the period)."""
    candidates = [uscc.normalize(str(c)) for c in call.data.get("candidates") or []]
    if not candidates:
        raise Invalid("评审报告没有推荐中标候选人，无法视同确定中标人")
    rule = statutes.get_rule(str(call.data.get("decide_rule") or DECIDE_RULE))
    decided_on = call.now.astimezone(call.platform.tz).date().isoformat()
    winner = candidates[0]
    audit.append(call.session, call.instance.id, "tender.winner_decided", call.actor, call.now,
                 {"winner_uscc": winner, "rank": 1, "reason": None, "decided_on": decided_on, "deemed": True,
                  "rule": rule.id, "citation": rule.citation, "report_received_on": call.data.get("report_received_on")})
    return {"winner_uscc": winner, "winner_rank": 1, "decided_on": decided_on, "award_deemed": True}
