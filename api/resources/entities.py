"""Market entities (市场主体) and credit lists (信用红黑名单)."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import actor, platform
from services.trading import credit, entities

blp = Blueprint("entities", __name__, url_prefix="/api/v1/entities", description="市场主体")
credit_blp = Blueprint("credit", __name__, url_prefix="/api/v1/credit", description="信用红黑名单")
public_blp = Blueprint("public_credit", __name__, url_prefix="/api/v1/public/credit",
                       description="信用黑名单公示（无需令牌）")
extra_blueprints = (credit_blp, public_blp)

USCC_FIELD = validate.Length(min=1, max=40)  # the check-character message comes from the service, as a 422


class OrganisationIn(Schema):
    uscc = fields.String(required=True, validate=USCC_FIELD)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(load_default=None, allow_none=True)
    legal_representative = fields.String(load_default=None, allow_none=True)
    roles = fields.List(fields.String(), load_default=None, allow_none=True)


class OrganisationPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    type = fields.String(allow_none=True)
    legal_representative = fields.String(allow_none=True)
    roles = fields.List(fields.String())


class OrganisationOut(Schema):
    uscc = fields.String(required=True)
    name = fields.String()
    type = fields.String(allow_none=True)
    legal_representative = fields.String(allow_none=True)
    region = fields.String()
    roles = fields.List(fields.String())
    qualifications = fields.List(fields.Dict())
    contacts = fields.List(fields.Dict())
    created_at = fields.String()
    updated_at = fields.String()


class OrganisationQuery(Schema):
    name = fields.String()
    role = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class Page(Schema):
    items = fields.List(fields.Dict())
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class ContactIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)
    role = fields.String(load_default=None, allow_none=True)


class QualificationIn(Schema):
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    grade = fields.String(load_default=None, allow_none=True)
    certificate_no = fields.String(required=True, validate=validate.Length(min=1, max=100))
    issuer = fields.String(load_default=None, allow_none=True)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(load_default=None, allow_none=True)


class QualificationQuery(Schema):
    on = fields.Date(load_default=None)
    valid = fields.Boolean(load_default=False)


class ListingIn(Schema):
    uscc = fields.String(required=True, validate=USCC_FIELD)
    name = fields.String(load_default=None, allow_none=True)
    list = fields.String(required=True, validate=validate.OneOf(["black", "red"]))
    source = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    document_no = fields.String(load_default=None, allow_none=True)
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_until = fields.Date(load_default=None, allow_none=True)


class ListingQuery(Schema):
    list = fields.String(validate=validate.OneOf(["black", "red"]))
    uscc = fields.String()
    in_force = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class PublicQuery(Schema):
    uscc = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class RevokeIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


@blp.route("")
class Organisations(MethodView):
    @blp.arguments(OrganisationIn)
    @blp.response(201, OrganisationOut)
    @blp.alt_response(200, schema=OrganisationOut, description="the organisation is already registered")
    def post(self, body: dict[str, Any]) -> Any:
        """Register an organisation by its 统一社会信用代码, once for every region."""
        view, created = entities.register_organisation(platform(), actor(), body)
        return view, 201 if created else 200

    @blp.arguments(OrganisationQuery, location="query")
    @blp.response(200, Page)
    def get(self, query: dict[str, Any]) -> Any:
        """A page of organisations filtered by part of the name (staff, supervisors)."""
        return entities.list_organisations(platform(), actor(), query.get("name"), query.get("role"),
                                           query["page"], query["per_page"])


@blp.route("/<code>")
class OrganisationResource(MethodView):
    @blp.response(200, OrganisationOut)
    def get(self, code: str) -> Any:
        """An organisation with its qualifications (and contacts for its own users and staff)."""
        return entities.get_organisation(platform(), actor(), code)

    @blp.arguments(OrganisationPatch)
    @blp.response(200, OrganisationOut)
    def patch(self, body: dict[str, Any], code: str) -> Any:
        """Change an organisation's name, type, legal representative or roles."""
        return entities.update_organisation(platform(), actor(), code, body)


@blp.route("/<code>/contacts")
class Contacts(MethodView):
    @blp.arguments(ContactIn)
    @blp.response(201)
    def post(self, body: dict[str, Any], code: str) -> Any:
        """Add a contact person to an organisation."""
        return entities.add_contact(platform(), actor(), code, body)


@blp.route("/<code>/qualifications")
class Qualifications(MethodView):
    @blp.arguments(QualificationIn)
    @blp.response(201)
    @blp.alt_response(200, description="the same certificate was already recorded (updated in place)")
    def post(self, body: dict[str, Any], code: str) -> Any:
        """Record a qualification certificate with its grade and validity."""
        view, created = entities.add_qualification(platform(), actor(), code, body)
        return view, 201 if created else 200

    @blp.arguments(QualificationQuery, location="query")
    @blp.response(200)
    def get(self, query: dict[str, Any], code: str) -> Any:
        """The organisation's qualifications, each marked valid or not on `on` (today by default)."""
        return entities.list_qualifications(platform(), actor(), code, query["on"], query["valid"])


@credit_blp.route("/listings")
class Listings(MethodView):
    @credit_blp.arguments(ListingIn)
    @credit_blp.response(201)
    @credit_blp.alt_response(200, description="the same source document is already listed")
    def post(self, body: dict[str, Any]) -> Any:
        """Record a black or red list entry (supervisors, admins)."""
        view, created = credit.add_listing(platform(), actor(), body)
        return view, 201 if created else 200

    @credit_blp.arguments(ListingQuery, location="query")
    @credit_blp.response(200, Page)
    def get(self, query: dict[str, Any]) -> Any:
        """A page of listings filtered by list, organisation and whether they are in force now."""
        return credit.list_listings(platform(), actor(), query.get("list"), query.get("uscc"),
                                    query.get("in_force"), query["page"], query["per_page"])


@credit_blp.route("/listings/<int:listing_id>/revoke")
class Revoke(MethodView):
    @credit_blp.arguments(RevokeIn, required=False)
    @credit_blp.response(200)
    def post(self, body: dict[str, Any], listing_id: int) -> Any:
        """Revoke a listing (supervisors, admins); it stays on record."""
        return credit.revoke_listing(platform(), actor(), listing_id, (body or {}).get("reason"))


@credit_blp.route("/black")
class Blacklist(MethodView):
    @credit_blp.arguments(PublicQuery, location="query")
    @credit_blp.response(200, Page)
    def get(self, query: dict[str, Any]) -> Any:
        """The blacklist in force now (any token)."""
        actor()
        return credit.public_blacklist(platform(), query.get("uscc"), query["page"], query["per_page"])


@credit_blp.route("/red")
class Redlist(MethodView):
    @credit_blp.arguments(PublicQuery, location="query")
    @credit_blp.response(200, Page)
    def get(self, query: dict[str, Any]) -> Any:
        """The red list (守信激励) in force now (any token)."""
        actor()
        return credit.public_blacklist(platform(), query.get("uscc"), query["page"], query["per_page"], "red")


@public_blp.route("/red")
class PublicRedlist(MethodView):
    @public_blp.arguments(PublicQuery, location="query")
    @public_blp.response(200, Page)
    @public_blp.doc(security=[])
    def get(self, query: dict[str, Any]) -> Any:
        """The red list in force now, as published to everyone (no token)."""
        return credit.public_blacklist(platform(), query.get("uscc"), query["page"], query["per_page"], "red")


@public_blp.route("/black")
class PublicBlacklist(MethodView):
    @public_blp.arguments(PublicQuery, location="query")
    @public_blp.response(200, Page)
    @public_blp.doc(security=[])
    def get(self, query: dict[str, Any]) -> Any:
        """The blacklist in force now, as published to everyone (no token)."""
        return credit.public_blacklist(platform(), query.get("uscc"), query["page"], query["per_page"])
