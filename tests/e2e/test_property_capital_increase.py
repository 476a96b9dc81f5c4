"""property_capital_increase (企业增资, 32号令 第三章) end to end over HTTP with the fake clock."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.cot_support import PURCHASER, at, due, names
from tests.e2e.property_support import PropertyRun, notice, rules_of

REGISTER = {
    "project_name": "杭州某国有控股公司增资扩股",
    "purchaser_name": "杭州某新能源科技有限公司",
    "purchaser_uscc": PURCHASER,
    "raise_amount": 50_000_000,
    "equity_offered_percent": 25,
    "investor_count": 1,
    "approval_body": "杭州市人民政府国有资产监督管理委员会",
    "approval_no": "杭国资产权〔2026〕21号",
    "bond_amount": 2_000_000,
    "selection_criteria": [{"key": "price", "name": "认购价格", "weight": 60},
                           {"key": "plan", "name": "经营方案与协同效应", "weight": 40}],
}


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> PropertyRun:
    return PropertyRun.begun(http, make_user)


def test_capital_increase_forty_working_days_and_selection_by_the_published_criteria(run: PropertyRun) -> None:
    view = run.start("property_capital_increase", "PCI-1", REGISTER)
    assert names(view) == ["发布增资信息披露"] and view["variables"]["budget_amount"] == 50_000_000
    # prop.capital_increase 40 工作日 MIN from Mon 03-02 (清明 04-06 is a holiday): 04-28 at the earliest
    disclosure = notice("增资扩股信息披露公告", disclosed_on="2026-03-02", investor_conditions="具有良好的财务状况")
    refused = run.complete("发布增资信息披露", "staff", {**disclosure, "disclosure_end": "2026-04-27"}, expect=422)
    assert refused["rule"] == "prop.capital_increase" and refused["citation"] == "32号令 39"
    assert "2026-04-28" in refused["errors"][0]["message"]
    view = run.complete("发布增资信息披露", "staff", {**disclosure, "disclosure_end": "2026-04-28"})
    assert rules_of(view) == [("Timer_DisclosureEnd", "prop.capital_increase")]

    run.set_clock("2026-04-10T10:00:00+08:00")
    first, second = run.transferees(2, 2_000_000)
    stranger = run.transferee()  # never paid a deposit: not a qualified investor
    view = run.advance("2026-04-29T00:00:01+08:00", "确认意向投资方资格")
    view = run.complete("确认意向投资方资格", "staff", {"checked_on": "2026-04-29"})
    assert view["variables"]["qualified_count"] == 2 and names(view) == ["按遴选标准评议投资方"]
    assert run.task("按遴选标准评议投资方", view)["role"] == "purchaser"

    def scored(org: str, price: int, plan: int, amount: int, **extra: int) -> dict[str, Any]:
        return {"investor_uscc": org, "subscription_amount": amount, "scores": {"price": price, "plan": plan, **extra}}

    evaluation = {"evaluated_on": "2026-04-29", "panel_note": "按披露的遴选标准评议"}
    # a criterion that was not published may not be scored
    refused = run.complete("按遴选标准评议投资方", "purchaser", {**evaluation, "evaluations": [
        scored(first.org, 90, 70, 50_000_000, size=100), scored(second.org, 80, 95, 52_000_000)]}, expect=422)
    assert "不得增减标准" in refused["message"]
    # every qualified investor is evaluated, and nobody else
    refused = run.complete("按遴选标准评议投资方", "purchaser", {**evaluation, "evaluations": [
        scored(first.org, 90, 70, 50_000_000), scored(stranger.org, 100, 100, 60_000_000)]}, expect=422)
    assert second.org in refused["errors"][0]["message"] and stranger.org in refused["errors"][0]["message"]
    # first: 90×60% + 70×40% = 82; second: 80×60% + 95×40% = 86 → second is selected
    view = run.complete("按遴选标准评议投资方", "purchaser", {**evaluation, "evaluations": [
        scored(first.org, 90, 70, 50_000_000), scored(second.org, 80, 95, 52_000_000)]})
    variables = view["variables"]
    assert variables["selected_investors"] == [second.org] and variables["winner_uscc"] == second.org
    assert variables["investor_scores"] == {second.org: "86.00", first.org: "82.00"}
    assert variables["award_amount"] == "52000000.00"
    (selected,) = run.events("property.investors_selected")
    assert [c["key"] for c in selected["data"]["criteria"]] == ["price", "plan"]
    assert selected["data"]["ranking"][0] == {"investor_uscc": second.org, "total": "86.00"}

    # the selected investor's deposit becomes part of its subscription; the other's is due back within
    # prop.deposit_refund, 3 工作日 from the evaluation on Wed 04-29: 04-30, then 05-06 and 05-07 (劳动节 05-01..05-05)
    deposits = run.deposits()
    assert deposits[second.org]["status"] == "applied_to_price" and deposits[first.org]["status"] == "refund_due"
    assert at(deposits[first.org]["refund_due_at"]) == due("2026-05-08T00:00:00")
    assert names(view) == ["签订增资协议", "退还交易保证金"]
    run.refund(first)
    view = run.complete("退还交易保证金", "staff", {"refunds_completed_on": "2026-04-30"})
    assert names(view) == ["签订增资协议"] and run.alerts("deposit_refund_overdue") == []

    view = run.complete("签订增资协议", "purchaser", {
        "contract_no": "ZZXY-2026-001", "contract_signed_on": "2026-05-06", "contract_effective_on": "2026-05-06"})
    # prop.result_publicity 5 工作日 MIN from Wed 05-06 (Sat 05-09 is a make-up working day): 05-12
    refused = run.complete("发布增资结果公告", "staff", notice(
        "增资结果公告", result_published_on="2026-05-06", publicity_end="2026-05-11"), expect=422)
    assert refused["rule"] == "prop.result_publicity"
    view = run.complete("发布增资结果公告", "staff", notice(
        "增资结果公告", result_published_on="2026-05-06", publicity_end="2026-05-12"))
    assert rules_of(view) == [("Timer_PublicityEnd", "prop.result_publicity")]
    run.set_clock("2026-05-13T00:00:01+08:00")
    view = run.wait_for(lambda v: v["status"] == "completed")
    result = run.result()
    assert result["outcome"] == "awarded" and result["winner_uscc"] == second.org
    assert result["award_amount"] == "52000000.00" and result["bidder_count"] == 2
    assert result["category"] == "P"


def test_capital_increase_tie_at_the_cut_must_be_evaluated_again(run: PropertyRun) -> None:
    run.start("property_capital_increase", "PCI-TIE", REGISTER)
    run.complete("发布增资信息披露", "staff", notice(
        "增资扩股信息披露公告", disclosed_on="2026-03-02", disclosure_end="2026-04-28"))
    run.set_clock("2026-04-10T10:00:00+08:00")
    first, second = run.transferees(2, 2_000_000)
    run.advance("2026-04-29T00:00:01+08:00", "确认意向投资方资格")
    run.complete("确认意向投资方资格", "staff", {"checked_on": "2026-04-29"})
    refused = run.complete("按遴选标准评议投资方", "purchaser", {"evaluated_on": "2026-04-29", "evaluations": [
        {"investor_uscc": first.org, "subscription_amount": 50_000_000, "scores": {"price": 80, "plan": 80}},
        {"investor_uscc": second.org, "subscription_amount": 50_000_000, "scores": {"price": 90, "plan": 65}}]},
        expect=422)
    assert "重新评议" in refused["message"]


def test_capital_increase_terminated_publishes_the_termination_and_refunds_every_deposit(run: PropertyRun) -> None:
    run.start("property_capital_increase", "PCI-END", REGISTER)
    run.complete("发布增资信息披露", "staff", notice(
        "增资扩股信息披露公告", disclosed_on="2026-03-02", disclosure_end="2026-04-28"))
    run.set_clock("2026-04-10T10:00:00+08:00")
    short = run.transferee()
    run.pay_deposit(short, 1_000_000)  # half the 2,000,000 required: not a qualified investor
    run.advance("2026-04-29T00:00:01+08:00", "确认意向投资方资格")
    view = run.complete("确认意向投资方资格", "staff", {"checked_on": "2026-04-29"})
    assert view["variables"]["qualified_count"] == 0 and names(view) == ["未征集到合格投资方的处理"]

    decision = {"no_investor_decision": "terminate"}
    refused = run.complete("未征集到合格投资方的处理", "purchaser", decision, expect=422)
    assert {e["field"] for e in refused["errors"]} == {"/decision_reason", "/title"}
    view = run.complete("未征集到合格投资方的处理", "purchaser", {
        **decision, "decision_reason": "披露期满未征集到合格意向投资方，增资企业决定终止", **notice("增资终止公告")})
    result = run.result()
    assert result["outcome"] == "failed" and result["failure_reason"].startswith("披露期满未征集到")
    published = run.publications()
    assert [(p["kind"], p["title"]) for p in published] == [
        ("announcement", "增资扩股信息披露公告"), ("termination", "增资终止公告")]
    assert published[-1]["data"]["no_investor_decision"] == "terminate"

    # nobody was selected: every deposit goes back, within 3 工作日 of the termination (04-29)
    assert names(view) == ["退还交易保证金"] and view["status"] == "running"
    deposit = run.deposits()[short.org]
    assert deposit["status"] == "refund_due" and at(deposit["refund_due_at"]) == due("2026-05-08T00:00:00")
    run.refund(short)
    view = run.complete("退还交易保证金", "staff", {"refunds_completed_on": "2026-04-30"})
    assert view["status"] == "completed"
