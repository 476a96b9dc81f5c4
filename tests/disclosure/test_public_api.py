"""The public read API without a token: filters, search, paging, a trade's timeline, the change feed."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.disclosure.support import API, Demo


@pytest.fixture
def demo(client: Any, make_user: Callable[..., dict[str, str]]) -> Demo:
    return Demo.deployed(client, make_user)


@pytest.fixture
def trades(demo: Demo) -> dict[str, str]:
    """Three trades: works in Hangzhou, procurement in Ningbo, works in Jiangsu; three items each."""
    codes = {}
    for key, category, region, title in (("PUB-HZ", "G", "330100", "杭州市某中学教学楼施工招标公告"),
                                         ("PUB-NB", "Z", "330200", "宁波市办公设备采购公告"),
                                         ("PUB-JS", "G", "320100", "南京市道路改造工程招标公告")):
        codes[key] = demo.full_trade(key, category, region, title)["variables"]["trade_code"]
    return codes


def test_every_public_endpoint_answers_without_a_token(demo: Demo, trades: dict[str, str]) -> None:
    item = demo.get("/publications")["items"][0]
    for path in ("/publications", f"/publications/{item['id']}", f"/trades/{item['trade_code']}", "/feed",
                 f"/ocds/{item['ocid']}", "/ocds/releases"):
        assert demo.client.get(f"{API}/public{path}").status_code == 200, path


def test_filters_by_category_region_kind_and_status(demo: Demo, trades: dict[str, str]) -> None:
    everything = demo.get("/publications")
    assert everything["total"] == 9 and everything["page"] == 1
    assert {i["trade_code"] for i in demo.get("/publications", category="Z")["items"]} == {trades["PUB-NB"]}
    # a province covers its cities
    zhejiang = demo.get("/publications", region="330000")
    assert {i["trade_code"] for i in zhejiang["items"]} == {trades["PUB-HZ"], trades["PUB-NB"]}
    assert {i["trade_code"] for i in demo.get("/publications", region="330100")["items"]} == {trades["PUB-HZ"]}
    assert demo.get("/publications", region="320000", kind="result")["total"] == 1
    assert demo.get("/publications", kind="change", status="current")["total"] == 3
    assert demo.get("/publications", kind="announcement", status="current")["total"] == 0
    assert demo.get("/publications", kind="announcement", status="superseded")["total"] == 3
    assert demo.get("/publications", trade_code=trades["PUB-JS"])["total"] == 3
    assert demo.get("/publications", kind="gossip", expect=400)["error"] == "bad_request"
    assert demo.get("/publications", region="33", expect=400)["error"] == "bad_request"


def test_search_in_chinese_titles_and_wildcards_are_literal(demo: Demo, trades: dict[str, str]) -> None:
    found = demo.get("/publications", q="教学楼")["items"]
    assert [i["title"] for i in found] == ["杭州市某中学教学楼施工招标公告"]
    assert {i["trade_code"] for i in demo.get("/publications", q="招标公告")["items"]} == \
           {trades["PUB-HZ"], trades["PUB-JS"]}
    assert demo.get("/publications", q="%")["total"] == 0
    assert demo.get("/publications", q="_")["total"] == 0
    assert demo.get("/publications", q="变更公告", region="330200")["total"] == 1


def test_date_range_and_paging(demo: Demo, trades: dict[str, str]) -> None:
    today = demo.get("/publications")["items"][0]["published_at"][:10]
    same_day: dict[str, Any] = {"from": today, "to": today}
    long_ago: dict[str, Any] = {"from": "2000-01-01", "to": "2000-01-02"}
    assert demo.get("/publications", **same_day)["total"] == 9
    assert demo.get("/publications", **long_ago)["total"] == 0
    pages = [demo.get("/publications", per_page=4, page=n)["items"] for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 4, 1]
    ids = [i["id"] for p in pages for i in p]
    assert len(set(ids)) == 9 and ids == sorted(ids, reverse=True)  # newest first


def test_a_trade_shows_its_timeline_and_an_unknown_one_is_404(demo: Demo, trades: dict[str, str]) -> None:
    code = trades["PUB-NB"]

    trade = demo.get(f"/trades/{code}")

    assert trade["trade_code"] == code and trade["ocid"] == f"ocds-ggzy01-{code}"
    assert (trade["category"], trade["category_name"], trade["region"]) == ("Z", "政府采购", "330200")
    assert [p["kind"] for p in trade["publications"]] == ["announcement", "result", "change"]
    assert all(p["trade_code"] == code for p in trade["publications"])
    assert trade["status"] == "completed" and trade["latest_kind"] == "change"
    assert demo.get("/trades/330100-G-2099-000001", expect=404)["error"] == "not_found"
    assert demo.get("/publications/999999", expect=404)["error"] == "not_found"


def test_a_registered_trade_that_published_nothing_is_not_shown(demo: Demo) -> None:
    view = demo.start("PUB-QUIET")

    demo.get(f"/trades/{view['variables']['trade_code']}", expect=404)


def test_the_feed_pages_by_cursor_in_order_and_replays(demo: Demo, trades: dict[str, str]) -> None:
    seen: list[int] = []
    cursor = 0
    while True:
        page = demo.get("/feed", cursor=cursor, limit=4)
        seen += [i["feed_seq"] for i in page["items"]]
        assert page["cursor"] == cursor
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == list(range(1, 10))  # gap-free, ascending, each item once
    assert demo.get("/feed", cursor=cursor)["items"] == [] and demo.get("/feed", cursor=cursor)["next_cursor"] == cursor
    # a new item appears after the cursor the reader holds
    demo.full_trade("PUB-LATE")
    assert [i["feed_seq"] for i in demo.get("/feed", cursor=cursor)["items"]] == [10, 11, 12]
    # replay from the start gives the same items in the same order
    assert [i["feed_seq"] for i in demo.get("/feed", limit=500)["items"]] == list(range(1, 13))
    assert demo.get("/feed", cursor=-1, expect=400)["error"] == "bad_request"


def test_the_openapi_document_lists_the_public_endpoints_without_security(client: Any) -> None:
    spec = client.get(f"{API}/openapi.json").get_json()
    for path in ("/api/v1/public/publications", "/api/v1/public/publications/{publication_id}",
                 "/api/v1/public/trades/{trade_code}", "/api/v1/public/feed", "/api/v1/public/ocds/releases",
                 "/api/v1/public/ocds/{ocid}"):
        assert spec["paths"][path]["get"]["security"] == [], path
