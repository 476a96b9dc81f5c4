"""/api/v1/entities through the Flask client: register, read, list, update, contacts, qualifications."""
from __future__ import annotations

import pytest

API = "/api/v1/entities"
FUZHOU = "91350100M000100Y43"
SHENZHEN = "91440300708461136T"
ORG = {"uscc": FUZHOU, "name": "福州某建设有限公司", "legal_representative": "张三"}


def error(response, status):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:400])
    body = response.get_json()
    assert {"error", "message", "errors"} <= set(body)
    return body


@pytest.fixture
def staff(make_user):
    return make_user("staff", region="350100")


@pytest.fixture
def registered(client, staff):
    response = client.post(API, json=ORG, headers=staff)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_register_is_201_then_200_with_the_same_organisation(client, staff, make_user, registered):
    assert registered["uscc"] == FUZHOU and registered["region"] == "350100" and registered["type"] == "企业"
    other_region = make_user("staff", region="330100")
    again = client.post(API, json={**ORG, "uscc": FUZHOU.lower(), "name": "另一个名字"}, headers=other_region)
    assert again.status_code == 200
    assert again.get_json()["name"] == ORG["name"] and again.get_json()["created_at"] == registered["created_at"]


def test_users_of_any_region_see_the_organisation(client, make_user, registered):
    for headers in (make_user("staff", region="440300"), make_user("bidder", region="110000", org=SHENZHEN),
                    make_user("supervisor", region="330000")):
        response = client.get(f"{API}/{FUZHOU}", headers=headers)
        assert response.status_code == 200 and response.get_json()["name"] == ORG["name"]


def test_a_bidder_registers_its_own_organisation(client, make_user):
    bidder = make_user("bidder", region="440300", org=SHENZHEN)
    response = client.post(API, json={"uscc": SHENZHEN, "name": "深圳某科技有限公司"}, headers=bidder)
    assert response.status_code == 201 and response.get_json()["roles"] == ["bidder"]


def test_a_bidder_registering_someone_else_is_403(client, make_user):
    bidder = make_user("bidder", org=SHENZHEN)
    body = error(client.post(API, json=ORG, headers=bidder), 403)
    assert body["error"] == "forbidden" and "本单位" in body["message"]


def test_an_invalid_code_is_422_naming_the_check_character(client, staff):
    body = error(client.post(API, json={**ORG, "uscc": "91350100M000100Y44"}, headers=staff), 422)
    assert "第 18 位应为“3”，实际为“4”" in body["message"]
    assert body["errors"][0]["field"] == "uscc"
    error(client.get(f"{API}/91350100M000100Y44", headers=staff), 422)


def test_malformed_and_unauthenticated_requests(client, staff):
    error(client.post(API, json={"uscc": FUZHOU}, headers=staff), 400)
    error(client.post(API, json=ORG), 401)
    error(client.get(f"{API}/{SHENZHEN}", headers=staff), 404)


def test_list_filters_by_name_for_staff_only(client, staff, make_user, registered):
    client.post(API, json={"uscc": SHENZHEN, "name": "深圳某科技有限公司"}, headers=staff)
    supervisor = make_user("supervisor")
    page = client.get(f"{API}?name=建设&page=1", headers=supervisor).get_json()
    assert [o["uscc"] for o in page["items"]] == [FUZHOU] and page["total"] == 1
    assert client.get(f"{API}?per_page=1&page=2", headers=staff).get_json()["total"] == 2
    error(client.get(API, headers=make_user("bidder", org=FUZHOU)), 403)
    error(client.get(f"{API}?page=0", headers=staff), 400)


def test_patch_by_the_organisation_itself(client, make_user, registered):
    own = make_user("bidder", org=FUZHOU)
    response = client.patch(f"{API}/{FUZHOU}", json={"roles": ["bidder"], "legal_representative": "李四"}, headers=own)
    assert response.status_code == 200
    assert response.get_json()["roles"] == ["bidder"] and response.get_json()["legal_representative"] == "李四"
    error(client.patch(f"{API}/{FUZHOU}", json={"name": "x"}, headers=make_user("bidder", org=SHENZHEN)), 403)
    error(client.patch(f"{API}/{FUZHOU}", json={"region": "110000"}, headers=own), 400)


def test_contacts(client, staff, make_user, registered):
    own = make_user("bidder", org=FUZHOU)
    response = client.post(f"{API}/{FUZHOU}/contacts", json={"name": "王五", "phone": "13800000000",
                                                             "email": "wang@example.com", "role": "投标联系人"},
                           headers=own)
    assert response.status_code == 201 and response.get_json()["name"] == "王五"
    assert [c["phone"] for c in client.get(f"{API}/{FUZHOU}", headers=staff).get_json()["contacts"]] \
        == ["13800000000"]
    stranger = make_user("bidder", org=SHENZHEN)
    assert "contacts" not in client.get(f"{API}/{FUZHOU}", headers=stranger).get_json()
    error(client.post(f"{API}/{FUZHOU}/contacts", json={"name": "赵六"}, headers=stranger), 403)
    error(client.post(f"{API}/{FUZHOU}/contacts", json={"name": "赵六", "email": "nope"}, headers=own), 422)
    error(client.post(f"{API}/{SHENZHEN}/contacts", json={"name": "赵六"}, headers=staff), 404)


def test_qualifications(client, platform, staff, make_user, registered):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    platform.clock.set(datetime(2026, 7, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    url = f"{API}/{FUZHOU}/qualifications"
    cert = {"type": "建筑工程施工总承包", "grade": "一级", "certificate_no": "D135000001",
            "valid_from": "2021-01-01", "valid_until": "2026-06-30", "issuer": "福建省住房和城乡建设厅"}
    created = client.post(url, json=cert, headers=staff)
    assert created.status_code == 201 and created.get_json()["valid"] is False
    assert client.post(url, json=cert, headers=staff).status_code == 200
    other = {**cert, "type": "市政公用工程施工总承包", "grade": "二级", "certificate_no": "D235000002",
             "valid_until": None}
    assert client.post(url, json=other, headers=make_user("bidder", org=FUZHOU)).status_code == 201

    reader = make_user("bidder", org=SHENZHEN)
    every = client.get(url, headers=reader).get_json()
    assert {q["certificate_no"]: q["valid"] for q in every} == {"D135000001": False, "D235000002": True}
    assert [q["certificate_no"] for q in client.get(f"{url}?valid=true", headers=reader).get_json()] == ["D235000002"]
    assert len(client.get(f"{url}?valid=true&on=2026-06-30", headers=reader).get_json()) == 2
    assert len(client.get(f"{API}/{FUZHOU}", headers=reader).get_json()["qualifications"]) == 2

    error(client.post(url, json={**cert, "valid_until": "2020-01-01"}, headers=staff), 422)
    error(client.post(url, json={**cert, "valid_from": "not a date"}, headers=staff), 400)
    error(client.post(url, json=cert, headers=reader), 403)


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/entities", "/api/v1/entities/{code}", "/api/v1/entities/{code}/contacts",
                 "/api/v1/entities/{code}/qualifications", "/api/v1/credit/listings",
                 "/api/v1/credit/listings/{listing_id}/revoke", "/api/v1/credit/black",
                 "/api/v1/public/credit/black"):
        assert path in paths, path
