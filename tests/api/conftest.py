"""Helpers for the API contract tests: BPMN builders, users, and short calls through the Flask client."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import Any

import pytest

API = "/api/v1"
GENESIS = "0" * 64
CHINESE = re.compile(r"[\u4e00-\u9fff]")

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:ggzy="urn:ggzy:bpmn" '
    'id="defs" targetNamespace="urn:test">\n'
)


def bpmn(key: str, body: str, name: str | None = None, lanes: str = "") -> str:
    """One executable process wrapped in bpmn:definitions (camunda and ggzy namespaces declared)."""
    return (f'{_HEAD}<bpmn:process id="{key}" name="{name or key}" isExecutable="true">\n'
            f"{lanes}{body}\n</bpmn:process>\n</bpmn:definitions>\n")


def user_task(element_id: str, name: str, role: str | None = "staff", form: str | None = None,
              attrs: str = "", inner: str = "") -> str:
    """A user task; role goes into camunda:candidateGroups (None: no role at all)."""
    role_attr = f' camunda:candidateGroups="{role}"' if role else ""
    form_attr = f' camunda:formKey="{form}"' if form else ""
    return f'<bpmn:userTask id="{element_id}" name="{name}"{role_attr}{form_attr} {attrs}>{inner}</bpmn:userTask>'


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    """A sequence flow, with an optional condition expression."""
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>")


def chain(key: str, nodes: Iterable[tuple[str, str]], name: str | None = None, start_attrs: str = "",
          lanes: str = "") -> str:
    """start → the given (element_id, xml) nodes in order → end."""
    nodes = list(nodes)
    ids = ["start", *(i for i, _ in nodes), "end"]
    body = [f'<bpmn:startEvent id="start" {start_attrs}/>', *(x for _, x in nodes), '<bpmn:endEvent id="end"/>']
    body += [flow(f"f{n}", a, b) for n, (a, b) in enumerate(pairwise(ids), start=1)]
    return bpmn(key, "\n".join(body), name=name, lanes=lanes)


def one_task(key: str, role: str = "staff", form: str | None = None, name: str = "办理") -> str:
    """start → one user task → end."""
    return chain(key, [("work", user_task("work", name, role, form))])


def assert_error(response: Any, status: int) -> dict[str, Any]:
    """The contract's error document: JSON with error, message and errors."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json", response.mimetype
    body = response.get_json()
    assert isinstance(body, dict)
    assert {"error", "message", "errors"} <= set(body), body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    return body


class Api:
    """Short calls through the Flask test client that check the status they expect."""

    def __init__(self, client: Any, make_user: Callable[..., dict[str, str]]) -> None:
        self.client = client
        self.make_user = make_user
        self.designer = make_user("designer")
        self.admin = make_user("admin")

    def call(self, method: str, path: str, headers: dict[str, str], expect: int | None = None,
             **kwargs: Any) -> Any:
        url = path if path.startswith(("/healthz", API)) else API + path
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (method, url, response.status_code, response.get_json())
        return response

    def deploy(self, xml: str | bytes, expect: int | None = 201, headers: dict[str, str] | None = None) -> Any:
        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        response = self.call("POST", "/process-definitions", self.designer if headers is None else headers, expect,
                             data=data, content_type="application/xml")
        return response if expect is None or expect >= 400 else response.get_json()

    def put_form(self, key: str, schema: dict[str, Any], expect: int | None = None) -> Any:
        response = self.call("PUT", f"/forms/{key}", self.designer, expect, json=schema)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    def start(self, key: str, business_key: str, headers: dict[str, str], variables: dict[str, Any] | None = None,
              expect: int | None = 201, **extra: Any) -> Any:
        body = {"process_key": key, "business_key": business_key, "variables": variables or {}, **extra}
        response = self.call("POST", "/process-instances", headers, expect, json=body)
        return response.get_json() if expect in (200, 201) else response

    def instance(self, instance_id: str, headers: dict[str, str]) -> dict[str, Any]:
        return self.call("GET", f"/process-instances/{instance_id}", headers, 200).get_json()

    def events(self, instance_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
        return self.call("GET", f"/process-instances/{instance_id}/events", headers, 200).get_json()

    def task(self, task_id: str, headers: dict[str, str], expect: int | None = 200) -> Any:
        response = self.call("GET", f"/tasks/{task_id}", headers, expect)
        return response.get_json() if expect == 200 else response

    def queue(self, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
        return self.call("GET", "/tasks", headers, 200, query_string=query).get_json()

    def complete(self, task_id: str, headers: dict[str, str], data: dict[str, Any] | None = None,
                 expect: int | None = 200) -> Any:
        response = self.call("POST", f"/tasks/{task_id}/complete", headers, expect, json={"data": data or {}})
        return response.get_json() if expect == 200 else response

    def action(self, what: str, path: str, headers: dict[str, str], expect: int | None = 200) -> Any:
        response = self.call("POST", f"{path}/{what}", headers, expect)
        return response.get_json() if expect == 200 else response


@pytest.fixture
def api(client: Any, make_user: Callable[..., dict[str, str]]) -> Api:
    """The API helper with a designer and an admin already made."""
    return Api(client, make_user)


@pytest.fixture
def staff(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    """A trading-centre staff member of Hangzhou (330100)."""
    return make_user("staff", region="330100")


def task_named(instance: dict[str, Any], name: str) -> dict[str, Any]:
    """The one ready task of an instance with this name."""
    found = [t for t in instance["tasks"] if t["name"] == name]
    assert len(found) == 1, (name, [t["name"] for t in instance["tasks"]])
    return found[0]
