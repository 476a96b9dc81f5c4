"""OCDS 1.1: a release per published item, a compiled record per trade, checked against the package schemas."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.disclosure import ocds_schema
from tests.disclosure.support import PURCHASER, WINNER, Demo


@pytest.fixture
def demo(client: Any, make_user: Callable[..., dict[str, str]]) -> Demo:
    return Demo.deployed(client, make_user)


def test_the_schemas_catch_what_ocds_forbids() -> None:
    release = {"ocid": "ocds-ggzy01-1", "id": "1", "date": "2026-03-02T09:00:00+08:00", "tag": ["tender"],
               "initiationType": "tender"}
    package = {"uri": "http://x/p", "version": "1.1", "publishedDate": release["date"],
               "publisher": {"name": "p"}, "releases": [release]}
    assert ocds_schema.errors(ocds_schema.RELEASE_PACKAGE, package) == []
    for broken in ({**release, "tag": ["tendered"]}, {**release, "date": "2026-03-02"},
                   {k: v for k, v in release.items() if k != "ocid"}, {**release, "tender": {"status": "open"}},
                   {**release, "tender": {"id": "1", "numberOfTenders": 3}}):
        assert ocds_schema.errors(ocds_schema.RELEASE_PACKAGE, {**package, "releases": [broken]}), broken
    assert ocds_schema.errors(ocds_schema.RELEASE_PACKAGE, {**package, "version": "1.1.5"})
    # the official schema catches what it should too: a release without its ocid or with an unknown tag
    release = package["releases"][0]
    assert ocds_schema.official_errors(release) == []
    assert ocds_schema.official_errors({k: v for k, v in release.items() if k != "ocid"})
    assert ocds_schema.official_errors({**release, "tag": ["bidding"]})


def test_a_trade_is_a_valid_record_package_with_its_award_from_the_trade_result(demo: Demo) -> None:
    code = demo.full_trade("OCDS-1")["variables"]["trade_code"]
    ocid = f"ocds-ggzy01-{code}"

    package = demo.get(f"/ocds/{ocid}")

    assert ocds_schema.errors(ocds_schema.RECORD_PACKAGE, package) == []
    for release in [*package["records"][0]["releases"], package["records"][0]["compiledRelease"]]:
        assert ocds_schema.official_errors(release) == [], release["id"]
    assert package["version"] == "1.1" and package["uri"].endswith(f"/api/v1/public/ocds/{ocid}")
    [record] = package["records"]
    assert record["ocid"] == ocid
    announcement, result, change = record["releases"]
    assert [r["tag"] for r in record["releases"]] == [["tender"], ["award"], ["tenderAmendment"]]
    assert len({r["id"] for r in record["releases"]}) == 3 and all(r["ocid"] == ocid for r in record["releases"])
    assert announcement["tender"]["title"] == "某中学教学楼工程施工招标公告"
    assert announcement["tender"]["procurementMethodDetails"] == "disclosure_demo"
    [award] = result["awards"]
    assert award["suppliers"] == [{"id": f"CN-USCC-{WINNER}", "name": "浙江某建设有限公司"}]
    assert award["value"] == {"amount": 9800000.0, "currency": "CNY"}
    assert result["buyer"] == {"id": f"CN-USCC-{PURCHASER}", "name": "杭州市某中学"}
    assert result["tender"]["value"] == {"amount": 10000000.0, "currency": "CNY"}
    assert result["tender"]["numberOfTenderers"] == 4
    [amendment] = change["tender"]["amendments"]
    assert amendment["amendsReleaseID"] == announcement["id"] and amendment["releaseID"] == change["id"]
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"] and compiled["date"] == change["date"]
    assert compiled["tender"]["title"] == "变更公告：开标时间调整" and compiled["awards"] == [award]
    assert {p["id"] for p in compiled["parties"]} == {f"CN-USCC-{WINNER}", f"CN-USCC-{PURCHASER}"}


def test_before_the_result_nothing_of_the_outcome_is_shown(demo: Demo) -> None:
    view = demo.start("OCDS-2")
    demo.complete(view, {"title": "某工程招标公告"})
    code = view["variables"]["trade_code"]

    package = demo.get(f"/ocds/ocds-ggzy01-{code}")

    assert ocds_schema.errors(ocds_schema.RECORD_PACKAGE, package) == []
    [release] = package["records"][0]["releases"]
    assert "awards" not in release and "parties" not in release and "buyer" not in release
    assert release["tender"]["status"] == "active"
    demo.get("/ocds/ocds-ggzy01-330100-G-2099-000009", expect=404)
    demo.get("/ocds/not-our-prefix", expect=404)


def test_the_bulk_release_package_is_paged_and_valid(demo: Demo) -> None:
    codes = [demo.full_trade(f"OCDS-B{n}")["variables"]["trade_code"] for n in range(2)]

    first = demo.get("/ocds/releases", per_page=4)
    second = demo.client.get(first["links"]["next"]).get_json()

    for package in (first, second):
        assert ocds_schema.errors(ocds_schema.RELEASE_PACKAGE, package) == []
        for release in package["releases"]:
            assert ocds_schema.official_errors(release) == [], release["id"]
    assert len(first["releases"]) == 4 and len(second["releases"]) == 2 and "next" not in second.get("links", {})
    assert "page=2" in first["links"]["next"] and "page=1" in second["links"]["prev"]
    ids = [r["id"] for r in first["releases"] + second["releases"]]
    assert len(set(ids)) == 6
    one = demo.get("/ocds/releases", ocid=f"ocds-ggzy01-{codes[1]}")
    assert {r["ocid"] for r in one["releases"]} == {f"ocds-ggzy01-{codes[1]}"} and len(one["releases"]) == 3
    assert len(demo.get("/ocds/releases", since=4)["releases"]) == 2
