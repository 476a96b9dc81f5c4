"""The HTTP contract: roles, statutory 422s with rule and citation, secrecy of names, the evaluation calls."""
from __future__ import annotations

import pytest

from tests.trading.experts.conftest import BIDDERS, CODE, id_number, set_variables

API = "/api/v1"


@pytest.fixture
def users(make_user):
    return {
        "staff": make_user("staff", region="330100"),
        "supervisor": make_user("supervisor", region="330000"),
        "admin": make_user("admin"),
        "bidder": make_user("bidder", org=BIDDERS[0]),
        "purchaser": make_user("purchaser", region="330100"),
    }


@pytest.fixture
def committee(client, users, pool, trade, make_user):
    """A drawn committee of five whose experts are users; returns (trade, body, {member id: headers})."""
    ids = pool.add(7)
    headers = {}
    for expert_id in ids:
        headers[expert_id] = make_user("expert", name=f"x{expert_id}")
        pool.link(expert_id, f"x{expert_id}")
    response = client.post(f"{API}/trades/{trade}/committee/draw", headers=users["staff"],
                           json={"specialties": [CODE], "reserves": 2})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return trade, body, {m["id"]: headers[m["expert_id"]] for m in body["members"]}


def test_register_and_manage_an_expert(client, users, pool):
    data = {"name": "张三", "id_number": id_number(77), "specialties": [CODE], "region": "330100"}
    assert client.post(f"{API}/experts", headers=users["bidder"], json=data).status_code == 403
    response = client.post(f"{API}/experts", headers=users["staff"], json=data)
    assert response.status_code == 201
    expert = response.get_json()
    assert expert["id_number_masked"].count("*") == 8 and "id_number" not in expert
    assert client.post(f"{API}/experts", headers=users["staff"], json=data).status_code == 409
    url = f"{API}/experts/{expert['id']}"
    response = client.put(f"{url}/availability", headers=users["staff"],
                          json={"unavailable_periods": [{"starts_on": "2026-12-01", "ends_on": "2026-12-05"}]})
    assert response.status_code == 200 and response.get_json()["unavailable_periods"][0]["ends_on"] == "2026-12-05"
    assert client.post(f"{url}/blacklist", headers=users["staff"], json={}).status_code == 400
    response = client.post(f"{url}/blacklist", headers=users["admin"], json={"reason": "收受贿赂"})
    assert response.get_json()["blacklisted"] is True
    assert client.delete(f"{url}/blacklist", headers=users["staff"]).get_json()["blacklisted"] is False
    assert client.get(url, headers=users["supervisor"]).status_code == 200
    assert client.get(url, headers=users["purchaser"]).status_code == 403
    listed = client.get(f"{API}/experts", headers=users["staff"], query_string={"specialty": CODE}).get_json()
    assert listed["total"] == 1


def test_an_even_committee_is_a_422_with_rule_and_citation(client, users, pool, trade):
    pool.add(8)
    response = client.post(f"{API}/trades/{trade}/committee/draw", headers=users["staff"],
                           json={"specialties": [CODE], "size": 6})
    assert response.status_code == 422
    body = response.get_json()
    assert (body["error"], body["rule"], body["citation"]) == ("statute_violation", "cons.committee", "TBL 37")
    for role in ("supervisor", "purchaser", "bidder"):
        response = client.post(f"{API}/trades/{trade}/committee/draw", headers=users[role],
                               json={"specialties": [CODE]})
        assert response.status_code == 403, role


def test_too_few_experts_is_a_422_with_the_numbers(client, users, pool, trade):
    pool.add(3)
    response = client.post(f"{API}/trades/{trade}/committee/draw", headers=users["staff"],
                           json={"specialties": [CODE]})
    assert response.status_code == 422
    assert "仅有 3 名" in response.get_json()["message"]


def test_a_bidder_sees_only_masked_names_until_the_result(client, users, committee, platform):
    trade, body, _ = committee
    staff_view = client.get(f"{API}/trades/{trade}/committee", headers=users["staff"]).get_json()
    names = {m["name"] for m in staff_view["members"]}
    assert all(n.startswith("专家姓名") for n in names) and len(staff_view["members"]) == 7
    response = client.get(f"{API}/trades/{trade}/committee", headers=users["bidder"])
    assert response.status_code == 200
    masked = response.get_json()
    assert [m["name"] for m in masked["members"]] == ["专家1", "专家2", "专家3", "专家4", "专家5"]
    text = response.get_data(as_text=True)
    assert not any(n in text for n in names) and "expert_id" not in text and "seed" not in text
    assert masked["pending"] == 5
    purchaser = client.get(f"{API}/trades/{trade}/committee", headers=users["purchaser"]).get_json()
    assert {m["name"] for m in purchaser["members"]} == {f"专家{n}" for n in range(1, 6)}
    set_variables(platform, trade, result_published=True)
    published = client.get(f"{API}/trades/{trade}/committee", headers=users["bidder"]).get_json()
    assert {m["name"] for m in published["members"]} <= names


def test_confirm_decline_recuse_over_http(client, users, committee):
    trade, body, headers = committee
    seats = [m for m in body["members"] if m["status"] == "pending"]
    first, second, third = seats[:3]
    url = f"{API}/trades/{trade}/committee"
    assert client.post(f"{url}/{first['id']}/confirm", headers=headers[second["id"]]).status_code == 403
    assert client.post(f"{url}/{first['id']}/confirm", headers=users["staff"]).status_code == 403
    response = client.post(f"{url}/{first['id']}/confirm", headers=headers[first["id"]])
    assert response.status_code == 200 and response.get_json()["confirmed"] == 1
    response = client.post(f"{url}/{second['id']}/decline", headers=headers[second["id"]], json={"reason": "生病"})
    assert response.status_code == 200 and response.get_json()["pending"] == 4  # a reserve took the seat
    response = client.post(f"{url}/{third['id']}/recuse", headers=headers[third["id"]], json={})
    assert response.status_code == 200
    after = client.get(url, headers=users["staff"]).get_json()
    statuses = {m["id"]: m["status"] for m in after["members"]}
    assert (statuses[second["id"]], statuses[third["id"]]) == ("declined", "recused")
    assert list(statuses.values()).count("reserve") == 0 and after["vacant"] == 0
    assert client.post(f"{url}/999999/confirm", headers=headers[first["id"]]).status_code == 404


def test_replay_over_http(client, users, committee):
    trade, body, _ = committee
    draw_id = client.get(f"{API}/trades/{trade}/committee", headers=users["staff"]).get_json()["draws"][0]["id"]
    for role in ("supervisor", "staff"):
        response = client.post(f"{API}/experts/draws/{draw_id}/replay", headers=users[role])
        assert response.status_code == 200 and response.get_json() == {"draw_id": draw_id, "matches": True}
    assert client.post(f"{API}/experts/draws/{draw_id}/replay", headers=users["bidder"]).status_code == 403
    assert client.post(f"{API}/experts/draws/424242/replay", headers=users["staff"]).status_code == 404


def test_evaluation_over_http(client, users, committee, platform):
    trade, body, headers = committee
    url = f"{API}/trades/{trade}/committee"
    seated = [m for m in body["members"] if m["status"] == "pending"]
    for m in seated:
        assert client.post(f"{url}/{m['id']}/confirm", headers=headers[m["id"]]).status_code == 200
    criteria = [{"key": "tech", "kind": "technical", "max": 70}, {"key": "price", "kind": "price", "max": 30}]
    bidders = [{"uscc": BIDDERS[0], "price": "200"}, {"uscc": BIDDERS[1], "price": "250"}]
    evaluation_url = f"{API}/trades/{trade}/evaluation"
    opening = {"method": "composite", "criteria": criteria, "bidders": bidders}
    assert client.post(evaluation_url, headers=users["supervisor"], json=opening).status_code == 403
    response = client.post(evaluation_url, headers=users["staff"], json=opening)
    assert response.status_code == 201, response.get_json()
    assert client.post(evaluation_url, headers=users["staff"], json=opening).status_code == 409
    for m in seated:
        response = client.put(f"{evaluation_url}/scores", headers=headers[m["id"]], json={"scores": [
            {"bidder": BIDDERS[0], "criterion": "tech", "score": 60}, {"bidder": BIDDERS[1], "criterion": "tech",
                                                                       "score": 68.5}]})
        assert response.status_code == 200, response.get_json()
    response = client.put(f"{evaluation_url}/scores", headers=headers[seated[0]["id"]],
                          json={"scores": [{"bidder": BIDDERS[0], "criterion": "tech", "score": 71}]})
    assert response.status_code == 422
    assert client.get(evaluation_url, headers=users["bidder"]).status_code == 403
    response = client.post(f"{evaluation_url}/close", headers=users["staff"], json={})
    assert response.status_code == 200
    result = response.get_json()["result"]
    # first 60.00 + 30×200/200 = 90.00; second 68.50 + 30×200/250 = 68.50 + 24.00 = 92.50
    assert [(r["uscc"], r["total"]) for r in result["ranking"]] == [(BIDDERS[1], "92.50"), (BIDDERS[0], "90.00")]
    full = client.get(evaluation_url, headers=users["supervisor"]).get_json()
    assert len(full["scores"]) == 10
    set_variables(platform, trade, result_published=True)
    public = client.get(evaluation_url, headers=users["bidder"]).get_json()
    assert public["result"]["winner_candidate"] == BIDDERS[1] and "scores" not in public


def test_openapi_lists_the_endpoints(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for path in ("/api/v1/experts", "/api/v1/trades/{instance_id}/committee/draw",
                 "/api/v1/trades/{instance_id}/committee/{member_id}/decline",
                 "/api/v1/experts/draws/{draw_id}/replay", "/api/v1/trades/{instance_id}/evaluation/scores"):
        assert path in paths, path
