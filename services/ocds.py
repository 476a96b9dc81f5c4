"""Open Contracting Data Standard 1.1: a release per published item, a compiled record per trade.

ocid = OCID_PREFIX + the unified trading code. Releases come only from published items, and the trade
outcome (trade_results: winner, amount, buyer) joins them only once the trade has published its result or
its termination, so OCDS never shows more than the public items already show, nor sooner.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import disclosure as rules
from domain.access import region_prefix
from domain.errors import NotFound
from persistence.models_publications import Publication
from services import public
from services.platform import Platform

VERSION = "1.1"
PUBLISHER = {"name": "ggzy 公共资源交易平台", "scheme": "CN-USCC"}
SCHEME = "CN-USCC"  # 统一社会信用代码 (GB 32100-2015)
_TAGS = {
    "announcement": "tender", "change": "tenderAmendment", "prequalification": "tenderUpdate",
    "candidates": "tenderUpdate", "result": "award", "contract": "contract", "termination": "tenderCancellation",
    "performance": "implementation",
}
_CORRECTION_TAGS = {"announcement": "tenderAmendment", "result": "awardUpdate", "contract": "contractAmendment",
                    "performance": "implementationUpdate"}
_TENDER_STATUS = {"announcement": "active", "change": "active", "prequalification": "active",
                  "candidates": "active", "result": "complete", "contract": "complete", "performance": "complete",
                  "termination": "cancelled"}
_METHODS = {"construction_open_tender": "open", "gp_open_tender": "open", "gp_competitive_negotiation": "limited",
            "gp_inquiry": "limited", "gp_competitive_consultation": "limited", "gp_single_source": "direct"}
_DEADLINES = ("bid_deadline", "response_deadline", "prequal_deadline", "auction_end", "listing_end")


def record_package(p: Platform, ocid: str, base_url: str) -> dict[str, Any]:
    """The record package of one trade: its releases (embedded) and the compiled release."""
    trade_code = rules.trade_code_of(ocid)
    with p.db.sessions() as session:
        items = public.trade_items(session, trade_code) if trade_code else []
        if not items:
            raise NotFound(f"没有 ocid 为 {ocid} 的公开交易")
        outcome = _outcome(session, items)
        releases = [release(row, outcome, p) for row, _ in items]
    record = {"ocid": ocid, "releases": releases, "compiledRelease": compile_releases(releases)}
    return {
        "uri": f"{base_url}/api/v1/public/ocds/{ocid}",
        "version": VERSION,
        "publishedDate": releases[-1]["date"],
        "publisher": PUBLISHER,
        "packages": [f"{base_url}/api/v1/public/ocds/releases?ocid={ocid}"],
        "records": [record],
    }


def release_package(p: Platform, filters: dict[str, Any], page: int, per_page: int, base_url: str,
                    query_string: str) -> dict[str, Any]:
    """A page of releases of every trade in feed order (bulk download), optionally of one ocid."""
    query = select(Publication)
    if filters.get("ocid"):
        query = query.where(Publication.trade_code == (rules.trade_code_of(filters["ocid"]) or ""))
    if filters.get("category"):
        query = query.where(Publication.category == filters["category"])
    if filters.get("region"):
        query = query.where(Publication.region.like(region_prefix(filters["region"]) + "%"))
    if filters.get("since"):
        query = query.where(Publication.feed_seq > filters["since"])
    with p.db.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(session.scalars(query.order_by(Publication.feed_seq).offset((page - 1) * per_page)
                                    .limit(per_page)))
        releases = []
        outcomes: dict[str, dict[str, Any] | None] = {}
        for row in rows:
            if row.trade_code not in outcomes:
                outcomes[row.trade_code] = _outcome(session, public.trade_items(session, row.trade_code))
            releases.append(release(row, outcomes[row.trade_code], p))
    uri = f"{base_url}/api/v1/public/ocds/releases" + (f"?{query_string}" if query_string else "")
    links: dict[str, str] = {}
    base_query = "&".join(part for part in query_string.split("&") if part and not part.startswith("page="))
    if page * per_page < total:
        links["next"] = f"{base_url}/api/v1/public/ocds/releases?{base_query}&page={page + 1}".replace("?&", "?")
    if page > 1:
        links["prev"] = f"{base_url}/api/v1/public/ocds/releases?{base_query}&page={page - 1}".replace("?&", "?")
    published = max((r["date"] for r in releases), default=p.clock.now().astimezone(p.tz).isoformat())
    package: dict[str, Any] = {"uri": uri, "version": VERSION, "publishedDate": published, "publisher": PUBLISHER,
                               "releases": releases}
    if links:
        package["links"] = links
    return package


def _outcome(session: Session, items: list[tuple[Publication, int | None]]) -> dict[str, Any] | None:
    """The trade outcome, once the trade has published its result or termination; None before."""
    if not any(row.kind in ("result", "contract", "termination") for row, _ in items):
        return None
    from services.trading.trades import result_for  # imported late: trades registers a service task on import

    return result_for(session, items[0][0].instance_id)


def release(row: Publication, outcome: dict[str, Any] | None, p: Platform) -> dict[str, Any]:
    """One OCDS release for one published item."""
    code = row.trade_code
    tag = _CORRECTION_TAGS.get(row.kind, _TAGS[row.kind]) if row.supersedes_id else _TAGS[row.kind]
    tender: dict[str, Any] = {
        "id": code,
        "title": row.title,
        "status": _TENDER_STATUS[row.kind],
    }
    if row.body:
        tender["description"] = row.body
    method = _METHODS.get(row.process_key)
    if method:
        tender["procurementMethod"] = method
    tender["procurementMethodDetails"] = row.process_key
    if row.category == "G":
        tender["mainProcurementCategory"] = "works"
    deadline = _first_instant(row.data, _DEADLINES)
    if deadline and row.kind in ("announcement", "change"):
        tender["tenderPeriod"] = {"endDate": deadline}
    out: dict[str, Any] = {
        "ocid": rules.ocid(code),
        "id": release_id(code, row.id),
        "date": row.published_at.astimezone(p.tz).isoformat(),
        "tag": [tag],
        "initiationType": "tender",
        "language": "zh",
        "tender": tender,
    }
    parties: list[dict[str, Any]] = []
    if outcome is not None:
        _add_outcome(out, parties, outcome, row)
    if row.kind == "contract":
        out["contracts"] = [_contract(row, p)]
    if parties:
        out["parties"] = parties
    if row.supersedes_id:
        _amend(out, row)
    return out


def _amend(out: dict[str, Any], row: Publication) -> None:
    """A correction names the release it amends, in the section it corrects."""
    amendment = {"id": str(row.id), "date": out["date"], "description": row.title,
                 "amendsReleaseID": release_id(row.trade_code, row.supersedes_id or 0), "releaseID": out["id"]}
    if row.kind == "result" and out.get("awards"):
        out["awards"][0]["amendments"] = [amendment]
    elif row.kind == "contract":
        out["contracts"][0]["amendments"] = [amendment]
    else:
        out["tender"]["amendments"] = [amendment]


def release_id(trade_code: str, publication_id: int) -> str:
    """The release id of a published item: stable, unique within its ocid."""
    return f"{trade_code}-{publication_id:08d}"


def _add_outcome(out: dict[str, Any], parties: list[dict[str, Any]], outcome: dict[str, Any],
                 row: Publication) -> None:
    if outcome.get("purchaser_uscc") or outcome.get("purchaser_name"):
        buyer = _party(outcome.get("purchaser_uscc"), outcome.get("purchaser_name"), ["buyer"])
        parties.append(buyer)
        out["buyer"] = {"id": buyer["id"], "name": buyer["name"]}
    if outcome.get("budget_amount"):
        out["tender"]["value"] = _value(outcome["budget_amount"])
    if outcome.get("bidder_count") is not None:
        out["tender"]["numberOfTenderers"] = outcome["bidder_count"]
    if outcome.get("trade_failed"):
        out["tender"]["status"] = "unsuccessful"
        return
    if row.kind not in ("result", "contract") or not outcome.get("winner_uscc"):
        return
    supplier = _party(outcome["winner_uscc"], outcome.get("winner_name"), ["supplier", "tenderer"])
    parties.append(supplier)
    award: dict[str, Any] = {"id": f"{row.trade_code}-award", "status": "active",
                             "suppliers": [{"id": supplier["id"], "name": supplier["name"]}]}
    if outcome.get("closed_at"):
        award["date"] = outcome["closed_at"]
    if outcome.get("award_amount"):
        award["value"] = _value(outcome["award_amount"])
    out["awards"] = [award]


def _contract(row: Publication, p: Platform) -> dict[str, Any]:
    contract: dict[str, Any] = {"id": f"{row.trade_code}-contract", "awardID": f"{row.trade_code}-award",
                                "title": row.title, "status": "active"}
    signed = _first_instant(row.data, ("contract_signed_at", "signed_on", "contract_signed_on"), p)
    if signed:
        contract["dateSigned"] = signed
    price = row.data.get("contract_price")
    if price not in (None, ""):
        contract["value"] = _value(price)
    return contract


def _party(code: str | None, name: str | None, roles: list[str]) -> dict[str, Any]:
    party: dict[str, Any] = {"id": f"{SCHEME}-{code}" if code else f"name-{name}", "name": name or code, "roles": roles}
    if code:
        party["identifier"] = {"scheme": SCHEME, "id": code, **({"legalName": name} if name else {})}
    return party


def _value(amount: Any) -> dict[str, Any]:
    return {"amount": float(str(amount)), "currency": "CNY"}


def _first_instant(data: dict[str, Any], names: tuple[str, ...], p: Platform | None = None) -> str | None:
    """The first named field holding a date or an ISO time, as an ISO time with offset."""
    for name in names:
        value = data.get(name)
        if not isinstance(value, str):
            continue
        try:
            if len(value) == 10 and p is not None:
                return datetime.fromisoformat(value).replace(tzinfo=p.tz).isoformat()
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if parsed.tzinfo is not None:
            return parsed.isoformat()
    return None


def compile_releases(releases: list[dict[str, Any]]) -> dict[str, Any]:
    """The compiled release: releases merged in date order, objects by field and arrays of objects by id."""
    compiled: dict[str, Any] = {}
    for item in releases:
        _merge(compiled, {k: v for k, v in item.items() if k not in ("id", "tag")})
    compiled["id"] = f"{releases[-1]['ocid']}-compiled"
    compiled["tag"] = ["compiled"]
    compiled["date"] = releases[-1]["date"]
    return compiled


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif (isinstance(value, list) and isinstance(into.get(key), list) and value
              and all(isinstance(v, dict) and "id" in v for v in value + into[key])):
            by_id = {v["id"]: v for v in into[key]}
            for v in value:
                if v["id"] in by_id:
                    _merge(by_id[v["id"]], v)
                else:
                    into[key].append(copy.deepcopy(v))
                    by_id[v["id"]] = into[key][-1]
        else:
            into[key] = copy.deepcopy(value)
