"""The offers API: who may offer, read and assess; what is refused before the documents or after the deadline."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient

from services.platform import Platform
from tests.e2e.cot_support import PURCHASER, REGION, uscc

Headers = dict[str, str]


def start(client: FlaskClient, staff: Headers) -> str:
    response = client.post("/api/v1/process-instances", headers=staff, json={
        "process_key": "gp_inquiry", "business_key": "GPI-API", "region": REGION, "variables": {
            "project_name": "办公家具采购", "purchaser_name": "某局", "purchaser_uscc": PURCHASER, "budget": 300_000}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]  # type: ignore[no-any-return]


def put(client: FlaskClient, path: str, headers: Headers, body: Any) -> Any:
    return client.put(path, headers=headers, json=body)


def test_offers_roles_regions_and_states(client: FlaskClient, platform: Platform,
                                         make_user: Callable[..., Headers]) -> None:
    platform.clock.set(datetime.fromisoformat("2026-03-02T09:00:00+08:00"))
    staff = make_user("staff", region=REGION)
    agency = make_user("agency", region=REGION)
    supplier = make_user("bidder", org=uscc(21))
    instance_id = start(client, staff)
    offers = f"/api/v1/trades/{instance_id}/offers"

    # before the inquiry notice nobody can quote
    assert put(client, offers, supplier, {"amount": "1000.00"}).status_code == 409
    # only suppliers quote; a supplier account needs its organisation
    assert put(client, offers, make_user("expert"), {"amount": "1000.00"}).status_code == 403
    assert put(client, offers, make_user("bidder"), {"amount": "1000.00"}).status_code == 403
    # amounts are strings: a JSON number is malformed
    assert put(client, offers, supplier, {"amount": 1000}).status_code == 400

    task = client.get("/api/v1/tasks", headers=agency).get_json()
    task_id = next(t["id"] for t in (task["items"] if isinstance(task, dict) else task) if t["instance_id"] == instance_id)
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=agency, json={"data": {
        "notice_issued_on": "2026-03-02", "response_deadline": "2026-03-05T09:30:00+08:00"}})
    assert done.status_code == 200, done.get_json()

    quoted = put(client, offers, supplier, {"amount": "1000.50", "supplier_name": "某家具公司"})
    assert quoted.status_code == 200 and quoted.get_json()["amount"] == "1000.50"
    # the team cannot record findings before the deadline, and a supplier never can
    finding = {"assessments": [{"supplier_uscc": uscc(21), "meets_requirements": True}]}
    assert put(client, f"{offers}/assessments", agency, finding).status_code == 409
    assert put(client, f"{offers}/assessments", supplier, finding).status_code == 403
    # other regions' staff see nothing; unknown trades are 404
    assert client.get(offers, headers=make_user("staff", region="330200")).status_code == 403
    assert client.get("/api/v1/trades/nope/offers", headers=staff).status_code == 404
    assert client.get(offers, headers=make_user("integrator")).status_code == 403
