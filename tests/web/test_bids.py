"""In the browser: a bidder seals a bid file (AES-256-GCM in the page), uploads it with a progress bar, gets the
receipt; the platform holds only ciphertext that the key shown to the bidder opens."""
from __future__ import annotations

import base64
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from persistence.models_bids import Bid
from services import instances, tasks
from services.platform import Platform
from services.trading import bid_storage
from services.users import authenticate
from tests.web.conftest import login
from tests.web.test_inbox import REGION, START, START_FORM

BIDDER_ORG = "91330100MA2B3C4D5E"


def open_for_bids(platform: Platform, staff: str, agency: str, purchaser: str) -> str:
    """sample_review up to a confirmed bid deadline (2026-09-30 09:30), the clock two days before it."""
    with platform.db.sessions() as session:
        who = {name: authenticate(session, token) for name, token in
               (("staff", staff), ("agency", agency), ("purchaser", purchaser))}
    view, _ = instances.start(platform, who["staff"], "sample_review", "WEB-BID-1", START_FORM, region=REGION)
    view = tasks.complete(platform, who["agency"], view["tasks"][0]["id"],
                          {"reply_content": "维持招标文件", "replied_on": "2026-09-28"})
    tasks.complete(platform, who["purchaser"], view["tasks"][0]["id"],
                   {"bid_deadline": "2026-09-30T09:30:00+08:00", "opening_place": "杭州市公共资源交易中心"})
    return str(view["id"])


def test_a_bidder_seals_and_uploads_a_bid_with_progress(
    page: Any, shot: Callable[..., Any], platform: Platform, web_user: Callable[..., dict[str, str]],
) -> None:
    platform.clock.set(datetime.fromisoformat(START))
    instance_id = open_for_bids(platform, web_user("bid_staff", "staff", region=REGION)["token"],
                                web_user("bid_agency", "agency", region=REGION)["token"],
                                web_user("bid_purchaser", "purchaser", region=REGION)["token"])
    web_user("bid_bidder", "bidder", org=BIDDER_ORG)
    plain = os.urandom(3 * 1024 * 1024)  # big enough for several progress events

    login(page, "bid_bidder")
    page.wait_for_url("**/inbox")
    page.fill("#bid-instance", instance_id)
    page.click("#bid-goto button")
    page.wait_for_url(f"**/bids/{instance_id}")
    # The page's own "—" placeholder is in #receipts before the script runs: wait for what the script writes.
    page.wait_for_selector("#bid-facts dd")
    assert "2026-09-30 09:30" in page.inner_text("#bid-facts")
    assert page.inner_text("#receipts") == "尚未递交"

    page.set_input_files("#bid-file", files=[{"name": "投标文件.pdf", "mimeType": "application/pdf", "buffer": plain}])
    page.click("#bid-submit")
    page.wait_for_selector("#bid-message.ok")
    assert "已递交，回执编号" in page.inner_text("#bid-message")
    assert "width: 100%" in (page.get_attribute("#bid-progress", "style") or "")
    assert "已上传 100%" in page.inner_text("#bid-progress-text")
    page.locator("#receipts li").wait_for()
    assert "已递交" in page.inner_text("#receipts")
    key = base64.b64decode(page.inner_text("#bid-key-value"))
    shot("uploaded")

    with platform.db.sessions() as session:
        [bid] = session.scalars(select(Bid).where(Bid.instance_id == instance_id)).all()
        assert bid.bidder_org == BIDDER_ORG and bid.submitted_by == "bid_bidder"
        assert bid.receipt_no in page.inner_text("#receipts")
        envelope = bid_storage.cipher_path(bid.storage_key).read_bytes()
    assert len(envelope) == len(plain) + 12 + 16 and plain[:4096] not in envelope
    assert AESGCM(key).decrypt(envelope[:12], envelope[12:], None) == plain
