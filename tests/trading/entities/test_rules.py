"""Which qualification and which listing count on a day, and how a refusal names the listing; no database."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import Invalid
from trading.entities import (
    Listing,
    blacklist_message,
    check_period,
    date_field,
    describe,
    in_force,
    in_period,
    optional_text,
    text_field,
)

AT = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
LISTING = Listing("black", "信用中国", "串通投标", "闽建〔2026〕12号", date(2026, 1, 1), date(2026, 6, 30))


def test_a_period_includes_both_ends():
    assert in_period(date(2026, 1, 1), date(2026, 6, 30), date(2026, 1, 1))
    assert in_period(date(2026, 1, 1), date(2026, 6, 30), date(2026, 6, 30))
    assert not in_period(date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 1))
    assert not in_period(date(2026, 1, 1), date(2026, 6, 30), date(2025, 12, 31))


def test_no_end_means_indefinite():
    assert in_period(date(2026, 1, 1), None, date(2099, 1, 1))


def test_a_period_may_not_end_before_it_starts():
    check_period(date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(Invalid, match="早于"):
        check_period(date(2026, 1, 2), date(2026, 1, 1))


def test_a_listing_counts_in_its_period_until_revoked():
    assert in_force(LISTING, AT, date(2026, 6, 30))
    assert not in_force(LISTING, AT, date(2026, 7, 1))
    revoked = Listing(**{**LISTING.__dict__, "revoked_at": AT - timedelta(seconds=1)})
    assert not in_force(revoked, AT, date(2026, 6, 30))
    # Asked about a moment before the revocation, the listing still counted then.
    later = Listing(**{**LISTING.__dict__, "revoked_at": AT + timedelta(hours=1)})
    assert in_force(later, AT, date(2026, 6, 30))


def test_describe_names_source_document_reason_and_validity():
    text = describe(LISTING)
    assert text == "来源：信用中国，文号：闽建〔2026〕12号，事由：串通投标，有效期 2026-01-01 至 2026-06-30"
    open_ended = Listing("black", "住建部", "转包", None, date(2026, 1, 1), None)
    assert describe(open_ended) == "来源：住建部，事由：转包，有效期自 2026-01-01 起长期有效"


def test_the_refusal_names_the_entity_and_every_listing():
    second = Listing("black", "住建部", "转包", None, date(2026, 2, 1), None)
    message = blacklist_message("91350100M000100Y43", "福州某建设有限公司", [LISTING, second], "参与投标")
    assert message.startswith("福州某建设有限公司（统一社会信用代码 91350100M000100Y43）被列入信用黑名单（来源：信用中国")
    assert "事由：转包" in message and message.endswith("，不得参与投标")
    anonymous = blacklist_message("91350100M000100Y43", None, [LISTING], "投标")
    assert anonymous.startswith("统一社会信用代码为 91350100M000100Y43 的主体被列入信用黑名单")


def test_text_and_date_fields():
    assert text_field({"name": "  某公司 "}, "name", 10) == "某公司"
    assert optional_text({"name": "  "}, "name", 10) is None
    with pytest.raises(Invalid, match="不能为空"):
        text_field({"name": " "}, "name", 10)
    with pytest.raises(Invalid, match="不能超过 3"):
        text_field({"name": "四个字符"}, "name", 3)
    with pytest.raises(Invalid, match="必须是文本"):
        optional_text({"name": 5}, "name", 3)
    assert date_field("2026-06-30", "d") == date(2026, 6, 30)
    assert date_field(date(2026, 6, 30), "d") == date(2026, 6, 30)
    assert date_field(None, "d") is None
    with pytest.raises(Invalid, match="不是有效日期"):
        date_field("2026-06-31", "d")
    with pytest.raises(Invalid, match="不是有效日期"):
        date_field(datetime(2026, 6, 30, tzinfo=UTC), "d")
    with pytest.raises(Invalid, match="不能为空"):
        date_field("", "d", required=True)
