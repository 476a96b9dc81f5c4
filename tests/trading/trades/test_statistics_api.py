"""GET /api/v1/statistics/trades: grouped counts, amounts, savings, bidders and failures; JSON and CSV; by region."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.platform import Platform

from .support import TZ, awarded, deploy, failed, run_trade

Headers = dict[str, str]
URL = "/api/v1/statistics/trades"


@pytest.fixture
def seeded(platform: Platform) -> None:
    deploy(platform)
    run_trade(platform, "S-1", datetime(2026, 3, 10, 10, tzinfo=TZ), trade_category="G",
              **awarded(1, "900.00", budget="1000.00", bidders=3))
    run_trade(platform, "S-2", datetime(2026, 3, 20, 10, tzinfo=TZ), trade_category="G",
              **failed(bidders=2))
    run_trade(platform, "S-3", datetime(2026, 4, 2, 10, tzinfo=TZ), trade_category="Z",
              **awarded(2, "450.50", budget="500.00", bidders=5))
    # the last half hour of April in Shanghai: the month is counted in the platform's zone
    run_trade(platform, "S-4", datetime(2026, 4, 30, 23, 30, tzinfo=TZ), region="330200", trade_category="Z",
              **awarded(3, "1000.00", budget=None, bidders=4))
    run_trade(platform, "S-5", datetime(2026, 4, 5, 10, tzinfo=TZ), region="320100", trade_category="G",
              **awarded(4, "2000.00", budget="2500.00", bidders=6))


def get(client: FlaskClient, who: Headers, expect: int = 200, query: dict[str, str] | None = None,
        **more: str) -> Any:
    response = client.get(URL, headers=who, query_string={**(query or {}), **more})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def keys(rows: list[dict[str, Any]], *names: str) -> list[tuple[Any, ...]]:
    return [tuple(r[n] for n in names) for r in rows]


@pytest.mark.usefixtures("seeded")
def test_grouped_by_category_region_and_month(client: FlaskClient, make_user: Callable[..., Headers]) -> None:
    out = get(client, make_user("admin"), group_by="category,region,month")
    assert out["group_by"] == ["category", "region", "month"]
    assert keys(out["rows"], "category", "region", "month", "trade_count") == [
        ("G", "320100", "2026-04", 1), ("G", "330100", "2026-03", 2), ("Z", "330100", "2026-04", 1),
        ("Z", "330200", "2026-04", 1)]
    g_hz = out["rows"][1]
    assert g_hz["category_name"] == "工程建设"
    assert (g_hz["awarded_count"], g_hz["failed_count"], g_hz["failed_rate"]) == (1, 1, 0.5)
    assert (g_hz["award_amount"], g_hz["savings_amount"], g_hz["savings_rate"]) == ("900.00", "100.00", 0.1)
    assert g_hz["average_bidders"] == 2.5
    z_nb = out["rows"][3]  # awarded without a budget: counted, but not in the savings
    assert (z_nb["award_amount"], z_nb["compared_budget"], z_nb["savings_rate"]) == ("1000.00", "0.00", None)
    total = out["total"]
    assert (total["trade_count"], total["awarded_count"], total["failed_count"]) == (5, 4, 1)
    assert (total["award_amount"], total["compared_budget"], total["compared_award"]) == ("4350.50", "4000.00",
                                                                                       "3350.50")
    assert (total["savings_amount"], total["savings_rate"]) == ("649.50", 0.1624)
    assert (total["failed_rate"], total["average_bidders"]) == (0.2, 4.0)


@pytest.mark.usefixtures("seeded")
def test_a_supervisor_sees_only_the_region_it_supervises(client: FlaskClient,
                                                         make_user: Callable[..., Headers]) -> None:
    city = make_user("supervisor", region="330100")
    out = get(client, city, group_by="region,category")
    assert keys(out["rows"], "region", "category", "trade_count") == [("330100", "G", 2), ("330100", "Z", 1)]
    assert out["total"]["trade_count"] == 3 and out["scope"] == "330100"
    assert get(client, city, 403, region="330200")["error"] == "forbidden"
    province = make_user("supervisor", region="330000")
    assert keys(get(client, province, group_by="month")["rows"], "month", "trade_count") == [
        ("2026-03", 2), ("2026-04", 2)]
    assert get(client, province, region="330200")["total"]["trade_count"] == 1
    assert get(client, make_user("staff", region="320000"))["total"]["trade_count"] == 1


@pytest.mark.usefixtures("seeded")
def test_filters_by_period_and_category(client: FlaskClient, make_user: Callable[..., Headers]) -> None:
    admin = make_user("admin")
    assert get(client, admin, query={"from": "2026-04", "to": "2026-04"})["total"]["trade_count"] == 3
    assert get(client, admin, query={"from": "2026-03-11", "to": "2026-03-20"})["total"]["trade_count"] == 1
    assert get(client, admin, to="2026-03-19")["total"]["trade_count"] == 1
    assert get(client, admin, category="Z")["total"]["award_amount"] == "1450.50"
    assert get(client, admin, category="Z,G", group_by="category")["total"]["trade_count"] == 5
    assert get(client, admin, query={"from": "2027-01-01"})["rows"] == []


@pytest.mark.usefixtures("seeded")
def test_csv_for_excel(client: FlaskClient, make_user: Callable[..., Headers]) -> None:
    admin = make_user("admin")
    response = client.get(URL, headers=admin, query_string={"group_by": "category,month", "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["交易类别", "类别名称", "月份", "交易数", "成交数"]
    assert "行政区划" not in rows[0]
    assert [r[:4] for r in rows[1:]] == [["G", "工程建设", "2026-03", "2"], ["G", "工程建设", "2026-04", "1"],
                                         ["Z", "政府采购", "2026-04", "2"], ["合计", "", "", "5"]]
    by_accept = client.get(URL, headers={**admin, "Accept": "text/csv"}, query_string={"group_by": "region"})
    assert by_accept.mimetype == "text/csv" and by_accept.data.decode("utf-8-sig").startswith("行政区划,交易数")
    assert client.get(URL, headers={**admin, "Accept": "application/json"}).mimetype == "application/json"


def test_who_may_ask_and_what_is_refused(client: FlaskClient, make_user: Callable[..., Headers]) -> None:
    assert get(client, make_user("supervisor"))["rows"] == []  # nothing recorded yet
    assert get(client, make_user("admin"))["total"]["trade_count"] == 0
    for role in ("bidder", "purchaser", "agency", "integrator"):
        assert get(client, make_user(role), 403)["error"] == "forbidden"
    assert client.get(URL).status_code == 401
    admin = make_user("admin")
    assert get(client, admin, 422, group_by="category,bidder")["errors"][0]["field"] == "group_by"
    assert get(client, admin, 422, query={"from": "2026-13"})["errors"][0]["field"] == "from"
    assert client.get(URL, headers=admin, query_string={"format": "xml"}).status_code in (400, 422)
