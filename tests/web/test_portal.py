"""In the browser, without signing in: search the portal, open a published result, and follow it to the trade's
page with its unified code and timeline; confidential fields never show."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.disclosure.support import RESERVE_PRICE, SECRET_NOTE, Demo

TITLE = "西湖区某小学运动场改造工程施工招标公告"


def test_the_public_finds_a_published_result_and_its_trade(
    page: Any, shot: Callable[..., Any], client: Any, make_user: Callable[..., dict[str, str]],
) -> None:
    demo = Demo.deployed(client, make_user)
    demo.full_trade("WEB-PUB-1", category="G", title=TITLE)
    demo.full_trade("WEB-PUB-2", category="Z", title="某单位办公设备采购公告")
    [result] = demo.get("/publications", kind="result", q="成交结果", category="G")["items"]
    code = result["trade_code"]

    page.goto("/")
    assert page.is_visible("#login-link") and page.is_hidden("[data-nav='web.inbox']")
    page.locator("#publications li").first.wait_for()
    assert page.locator("#publications li").count() == 6  # both trades: announcement, result, change notice

    # Results of construction trades only: one.
    page.select_option("#category", "G")
    page.select_option("#kind", "result")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#publications li")).to_have_count(1)
    item = page.locator("#publications li[data-kind='result']")
    assert "成交结果公告" in item.inner_text() and code in item.inner_text()
    assert "kind=result" in page.url and "category=G" in page.url
    shot("search")

    item.locator("a.title").click()
    page.wait_for_url(f"**/publications/{result['id']}")
    expect(page.locator("#pub-title")).to_have_text("成交结果公告")
    facts = page.inner_text("#pub-facts")
    assert "成交/出让结果" in facts and "工程建设" in facts and code in facts
    assert "浙江某建设有限公司" in page.inner_text("#pub-data")
    content = page.content()
    assert RESERVE_PRICE not in content and SECRET_NOTE not in content and "审核人甲" not in content
    shot("result")

    page.click(f"#pub-facts a[href='/trades/{code}']")
    page.wait_for_url(f"**/trades/{code}")
    expect(page.locator("#trade-title")).to_have_text(TITLE)
    assert page.inner_text("#trade-code") == code
    timeline = page.locator("#trade-timeline li")
    assert timeline.count() == 3
    assert [timeline.nth(i).get_attribute("data-kind") for i in range(3)] == ["announcement", "result", "change"]
    assert "已更正" in timeline.nth(0).inner_text()  # the change notice superseded the announcement
    assert "浙江某建设有限公司" in page.inner_text("#trade-result")
    shot("trade")
