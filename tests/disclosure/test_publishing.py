"""Publishing on completion: same transaction, confidential fields left out, corrections, immutability."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from domain.errors import Conflict
from persistence.models_publications import Publication
from services.platform import Platform
from tests.disclosure.support import API, RESERVE_PRICE, SECRET_NOTE, WINNER, Demo, process_xml


@pytest.fixture
def demo(client: Any, make_user: Callable[..., dict[str, str]]) -> Demo:
    return Demo.deployed(client, make_user)


def test_each_publishing_task_writes_one_item_with_the_trade_code(demo: Demo) -> None:
    view = demo.start("DISC-1")
    code = view["variables"]["trade_code"]
    assert demo.get("/feed")["items"] == []  # registering publishes nothing

    demo.complete(view, {"title": "某工程施工招标公告", "body": "详见招标文件", "published_on": "2026-03-02"})

    [item] = demo.get("/feed")["items"]
    assert item["trade_code"] == code and item["ocid"] == f"ocds-ggzy01-{code}"
    assert (item["kind"], item["title"], item["body"]) == ("announcement", "某工程施工招标公告", "详见招标文件")
    assert item["data"] == {"published_on": "2026-03-02"} and item["labels"] == {"published_on": "发布日期"}
    assert (item["category"], item["category_name"], item["region"]) == ("G", "工程建设", "330100")
    assert item["status"] == "current" and item["supersedes"] is None and item["process_key"] == "disclosure_demo"
    assert item["published_at"].endswith("+08:00")
    events = demo.client.get(f"{API}/process-instances/{view['id']}/events", headers=demo.staff).get_json()
    assert [e["data"]["publication_id"] for e in events if e["type"] == "publication.published"] == [item["id"]]


def test_confidential_fields_never_reach_the_published_item(demo: Demo) -> None:
    demo.full_trade("DISC-2")

    [result] = demo.get("/publications", kind="result")["items"]
    assert result["data"] == {"winner_name": "浙江某建设有限公司", "winner_uscc": WINNER, "award_amount": "9800000.00",
                              "bidder_count": 4, "terms": {"deposit": "10%"}}
    assert "保留价" not in result["labels"].values()
    for path in ("/publications", "/feed", f"/publications/{result['id']}", f"/trades/{result['trade_code']}"):
        body = demo.client.get(f"{API}/public{path}").get_data(as_text=True)
        assert RESERVE_PRICE not in body and SECRET_NOTE not in body and "审核人甲" not in body


def test_a_change_notice_supersedes_the_announcement_and_never_edits_it(demo: Demo) -> None:
    demo.full_trade("DISC-3")

    items = demo.get("/feed")["items"]
    announcement, result, change = items
    assert change["kind"] == "change" and change["supersedes"] == announcement["id"]
    announcement_now = demo.get(f"/publications/{announcement['id']}")
    assert announcement_now["status"] == "superseded" and announcement_now["superseded_by"] == change["id"]
    # the old item is as it was published: only the derived status moved
    assert {k: v for k, v in announcement_now.items() if k not in ("status", "superseded_by")} == \
           {k: v for k, v in announcement.items() if k not in ("status", "superseded_by")}
    assert result["supersedes"] is None
    assert [i["id"] for i in demo.get("/publications", status="current")["items"]] == [change["id"], result["id"]]
    assert [i["id"] for i in demo.get("/publications", status="superseded")["items"]] == [announcement["id"]]


def test_an_explicit_correction_names_an_item_of_the_same_trade_not_yet_corrected(demo: Demo) -> None:
    other = demo.start("DISC-OTHER")
    other = demo.complete(other, {"title": "另一交易公告"})
    view = demo.start("DISC-4")
    view = demo.complete(view, {"title": "原公告"})
    [first, mine] = demo.get("/feed")["items"]
    view = demo.complete(view, {"title": "结果公告", "trade_failed": True})

    refused = demo.complete(view, {"title": "更正", "corrects": first["id"]}, expect=422)
    assert refused["errors"][0]["field"] == "/corrects"
    assert len(demo.get("/feed")["items"]) == 3  # the refused completion published nothing
    demo.complete(view, {"title": "更正公告", "corrects": mine["id"]})
    correction = demo.get("/feed")["items"][-1]
    assert correction["supersedes"] == mine["id"] and "corrects" not in correction["data"]


def test_a_refused_completion_leaves_no_publication(demo: Demo, platform: Platform) -> None:
    view = demo.start("DISC-5")
    # the form refuses the data: nothing of the step is written, the publication neither
    demo.complete(view, {"title": "", "published_on": "not a date"}, expect=422)
    with platform.db.sessions() as session:
        assert session.scalars(select(Publication)).all() == []


def test_publishing_needs_a_registered_trade(demo: Demo, client: Any) -> None:
    xml = process_xml("disclosure_unregistered").replace(
        '<bpmn:serviceTask id="Service_Register" name="登记" ggzy:service="tender.register"/>',
        '<bpmn:scriptTask id="Service_Register" name="不登记"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>')
    assert client.post(f"{API}/process-definitions", data=xml.encode(), content_type="application/xml",
                       headers=demo.designer).status_code == 201
    view = client.post(f"{API}/process-instances", headers=demo.staff, json={
        "process_key": "disclosure_unregistered", "business_key": "U-1", "region": "330100"}).get_json()

    refused = demo.complete(view, {"title": "无编码的公告"}, expect=409)

    assert "统一交易编码" in refused["message"]


def test_the_deploy_check_refuses_an_unknown_kind(demo: Demo, client: Any) -> None:
    xml = process_xml("disclosure_bad", notice_kind="gossip")

    response = client.post(f"{API}/process-definitions", data=xml.encode(), content_type="application/xml",
                           headers=demo.designer)

    assert response.status_code == 422
    assert any(e["element_id"] == "Task_Notice" and "未知的公开类型" in e["message"]
               for e in response.get_json()["errors"])


def test_the_deploy_check_refuses_a_publishing_form_without_a_title(demo: Demo, client: Any) -> None:
    client.put(f"{API}/forms/disc_untitled", json={"type": "object", "properties": {"x": {"type": "string"}}},
               headers=demo.designer)
    xml = process_xml("disclosure_untitled").replace('camunda:formKey="disc_notice"\n  ggzy:publish="announcement"',
                                                     'camunda:formKey="disc_untitled"\n  ggzy:publish="announcement"')

    response = client.post(f"{API}/process-definitions", data=xml.encode(), content_type="application/xml",
                           headers=demo.designer)

    assert response.status_code == 422
    assert "title" in response.get_json()["errors"][0]["message"]


def test_published_rows_cannot_be_updated_by_the_service_layer_or_by_sql(demo: Demo, platform: Platform) -> None:
    demo.full_trade("DISC-6")

    def edit(session: Any) -> None:
        row = session.scalars(select(Publication).limit(1)).one()
        row.title = "篡改后的标题"
        session.flush()

    with pytest.raises(Conflict):
        platform.db.run(edit)
    with pytest.raises(DBAPIError), platform.db.engine.begin() as connection:
        connection.execute(text("UPDATE publications SET title = '篡改后的标题'"))
    titles = {i["title"] for i in demo.get("/feed")["items"]}
    assert "篡改后的标题" not in titles and len(titles) == 3
