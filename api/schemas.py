"""Request and response schemas: they validate input and feed the OpenAPI document."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate


class Open(Schema):
    """Output schemas pass through fields they do not name."""

    class Meta:
        unknown = INCLUDE


class DefinitionOut(Open):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    checksum = fields.String(required=True)
    name = fields.String(required=True)
    deployed_at = fields.String()
    versions = fields.List(fields.Dict())
    elements = fields.Dict()


class VersionQuery(Schema):
    version = fields.Integer(validate=validate.Range(min=1))


class StartIn(Schema):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    business_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    variables = fields.Dict(load_default=dict)
    region = fields.String(validate=validate.Regexp(r"^\d{6}$"), load_default=None)


class TaskOut(Open):
    id = fields.String(required=True)
    instance_id = fields.String(required=True)
    process_key = fields.String()
    name = fields.String()
    element_id = fields.String()
    role = fields.String(allow_none=True)
    form_key = fields.String(allow_none=True)
    rule = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.String()
    due_at = fields.String(allow_none=True)
    form = fields.Dict(allow_none=True)
    variables = fields.Dict()
    region = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)


class TimerOut(Open):
    id = fields.Integer()
    element_id = fields.String()
    name = fields.String()
    kind = fields.String()
    rule = fields.String(allow_none=True)
    due_at = fields.String()
    boundary = fields.Boolean()


class InstanceOut(Open):
    id = fields.String(required=True)
    process_key = fields.String()
    version = fields.Integer()
    business_key = fields.String()
    region = fields.String(allow_none=True)
    status = fields.String()
    variables = fields.Dict()
    tasks = fields.List(fields.Nested(TaskOut))
    timers = fields.List(fields.Nested(TimerOut))
    error = fields.String(allow_none=True)


class InstanceQuery(Schema):
    process_key = fields.String()
    status = fields.String()
    business_key = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class InstancePage(Schema):
    items = fields.List(fields.Dict())
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class StatusChangeIn(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=1000))


class EventOut(Open):
    seq = fields.Integer()
    at = fields.String()
    type = fields.String()
    actor = fields.String(allow_none=True)
    client_ip = fields.String(allow_none=True)
    data = fields.Dict()
    hash = fields.String()
    prev_hash = fields.String()


class TaskQuery(Schema):
    role = fields.String()
    assignee = fields.String()
    status = fields.String()
    process_key = fields.String()


class CompleteIn(Schema):
    data = fields.Dict(load_default=dict)


class FormOut(Open):
    key = fields.String()
    version = fields.Integer()
    checksum = fields.String()
    schema = fields.Dict()


class WorkingDaysQuery(Schema):
    start = fields.Date(required=True)
    add = fields.Integer(required=True, validate=validate.Range(min=0, max=3660))


class WorkingDaysOut(Schema):
    start = fields.String()
    add = fields.Integer()
    result = fields.String()
    skipped = fields.List(fields.String())


class YearIn(Schema):
    holidays = fields.List(fields.String(), required=True)
    workdays = fields.List(fields.String(), load_default=list)


class RuleOut(Open):
    id = fields.String()
    n = fields.Raw()
    unit = fields.String()
    kind = fields.String()
    citation = fields.String()


class DueQuery(Schema):
    from_ = fields.Date(required=True, data_key="from")


class DueOut(Schema):
    rule = fields.String()
    from_ = fields.String(data_key="from")
    due = fields.String()
    citation = fields.String()
    kind = fields.String()


class ClockIn(Schema):
    now = fields.AwareDateTime(required=True)


class ClockOut(Schema):
    now = fields.String()
