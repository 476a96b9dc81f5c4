"""The OCDS 1.1 package schemas, as far as ggzy's output uses them, for jsonschema (Draft 4).

No installed package ships the official OCDS package schemas (ocdskit, libcoveocds, ocdsmerge,
ocdsextensionregistry and their siblings download them at run time), so the package schemas here are
written from the normative rules of OCDS 1.1 (releases are also checked against the official release
schema, see official_errors below): the required fields, the closed codelists (releaseTag,
initiationType, tenderStatus, awardStatus, contractStatus, method, procurementCategory), ISO 4217 currency
and date-time formats. They are stricter than the standard in one way: objects list their OCDS fields and
refuse any other, so a misspelt or invented field fails instead of passing as an extension would.
"""
from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

RELEASE_TAGS = ["planning", "planningUpdate", "tender", "tenderAmendment", "tenderUpdate", "tenderCancellation",
                "award", "awardUpdate", "awardCancellation", "contract", "contractUpdate", "contractAmendment",
                "implementation", "implementationUpdate", "contractTermination", "compiled"]
DATE_TIME = {"type": "string", "format": "date-time"}
TEXT = {"type": "string", "minLength": 1}
ID = {"type": ["string", "integer"], "minLength": 1}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


VALUE = _object({"amount": {"type": "number"}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}})
PERIOD = _object({"startDate": DATE_TIME, "endDate": DATE_TIME, "maxExtentDate": DATE_TIME,
                  "durationInDays": {"type": "integer"}})
AMENDMENT = _object({"id": TEXT, "date": DATE_TIME, "rationale": TEXT, "description": TEXT,
                     "amendsReleaseID": TEXT, "releaseID": TEXT})
ORGANIZATION_REFERENCE = _object({"id": ID, "name": TEXT}, ["id"])
ORGANIZATION = _object({
    "id": ID, "name": TEXT, "roles": {"type": "array", "items": TEXT},
    "identifier": _object({"scheme": TEXT, "id": ID, "legalName": TEXT, "uri": TEXT}),
}, ["id"])
TENDER = _object({
    "id": ID, "title": TEXT, "description": TEXT,
    "status": {"enum": ["planning", "planned", "active", "cancelled", "unsuccessful", "complete", "withdrawn"]},
    "value": VALUE,
    "procurementMethod": {"enum": ["open", "selective", "limited", "direct"]},
    "procurementMethodDetails": TEXT,
    "mainProcurementCategory": {"enum": ["goods", "works", "services"]},
    "tenderPeriod": PERIOD,
    "numberOfTenderers": {"type": "integer", "minimum": 0},
    "amendments": {"type": "array", "items": AMENDMENT},
}, ["id"])
AWARD = _object({
    "id": ID, "title": TEXT, "date": DATE_TIME, "value": VALUE,
    "status": {"enum": ["pending", "active", "cancelled", "unsuccessful"]},
    "suppliers": {"type": "array", "items": ORGANIZATION_REFERENCE},
    "amendments": {"type": "array", "items": AMENDMENT},
}, ["id"])
CONTRACT = _object({
    "id": ID, "awardID": ID, "title": TEXT, "dateSigned": DATE_TIME, "value": VALUE,
    "status": {"enum": ["pending", "active", "cancelled", "terminated"]},
    "amendments": {"type": "array", "items": AMENDMENT},
}, ["id", "awardID"])
RELEASE = _object({
    "ocid": TEXT, "id": TEXT, "date": DATE_TIME,
    "tag": {"type": "array", "items": {"enum": RELEASE_TAGS}, "minItems": 1},
    "initiationType": {"enum": ["tender"]},
    "language": TEXT,
    "parties": {"type": "array", "items": ORGANIZATION},
    "buyer": ORGANIZATION_REFERENCE,
    "tender": TENDER,
    "awards": {"type": "array", "items": AWARD},
    "contracts": {"type": "array", "items": CONTRACT},
}, ["ocid", "id", "date", "tag", "initiationType"])
PUBLISHER = _object({"name": TEXT, "scheme": TEXT, "uid": TEXT, "uri": TEXT}, ["name"])
PACKAGE = {"uri": TEXT, "version": {"type": "string", "pattern": r"^(\d+\.)(\d+)$"}, "publishedDate": DATE_TIME,
           "publisher": PUBLISHER, "extensions": {"type": "array", "items": TEXT},
           "links": _object({"next": TEXT, "prev": TEXT})}
RELEASE_PACKAGE = _object({**PACKAGE, "releases": {"type": "array", "items": RELEASE, "minItems": 1,
                                                   "uniqueItems": True}},
                          ["uri", "publisher", "publishedDate", "releases", "version"])
RECORD = _object({"ocid": TEXT, "releases": {"type": "array", "items": RELEASE, "minItems": 1},
                  "compiledRelease": RELEASE}, ["ocid", "releases"])
RECORD_PACKAGE = _object({**PACKAGE, "packages": {"type": "array", "items": TEXT},
                          "records": {"type": "array", "items": RECORD, "minItems": 1}},
                         ["uri", "publisher", "publishedDate", "records", "version"])

_FORMATS = FormatChecker()
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or (bool(_RFC3339.fullmatch(value)) and bool(datetime.fromisoformat(value)))


def errors(schema: dict[str, Any], document: Any) -> list[str]:
    """Every violation as 'path: message'."""
    validator = Draft4Validator(schema, format_checker=_FORMATS)
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


# The official OCDS 1.1.4 release schema, taken by `make venv` from the ocdsmerge 0.8.0 source distribution
# on PyPI (a test fixture of that package; no installed package ships it): every release and compiled
# release is also checked against it.
OFFICIAL_RELEASE_SCHEMA = Path(sys.prefix) / "share" / "ocds" / "release-schema-1__1__4.json"


@cache
def official_release_schema() -> dict[str, Any]:
    """The official release schema; its absence is an install error, not a reason to skip."""
    if not OFFICIAL_RELEASE_SCHEMA.is_file():
        raise AssertionError(f"{OFFICIAL_RELEASE_SCHEMA} is missing: run make venv (it downloads it from PyPI)")
    schema: dict[str, Any] = json.loads(OFFICIAL_RELEASE_SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/1__1__4/release-schema.json")
    return schema


def official_errors(release: Any) -> list[str]:
    """Every violation of the official release schema by one release (or compiled release)."""
    return errors(official_release_schema(), release)
