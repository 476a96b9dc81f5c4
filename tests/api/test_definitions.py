"""Deploying BPMN: versions by content, reading metadata and XML, instances pinned to their version."""
from __future__ import annotations

import hashlib
import io

from tests.api.conftest import assert_error, chain, one_task, task_named, user_task


def two_steps(key: str, second: str, name: str = "两步流程") -> str:
    return chain(key, [("first", user_task("first", "受理")), ("second", user_task("second", second))], name=name)


def test_deploy_is_201_with_key_version_checksum_name(api):
    xml = two_steps("deploy_basic", "复核", name="部署测试")
    body = api.deploy(xml)
    assert body["key"] == "deploy_basic"
    assert body["version"] == 1
    assert body["name"] == "部署测试"
    assert body["checksum"] == hashlib.sha256(xml.encode()).hexdigest()


def test_same_bytes_again_is_200_with_the_same_version(api):
    xml = two_steps("deploy_same", "复核")
    first = api.deploy(xml)
    again = api.deploy(xml, expect=200)
    assert (again["key"], again["version"], again["checksum"]) == ("deploy_same", 1, first["checksum"])
    assert [v["version"] for v in api.call("GET", "/process-definitions/deploy_same", api.designer, 200)
            .get_json()["versions"]] == [1]


def test_changed_bytes_make_version_2_and_old_xml_stays_readable(api, staff):
    v1 = two_steps("deploy_versions", "第一版复核")
    v2 = two_steps("deploy_versions", "第二版复核")
    assert api.deploy(v1)["version"] == 1
    second = api.deploy(v2)
    assert second["version"] == 2
    assert second["checksum"] != hashlib.sha256(v1.encode()).hexdigest()
    # re-sending v1's bytes is recognised as the existing version 1, not a third version
    assert api.deploy(v1, expect=200)["version"] == 1

    meta = api.call("GET", "/process-definitions/deploy_versions", staff, 200).get_json()
    assert meta["key"] == "deploy_versions" and meta["version"] == 2
    assert [v["version"] for v in meta["versions"]] == [1, 2]
    assert meta["versions"][0]["checksum"] == hashlib.sha256(v1.encode()).hexdigest()

    latest = api.call("GET", "/process-definitions/deploy_versions/xml", staff, 200)
    assert latest.mimetype == "application/xml"
    assert latest.get_data(as_text=True) == v2
    old = api.call("GET", "/process-definitions/deploy_versions/xml", staff, 200, query_string={"version": 1})
    assert old.get_data(as_text=True) == v1
    assert "第一版复核" in old.get_data(as_text=True)
    assert_error(api.call("GET", "/process-definitions/deploy_versions/xml", staff, query_string={"version": 3}),
                 404)


def test_list_returns_only_the_latest_version_of_each_key(api, make_user):
    api.deploy(two_steps("list_a", "一"))
    api.deploy(two_steps("list_a", "二"))
    api.deploy(two_steps("list_b", "一"))
    listed = api.call("GET", "/process-definitions", make_user("bidder"), 200).get_json()
    mine = {d["key"]: d for d in listed if d["key"] in ("list_a", "list_b")}
    assert [d["key"] for d in listed].count("list_a") == 1
    assert mine["list_a"]["version"] == 2
    assert mine["list_b"]["version"] == 1
    assert {"key", "version", "checksum", "name"} <= set(mine["list_a"])


def test_multipart_file_upload(api):
    xml = one_task("deploy_multipart").encode()
    response = api.call("POST", "/process-definitions", api.designer, 201,
                        data={"file": (io.BytesIO(xml), "deploy_multipart.bpmn")}, content_type="multipart/form-data")
    assert response.get_json()["key"] == "deploy_multipart"
    assert response.get_json()["checksum"] == hashlib.sha256(xml).hexdigest()
    again = api.call("POST", "/process-definitions", api.admin, 200,
                     data={"file": (io.BytesIO(xml), "again.bpmn")}, content_type="multipart/form-data")
    assert again.get_json()["version"] == 1


def test_multipart_without_file_and_empty_body_are_400(api):
    assert_error(api.call("POST", "/process-definitions", api.designer,
                          data={"other": (io.BytesIO(b"x"), "x.bpmn")}, content_type="multipart/form-data"), 400)
    assert_error(api.call("POST", "/process-definitions", api.designer, data=b"",
                          content_type="application/xml"), 400)


def test_admin_may_deploy(api):
    assert api.deploy(one_task("deploy_by_admin"), headers=api.admin)["version"] == 1


def test_running_instance_stays_on_its_version(api, staff):
    api.deploy(two_steps("pinned", "第一版复核"))
    old = api.start("pinned", "PIN-1", staff)
    assert old["version"] == 1
    api.deploy(two_steps("pinned", "第二版复核"))

    after = api.complete(task_named(old, "受理")["id"], staff)
    assert after["version"] == 1
    assert [t["name"] for t in after["tasks"]] == ["第一版复核"]

    new = api.start("pinned", "PIN-2", staff)
    assert new["version"] == 2
    after_new = api.complete(task_named(new, "受理")["id"], staff)
    assert [t["name"] for t in after_new["tasks"]] == ["第二版复核"]
    # the old instance still finishes on version 1
    done = api.complete(task_named(after, "第一版复核")["id"], staff)
    assert done["status"] == "completed" and done["version"] == 1
