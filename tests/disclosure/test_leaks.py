"""Nothing confidential leaks: bidders' names before opening, reserve prices ever, experts' names before the result.

A construction trade runs end to end over HTTP with known secret markers, beside a small trade whose result
form carries a reserve price marked confidential. At each moment every public endpoint of the app (every
GET rule under /api/v1/public, path parameters filled with every id the public can know) is read, and no
response may contain a secret of that moment.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.disclosure.support import RESERVE_PRICE, SECRET_NOTE, Demo
from tests.e2e.cot_support import SPECIALTY, Run, registered

PUBLIC = "/api/v1/public"


def public_urls(app: Any, client: Any) -> Iterator[str]:
    """Every public GET endpoint, each path parameter filled with every value of its kind the public may know."""
    items = client.get(f"{PUBLIC}/feed", query_string={"limit": 500}).get_json()["items"]
    known = {
        "int": [str(i["id"]) for i in items] + ["1"],
        "trade": sorted({i["trade_code"] for i in items}),
        "ocid": sorted({i["ocid"] for i in items}),
    }
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith(PUBLIC) and "GET" in (r.methods or ())]
    assert any(r.rule == f"{PUBLIC}/feed" for r in rules)
    for rule in rules:
        urls = [rule.rule]
        for arg in sorted(rule.arguments):
            kind = "ocid" if "ocid" in arg else "trade" if "code" in arg or "trade" in arg else "int"
            converter = type(rule._converters[arg]).__name__.lower()  # noqa: SLF001 - werkzeug keeps them here
            values = known["int"] if "integer" in converter else known[kind] or known["trade"] + known["ocid"]
            urls = [u.replace(f"<{arg}>", v).replace(f"<int:{arg}>", v).replace(f"<string:{arg}>", v)
                    for u in urls for v in values]
        for url in urls:
            yield url
            yield f"{url}?per_page=200&limit=500"


def assert_no_secret(app: Any, client: Any, secrets: list[str], moment: str) -> int:
    """Read every public endpoint; fail on the first response carrying a secret. Returns responses read."""
    read = 0
    for url in public_urls(app, client):
        response = client.get(url)
        texts = [response.get_data(as_text=True)]
        if response.is_json:
            texts.append(json.dumps(response.get_json(), ensure_ascii=False))
        for secret in secrets:
            assert all(secret not in t for t in texts), f"{moment}: {url} shows {secret!r}"
        read += 1
    return read


@pytest.fixture
def run(http: Any, make_user: Callable[..., dict[str, str]]) -> Run:
    return Run.started(http, make_user)


def test_no_public_endpoint_shows_a_secret_before_its_time(run: Run, http: Any,
                                                           make_user: Callable[..., dict[str, str]]) -> None:
    app = http.application
    demo = Demo.deployed(http, make_user)
    view = demo.start("LEAK-RESERVE")
    view = demo.complete(view, {"title": "某地块出让公告"})
    demo.complete(view, {"title": "出让结果公告", "winner_name": "杭州某置业有限公司", "trade_failed": True,
                         "reserve_price": RESERVE_PRICE, "note": SECRET_NOTE,
                         "terms": {"deposit": "20%", "floor": RESERVE_PRICE}})
    never = [RESERVE_PRICE, SECRET_NOTE]

    registered(run, "LEAK-COT")
    run.complete("发布招标公告", "agency", {
        "title": "杭州市某中学新建教学楼工程施工招标公告", "body": "欢迎符合条件的投标人参加投标",
        "notice_published_on": "2026-03-02", "docs_issued_on": "2026-03-02", "doc_sale_end": "2026-03-07",
        "bid_deadline": "2026-03-23T09:30:00+08:00", "opening_place": "杭州市公共资源交易中心（电子开标）"})
    bidders = run.bidders_bid(3)
    bidder_secrets = [b.name for b in bidders] + [b.org for b in bidders]
    # an objection names its objector, a confidential field: it must not be published with anything
    run.complete("招标文件澄清与异议处理", "agency", {"action": "clarify", "clarification_issued_on": "2026-03-05",
                                             "clarification_summary": "更正工程量清单第3项", "title": "澄清公告"})
    read = assert_no_secret(app, http, never + bidder_secrets, "before opening")
    assert read > 10

    run.open_and_decrypt(bidders, bidders)
    run.add_experts(5)
    run.complete("抽取评标专家", "staff", {"expert_specialties": [SPECIALTY], "evaluation_date": "2026-03-23"})
    members = run.committee()["members"]
    experts = [run.call("GET", f"/api/v1/experts/{m['expert_id']}", "staff") for m in members]
    expert_secrets = [e["name"] for e in experts]
    assert len(expert_secrets) >= 5 and all(expert_secrets)
    run.evaluate({b.org: (10_000_000 + 100_000 * i, 50 - i) for i, b in enumerate(bidders)})
    view = run.complete("评标结束", "staff", {"report_received_on": "2026-03-23"})
    candidates = view["variables"]["candidates"]
    assert_no_secret(app, http, never + expert_secrets, "after opening, before the result")

    run.set_clock("2026-03-24T09:00:00+08:00")
    run.complete("公示中标候选人", "agency", {"publicity_started_on": "2026-03-24", "title": "中标候选人公示",
                                        "publicity_media": "浙江省公共资源交易服务平台",
                                        "candidates_summary": "第一名：" + bidders[0].name})
    run.advance("2026-03-28T00:00:01+08:00", "确定中标人")
    assert_no_secret(app, http, never + expert_secrets, "during the candidates' publicity")
    run.set_clock("2026-03-30T09:00:00+08:00")
    run.complete("确定中标人", "purchaser", {"winner_uscc": candidates[0], "decided_on": "2026-03-30"})
    run.complete("发出中标通知书", "agency", {"award_notice_on": "2026-03-30", "title": "中标结果公告"})

    # the result is out: the candidates' names were published lawfully with the publicity; secrets never
    kinds = [i["kind"] for i in http.get(f"{PUBLIC}/feed").get_json()["items"]]
    assert kinds == ["announcement", "result", "announcement", "change", "candidates", "result"]
    shown = http.get(f"{PUBLIC}/publications", query_string={"kind": "candidates"}).get_json()["items"][0]
    assert bidders[0].name in shown["data"]["candidates_summary"]
    assert_no_secret(app, http, never, "after the result")
