"""Market entities: register organisations once by 统一社会信用代码, their contacts and qualifications."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import Actor
from domain.errors import Forbidden, Invalid, NotFound
from persistence.models_entities import Organisation, OrganisationContact, OrganisationQualification
from services import audit
from services.platform import Platform

# Credit lists live in their own module; re-exported so callers find every entity check in one place.
from services.trading.credit import (  # noqa: F401
    add_listing,
    blacklistings,
    is_blacklisted,
    list_listings,
    public_blacklist,
    require_not_blacklisted,
    revoke_listing,
)
from trading import uscc
from trading.entities import ENTITY_ROLES, check_period, date_field, in_period, optional_text, text_field

READERS = ("staff", "supervisor", "admin")
EDITABLE = ("name", "type", "legal_representative", "roles")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+\-() ]{5,40}$")


def register_organisation(p: Platform, actor: Actor, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Register an organisation platform-wide; the same code again returns the existing one (created False)."""
    code = uscc.clean(str(data.get("uscc") or ""))
    _require_manager(actor, code)
    name = text_field(data, "name", 200)
    roles = _roles(data.get("roles")) if data.get("roles") is not None else _default_roles(actor, code)

    def use_case(session: Session) -> tuple[dict[str, Any], bool]:
        existing = session.get(Organisation, code)
        if existing is not None:
            return organisation_view(session, actor, existing), False
        now = p.clock.now()
        org = Organisation(
            uscc=code, name=name, type=optional_text(data, "type", 60) or uscc.category_of(code),
            legal_representative=optional_text(data, "legal_representative", 100), region=uscc.region_of(code),
            roles=roles, created_by=actor.username, created_at=now, updated_at=now,
        )
        session.add(org)
        session.flush()
        audit.append(session, audit.PLATFORM_CHAIN, "entity.registered", actor, now,
                     {"uscc": code, "name": name, "type": org.type, "roles": roles})
        return organisation_view(session, actor, org), True

    return p.db.run(use_case)


def update_organisation(p: Platform, actor: Actor, code: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change an organisation's name, type, legal representative or roles."""
    code = uscc.clean(code)
    _require_manager(actor, code)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid(f"不能修改的字段：{', '.join(unknown)}", [{"field": f, "message": "不可修改"} for f in unknown])
    clean: dict[str, Any] = {}
    if "name" in changes:
        clean["name"] = text_field(changes, "name", 200)
    if "type" in changes:
        clean["type"] = optional_text(changes, "type", 60)
    if "legal_representative" in changes:
        clean["legal_representative"] = optional_text(changes, "legal_representative", 100)
    if "roles" in changes:
        clean["roles"] = _roles(changes["roles"])

    def use_case(session: Session) -> dict[str, Any]:
        org = _load(session, code)
        diff = {k: [getattr(org, k), v] for k, v in clean.items() if getattr(org, k) != v}
        if diff:
            now = p.clock.now()
            for key, (_, value) in diff.items():
                setattr(org, key, value)
            org.updated_at = now
            audit.append(session, audit.PLATFORM_CHAIN, "entity.updated", actor, now, {"uscc": code, "changes": diff})
        return organisation_view(session, actor, org)

    return p.db.run(use_case)


def get_organisation(p: Platform, actor: Actor, code: str) -> dict[str, Any]:
    """An organisation with its qualifications; contacts only for its own users, staff and supervisors."""
    code = uscc.clean(code)
    with p.db.sessions() as session:
        return organisation_view(session, actor, _load(session, code), today=_today(p))


def list_organisations(p: Platform, actor: Actor, name: str | None = None, role: str | None = None,
                       page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """A page of organisations of every region, filtered by part of the name (staff, supervisors)."""
    if not actor.has(*READERS):
        raise Forbidden("只有交易中心工作人员、行政监督人员或管理员可以查询市场主体列表")
    query = select(Organisation)
    if name:
        query = query.where(Organisation.name.contains(name.strip(), autoescape=True))
    with p.db.sessions() as session:
        rows = list(session.scalars(query.order_by(Organisation.name, Organisation.uscc)))
        if role:
            # roles is a JSON list; filtering in Python keeps the query portable across SQLite and PostgreSQL.
            rows = [r for r in rows if role in (r.roles or [])]
        items = rows[(page - 1) * per_page:page * per_page]
        return {"items": [_summary(r) for r in items], "page": page, "per_page": per_page, "total": len(rows)}


def add_contact(p: Platform, actor: Actor, code: str, data: dict[str, Any]) -> dict[str, Any]:
    """Add a contact person to an organisation."""
    code = uscc.clean(code)
    _require_manager(actor, code)
    name = text_field(data, "name", 100)
    phone = optional_text(data, "phone", 40)
    email = optional_text(data, "email", 200)
    if phone and not _PHONE.match(phone):
        raise Invalid("联系电话格式不正确", [{"field": "phone", "message": "只能包含数字、空格和 + - ( )"}])
    if email and not _EMAIL.match(email):
        raise Invalid("电子邮箱格式不正确", [{"field": "email", "message": "应形如 name@example.com"}])

    def use_case(session: Session) -> dict[str, Any]:
        _load(session, code)
        now = p.clock.now()
        contact = OrganisationContact(uscc=code, name=name, phone=phone, email=email,
                                      role=optional_text(data, "role", 60), created_by=actor.username,
                                      created_at=now)
        session.add(contact)
        session.flush()
        # Phone and e-mail are personal data: the chain records that a contact was added, not how to reach them.
        audit.append(session, audit.PLATFORM_CHAIN, "entity.contact_added", actor, now,
                     {"uscc": code, "contact_id": contact.id, "name": name, "role": contact.role})
        return contact_view(contact)

    return p.db.run(use_case)


def add_qualification(p: Platform, actor: Actor, code: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Record a qualification certificate; the same type and number again updates it (created False)."""
    code = uscc.clean(code)
    _require_manager(actor, code)
    type_ = text_field(data, "type", 100)
    certificate_no = text_field(data, "certificate_no", 100)
    valid_from = date_field(data.get("valid_from"), "valid_from", required=True)
    assert valid_from is not None
    valid_until = date_field(data.get("valid_until"), "valid_until")
    check_period(valid_from, valid_until, "资质证书有效期")
    fields = {"grade": optional_text(data, "grade", 40), "issuer": optional_text(data, "issuer", 200),
              "valid_from": valid_from, "valid_until": valid_until}

    def use_case(session: Session) -> tuple[dict[str, Any], bool]:
        _load(session, code)
        now = p.clock.now()
        row = session.scalar(select(OrganisationQualification).where(
            OrganisationQualification.uscc == code, OrganisationQualification.type == type_,
            OrganisationQualification.certificate_no == certificate_no))
        created = row is None
        if row is None:
            row = OrganisationQualification(uscc=code, type=type_, certificate_no=certificate_no,
                                            created_by=actor.username, created_at=now, updated_at=now, **fields)
            session.add(row)
        elif any(getattr(row, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = now
        else:
            return qualification_view(row, _today(p)), False
        session.flush()
        audit.append(session, audit.PLATFORM_CHAIN,
                     "entity.qualification_added" if created else "entity.qualification_updated", actor, now,
                     {"uscc": code, "qualification_id": row.id, "type": type_, "certificate_no": certificate_no,
                      **fields})
        return qualification_view(row, _today(p)), created

    return p.db.run(use_case)


def list_qualifications(p: Platform, actor: Actor, code: str, on: date | None = None,
                        valid_only: bool = False) -> list[dict[str, Any]]:
    """An organisation's qualifications, each marked valid or not on the day (today by default)."""
    code = uscc.clean(code)
    day = on or _today(p)
    with p.db.sessions() as session:
        _load(session, code)
        rows = valid_qualifications(session, code, day) if valid_only else _qualifications(session, code)
        return [qualification_view(r, day) for r in rows]


def valid_qualifications(session: Session, code: str, on: date,
                         type_: str | None = None) -> list[OrganisationQualification]:
    """The organisation's qualifications valid on the day (both ends inclusive), optionally of one type."""
    return [q for q in _qualifications(session, uscc.normalize(code))
            if in_period(q.valid_from, q.valid_until, on) and (type_ is None or q.type == type_)]


def organisation_view(session: Session, actor: Actor, org: Organisation, today: date | None = None) -> dict[str, Any]:
    """An organisation as the API shows it to this actor."""
    view = _summary(org)
    view["qualifications"] = [qualification_view(q, today) for q in _qualifications(session, org.uscc)]
    if actor.has(*READERS) or actor.org == org.uscc:
        contacts = session.scalars(select(OrganisationContact).where(OrganisationContact.uscc == org.uscc)
                                   .order_by(OrganisationContact.id))
        view["contacts"] = [contact_view(c) for c in contacts]
    return view


def contact_view(contact: OrganisationContact) -> dict[str, Any]:
    """A contact as the API shows it."""
    return {"id": contact.id, "uscc": contact.uscc, "name": contact.name, "phone": contact.phone,
            "email": contact.email, "role": contact.role, "created_at": contact.created_at.isoformat()}


def qualification_view(row: OrganisationQualification, today: date | None = None) -> dict[str, Any]:
    """A qualification as the API shows it, with `valid` on the given day when one is given."""
    view: dict[str, Any] = {
        "id": row.id, "uscc": row.uscc, "type": row.type, "grade": row.grade, "certificate_no": row.certificate_no,
        "issuer": row.issuer, "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
    }
    if today is not None:
        view["valid"] = in_period(row.valid_from, row.valid_until, today)
    return view


def _summary(org: Organisation) -> dict[str, Any]:
    return {"uscc": org.uscc, "name": org.name, "type": org.type, "legal_representative": org.legal_representative,
            "region": org.region, "roles": list(org.roles or []), "created_at": org.created_at.isoformat(),
            "updated_at": org.updated_at.isoformat()}


def _qualifications(session: Session, code: str) -> list[OrganisationQualification]:
    return list(session.scalars(select(OrganisationQualification).where(OrganisationQualification.uscc == code)
                                .order_by(OrganisationQualification.type, OrganisationQualification.id)))


def _load(session: Session, code: str) -> Organisation:
    org = session.get(Organisation, code)
    if org is None:
        raise NotFound(f"统一社会信用代码为 {code} 的主体尚未在平台登记")
    return org


def _require_manager(actor: Actor, code: str) -> None:
    if actor.has("staff", "admin") or actor.org == code:
        return
    raise Forbidden(f"只有交易中心工作人员、管理员或本单位（{code}）的用户可以登记或修改该主体的信息")


def _default_roles(actor: Actor, code: str) -> list[str]:
    # An organisation's own user registering it holds, as a platform user, the market roles it means to play.
    return sorted(r for r in ENTITY_ROLES if actor.has(r)) if actor.org == code else []


def _roles(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise Invalid("roles 必须是角色标识的列表", [{"field": "roles", "message": "如 [\"bidder\"]"}])
    unknown = sorted(set(value) - set(ENTITY_ROLES))
    if unknown:
        message = f"未知的市场主体角色：{', '.join(unknown)}（可用：{', '.join(ENTITY_ROLES)}）"
        raise Invalid(message, [{"field": "roles", "message": message}])
    return sorted(set(value))


def _today(p: Platform) -> date:
    return p.clock.now().astimezone(p.tz).date()
