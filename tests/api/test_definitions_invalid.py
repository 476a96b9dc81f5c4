"""The deploy check: 422 with errors [{element_id, message}] pointing at the offending element."""
from __future__ import annotations

import pytest

from tests.api.conftest import CHINESE, assert_error, bpmn, chain, flow, one_task, user_task


def refused(api, xml: str | bytes) -> list[dict]:
    body = assert_error(api.deploy(xml, expect=None), 422)
    errors = body["errors"]
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert set(error) >= {"element_id", "message"}, error
        assert error["message"]
    return errors


def element_ids(errors: list[dict]) -> set:
    return {e["element_id"] for e in errors}


def assert_not_deployed(api, key: str) -> None:
    assert_error(api.call("GET", f"/process-definitions/{key}", api.designer), 404)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
  <bpmn:process id="xxe_proc" name="&xxe;" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
  <bpmn:process id="lol_proc" name="&lol2;" isExecutable="true"/>
</bpmn:definitions>
"""


@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS], ids=["xxe", "entity-expansion"])
def test_doctype_and_entities_are_refused(api, xml):
    errors = refused(api, xml)
    assert all("/etc/passwd" not in str(e) and "root:" not in str(e) for e in errors)
    assert_not_deployed(api, "xxe_proc")


def test_malformed_xml_is_refused(api):
    xml = one_task("malformed_proc").replace("</bpmn:userTask>", "")
    refused(api, xml)
    refused(api, b"this is not xml at all")
    assert_not_deployed(api, "malformed_proc")


def test_gbk_encoded_bpmn_is_not_a_500(api, staff):
    xml = one_task("gbk_proc", name="受理登记").replace('encoding="UTF-8"', 'encoding="GBK"').encode("gbk")
    response = api.deploy(xml, expect=None)
    if response.status_code == 422:
        assert_error(response, 422)
        return
    assert response.status_code == 201, response.get_json()
    assert [t["name"] for t in api.start("gbk_proc", "GBK-1", staff)["tasks"]] == ["受理登记"]


def test_form_that_is_not_deployed_is_refused(api):
    xml = chain("no_form_proc", [("fill", user_task("fill", "填写", "agency", form="never_deployed_form"))])
    errors = refused(api, xml)
    assert "fill" in element_ids(errors)
    assert any("never_deployed_form" in e["message"] for e in errors)
    assert_not_deployed(api, "no_form_proc")


def test_form_deployed_later_makes_the_same_file_acceptable(api):
    xml = chain("late_form_proc", [("fill", user_task("fill", "填写", "agency", form="late_form"))])
    refused(api, xml)
    api.put_form("late_form", {"type": "object", "properties": {"x": {"type": "string"}}})
    assert api.deploy(xml)["version"] == 1


def test_unknown_rule_on_a_user_task_is_refused(api):
    xml = chain("bad_rule_task", [("reply", user_task("reply", "答复", attrs='ggzy:rule="cons.no_such_rule"')),
                                  ("ok", user_task("ok", "正常", attrs='ggzy:rule="cons.objection_reply"'))])
    errors = refused(api, xml)
    assert element_ids(errors) == {"reply"}
    assert any("cons.no_such_rule" in e["message"] for e in errors)


def test_unknown_rule_on_a_timer_is_refused(api):
    timer = ('<bpmn:intermediateCatchEvent id="wait" name="等待" ggzy:rule="gp.bogus_rule">'
             "<bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition>"
             "</bpmn:intermediateCatchEvent>")
    errors = refused(api, chain("bad_rule_timer", [("wait", timer), ("work", user_task("work", "办理"))]))
    assert element_ids(errors) == {"wait"}
    assert any("gp.bogus_rule" in e["message"] for e in errors)


def test_unknown_rule_on_a_boundary_timer_is_refused(api):
    body = "\n".join([
        '<bpmn:startEvent id="start"/>', user_task("reply", "答复"), user_task("late", "逾期处理"),
        ('<bpmn:boundaryEvent id="deadline" attachedToRef="reply" ggzy:rule="cons.objection_replyy">'
         "<bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>"
         "</bpmn:boundaryEvent>"),
        '<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end2"/>',
        flow("f1", "start", "reply"), flow("f2", "reply", "end"), flow("f3", "deadline", "late"),
        flow("f4", "late", "end2"),
    ])
    assert element_ids(refused(api, bpmn("bad_rule_boundary", body))) == {"deadline"}


def test_user_task_without_lane_or_candidate_groups_is_refused(api):
    xml = chain("no_role_proc", [("ok", user_task("ok", "有角色")), ("orphan", user_task("orphan", "无角色", role=None))])
    errors = refused(api, xml)
    assert element_ids(errors) == {"orphan"}
    assert all(CHINESE.search(e["message"]) for e in errors)


def test_unknown_candidate_group_role_is_refused(api):
    errors = refused(api, one_task("bad_group_proc", role="janitor"))
    assert element_ids(errors) == {"work"}


def laned(key: str, lane_role: str) -> str:
    lanes = ('<bpmn:laneSet id="ls">'
             '<bpmn:lane id="lane_staff" name="staff"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
             "<bpmn:flowNodeRef>accept</bpmn:flowNodeRef></bpmn:lane>"
             f'<bpmn:lane id="lane_other" name="{lane_role}"><bpmn:flowNodeRef>sign</bpmn:flowNodeRef>'
             "<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>")
    return chain(key, [("accept", user_task("accept", "受理", role=None)),
                       ("sign", user_task("sign", "签署", role=None))], lanes=lanes)


def test_lane_named_with_a_known_role_gives_the_task_its_role(api, make_user):
    api.deploy(laned("lane_ok", "purchaser"))
    staff = make_user("staff")
    instance = api.start("lane_ok", "LANE-1", staff)
    assert [(t["name"], t["role"]) for t in instance["tasks"]] == [("受理", "staff")]
    after = api.complete(instance["tasks"][0]["id"], staff)
    assert [(t["name"], t["role"]) for t in after["tasks"]] == [("签署", "purchaser")]


def test_lane_named_with_an_unknown_role_is_refused(api):
    errors = refused(api, laned("lane_bad", "招标办"))
    # the offending element is the task in that lane (or the lane itself), never the good lane's task
    assert element_ids(errors) <= {"sign", "lane_other"} and element_ids(errors)
    assert any("招标办" in e["message"] for e in errors)


SCRIPT = ('<bpmn:scriptTask id="calc" name="计算" scriptFormat="python"><bpmn:script>{}</bpmn:script>'
          "</bpmn:scriptTask>")


@pytest.mark.parametrize("script", [
    "import os\nos.system('id')",
    "__import__('os').system('id')",
    "x = ().__class__.__bases__[0].__subclasses__()",
])
def test_unsafe_script_is_refused(api, script):
    xml = chain("unsafe_script", [("calc", SCRIPT.format(script)), ("work", user_task("work", "办理"))])
    assert element_ids(refused(api, xml)) == {"calc"}
    assert_not_deployed(api, "unsafe_script")


def test_builtin_open_never_runs(api, staff):
    # RestrictedPython cannot see a missing builtin statically; it must then fail when the script runs
    xml = chain("open_script", [("calc", SCRIPT.format("x = open('/etc/passwd').read()")),
                                ("work", user_task("work", "办理"))])
    deployed = api.deploy(xml, expect=None)
    if deployed.status_code == 422:
        return
    assert deployed.status_code == 201
    response = api.start("open_script", "OPEN-1", staff, expect=None)
    assert "root:" not in response.get_data(as_text=True)
    if response.status_code == 422:
        assert_error(response, 422)
    else:
        assert response.get_json()["status"] == "failed"


def test_safe_script_is_accepted(api):
    xml = chain("safe_script", [("calc", SCRIPT.format("total = 1 + 2")), ("work", user_task("work", "办理"))])
    assert api.deploy(xml)["version"] == 1


def gateway(key: str, condition: str) -> str:
    body = "\n".join([
        '<bpmn:startEvent id="start"/>',
        '<bpmn:exclusiveGateway id="gw" default="f_no"/>',
        user_task("yes", "是"), user_task("no", "否"),
        '<bpmn:endEvent id="end1"/>', '<bpmn:endEvent id="end2"/>',
        flow("f1", "start", "gw"), flow("f_yes", "gw", "yes", condition), flow("f_no", "gw", "no"),
        flow("f2", "yes", "end1"), flow("f3", "no", "end2"),
    ])
    return bpmn(key, body)


@pytest.mark.parametrize("condition", [
    "().__class__.__bases__",
    "__import__('os').getcwd() == '/'",
    "[c for c in ().__class__.__base__.__subclasses__()]",
])
def test_unsafe_condition_is_refused(api, condition):
    errors = refused(api, gateway("unsafe_condition", condition))
    assert element_ids(errors) == {"f_yes"}


def test_safe_condition_is_accepted_and_routes(api, make_user):
    api.deploy(gateway("safe_condition", "amount &gt; 100"))
    staff = make_user("staff")
    assert [t["name"] for t in api.start("safe_condition", "C-1", staff, {"amount": 500})["tasks"]] == ["是"]
    assert [t["name"] for t in api.start("safe_condition", "C-2", staff, {"amount": 5})["tasks"]] == ["否"]


def test_several_errors_are_reported_together(api):
    xml = chain("many_errors", [
        ("a", user_task("a", "无角色", role=None)),
        ("b", user_task("b", "无表单", form="missing_form_b")),
        ("c", user_task("c", "坏规则", attrs='ggzy:rule="nope.rule"')),
    ])
    assert element_ids(refused(api, xml)) == {"a", "b", "c"}
