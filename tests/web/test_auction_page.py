"""In the browser: two bidders follow one live auction; each sees the other's bid by paddle within seconds without
reloading, its own standing, the server's refusal in place, and the result after close without the reserve figure."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from domain.access import SYSTEM
from services import definitions, instances, tasks
from services.platform import Platform
from tests.trading.auctions.conftest import BPMN, KEY, REGION, STAFF, at, auction_terms, pay, uscc
from tests.web.conftest import WAIT_MS, login

RESERVE = "1008000.00"


def open_auction(platform: Platform) -> tuple[str, int]:
    """The test auction flow up to an open 拍卖 (start 1,000,000, increment 10,000, a reserve), bidders 1 and 2 paid."""
    definitions.deploy_bytes(platform, BPMN.read_bytes(), SYSTEM)
    platform.clock.set(at(2026, 10, 9, 9, 0))
    view, _ = instances.start(platform, STAFF, KEY, "WEB-AUCTION-1",
                              auction_terms(reserve_price=RESERVE), REGION)
    for n in (1, 2):
        pay(platform, view["id"], n)
    task = next(t for t in view["tasks"] if t["element_id"] == "register")
    opened = tasks.complete(platform, STAFF, task["id"], {})
    return str(view["id"]), int(opened["variables"]["auction_id"])


@pytest.fixture
def second_page(browser: Any, server: str) -> Iterator[Any]:
    """Bidder B's own browser context (its own storage, so its own session); script errors fail the test."""
    context = browser.new_context(base_url=server, viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"uncaught errors in B's page: {errors}"


def bid(tab: Any, amount: str | None, capital: str | None = None) -> None:
    """Type an amount (None: the quick-fill of the minimum), check the confirmation, then confirm."""
    if amount is None:
        tab.click("#fill-minimum")
    else:
        tab.fill("#bid-amount", amount)
    tab.click("#bid-submit")
    expect(tab.locator("#bid-confirm")).to_be_visible()
    if capital is not None:
        expect(tab.locator("#confirm-capital")).to_have_text(capital)
    tab.click("#confirm-bid")
    expect(tab.locator("#bid-confirm")).to_be_hidden()


def test_two_bidders_follow_and_outbid_each_other_live(
    page: Any, second_page: Any, shot: Callable[..., Any], platform: Platform,
    web_user: Callable[..., dict[str, str]],
) -> None:
    instance_id, auction_id = open_auction(platform)
    web_user("auction_a", "bidder", org=uscc(1))
    web_user("auction_b", "bidder", org=uscc(2))
    platform.clock.set(at(2026, 10, 10, 9, 30))
    a, b = page, second_page

    # A finds the auction from the inbox through the trade's auction list.
    login(a, "auction_a")
    a.wait_for_url("**/inbox")
    a.fill("#auction-instance", instance_id)
    a.click("#auction-goto button")
    a.wait_for_url(f"**/auctions?instance={instance_id}")
    a.click(f"#auctions-table a[href='/auctions/{auction_id}']")
    a.wait_for_url(f"**/auctions/{auction_id}")
    expect(a.locator("#kind-badge")).to_have_text("拍卖")
    expect(a.locator("#standing")).to_have_text("尚未出价")
    paddle_a = a.inner_text("#my-paddle")
    assert re.fullmatch(r"\d{3}", paddle_a)
    # The countdown runs on the server's (fake) clock: about 30 minutes to the 10:00 close.
    assert re.fullmatch(r"00:(29|30):\d\d", a.inner_text("#countdown")), a.inner_text("#countdown")
    assert "2026-10-10 10:00:00" in a.inner_text("#auction-facts")

    login(b, "auction_b")
    b.goto(f"/auctions/{auction_id}")
    expect(b.locator("#current-price")).to_have_text("暂无报价")
    paddle_b = b.inner_text("#my-paddle")
    assert re.fullmatch(r"\d{3}", paddle_b) and paddle_b != paddle_a
    b.evaluate("window.notReloaded = true")
    a.evaluate("window.notReloaded = true")

    # A bids the start price by the quick-fill button, confirming the amount in 大写.
    bid(a, None, "壹佰万元整")
    expect(a.locator("#bid-message")).to_contain_text("出价成功")
    expect(a.locator("#standing")).to_have_text("领先")
    # B's page follows by long polling: the new price, the bid by paddle, B's standing, no reload.
    expect(b.locator("#current-price")).to_have_text("1,000,000.00")
    expect(b.locator(f"#history-table tbody tr[data-paddle='{paddle_a}']")).to_have_count(1)
    expect(b.locator("#standing")).to_have_text("尚未出价")
    expect(b.locator("#minimum-bid")).to_have_text("1,010,000.00 元")
    assert b.evaluate("window.notReloaded") is True
    shot("b-sees-a", on=b)

    # B outbids; A sees it is outbid.
    bid(b, "1,010,000", "壹佰零壹万元整")
    expect(b.locator("#standing")).to_have_text("领先")
    expect(a.locator("#current-price")).to_have_text("1,010,000.00")
    expect(a.locator("#standing")).to_have_text("已被超越")
    expect(a.locator("#history-table tbody tr")).to_have_count(2)
    assert a.inner_text("#history-table tbody tr:first-child td:nth-child(2)") == paddle_b
    assert a.evaluate("window.notReloaded") is True

    # A too-low bid: the server's 422 message in place, nothing recorded.
    bid(a, "1005000")
    expect(a.locator("#bid-message.error")).to_contain_text("低于当前最高价 1010000.00 元加一个加价幅度")
    expect(a.locator("#bid-message")).to_contain_text("最低 1020000.00 元")
    expect(a.locator("#standing")).to_have_text("已被超越")
    shot("a-outbid-refused")

    # The close time passes: the timer worker closes the auction and both pages show the result.
    platform.clock.set(at(2026, 10, 10, 10, 0, 5))
    for tab in (a, b):
        expect(tab.locator("#result-outcome")).to_have_text("成交")
        expect(tab.locator("#result")).to_contain_text(f"成交价 1,010,000.00 元（壹佰零壹万元整），竞得人竞买号 {paddle_b}")
        expect(tab.locator("#feed-status")).to_have_text("竞价已结束")
        assert tab.locator("#bid-panel").is_hidden()
        content = tab.content()
        # Never a bidder's name on the page, and the reserve only as "met", never its figure.
        assert "有限公司" not in content
        assert "1,008,000" not in content and "1008000" not in content
    expect(b.locator("#standing")).to_have_text("已竞得")
    expect(a.locator("#standing")).to_have_text("未竞得")
    shot("closed-a")
    shot("closed-b", on=b)
