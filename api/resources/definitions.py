"""Process definitions: deploy BPMN, list, read metadata and XML."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from api.auth import actor, platform, require
from api.schemas import DefinitionOut, Open, VersionQuery
from domain.errors import BadRequest
from services import definitions


class ValidationOut(Open):
    valid = fields.Boolean(required=True)
    key = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    message = fields.String()
    errors = fields.List(fields.Dict())


blp = Blueprint("process_definitions", __name__, url_prefix="/api/v1/process-definitions",
                description="BPMN 流程定义")


def _bpmn_bytes() -> bytes:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest("multipart 请求缺少 file 字段")
        return upload.read()
    if request.mimetype in ("application/xml", "text/xml", "application/octet-stream", "application/bpmn+xml"):
        data = request.get_data()
        if not data:
            raise BadRequest("请求体为空")
        return data
    raise BadRequest("请以 application/xml 或 multipart/form-data (file) 提交 BPMN")


@blp.route("")
class Definitions(MethodView):
    @blp.response(200, DefinitionOut(many=True))
    def get(self) -> Any:
        """List the latest version of each process."""
        actor()
        return definitions.list_latest(platform())

    @blp.response(201, DefinitionOut)
    @blp.alt_response(200, schema=DefinitionOut, description="the same bytes were already deployed")
    @blp.alt_response(422, description="invalid BPMN, with errors [{element_id, message}]")
    def post(self) -> Any:
        """Deploy a BPMN file; the same bytes again return the same version."""
        caller = require("designer", "admin")
        summary, created = definitions.deploy_bytes(platform(), _bpmn_bytes(), caller)
        return summary, 201 if created else 200


@blp.route("/validate")
class Validate(MethodView):
    @blp.response(200, ValidationOut)
    def post(self) -> Any:
        """Run the deploy checks on a BPMN file without deploying it: {valid, errors: [{element_id, message}]}."""
        require("designer", "admin")
        return definitions.validate_bytes(platform(), _bpmn_bytes())


@blp.route("/<key>")
class Definition(MethodView):
    @blp.response(200, DefinitionOut)
    def get(self, key: str) -> Any:
        """A process's latest metadata with all its versions."""
        actor()
        return definitions.describe(platform(), key)


@blp.route("/<key>/xml")
class DefinitionXml(MethodView):
    @blp.arguments(VersionQuery, location="query", as_kwargs=True)
    @blp.response(200, content_type="application/xml")
    def get(self, key: str, version: int | None = None) -> Any:
        """The BPMN XML of the latest version, or of ?version=N."""
        actor()
        return Response(definitions.xml(platform(), key, version), mimetype="application/xml")
