"""Domain errors: plain exceptions that api/errors.py maps to HTTP status codes."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a use case may raise on purpose."""

    code = "error"

    def __init__(self, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(DomainError):
    """404: an unknown id or key."""

    code = "not_found"


class Conflict(DomainError):
    """409: the state does not allow it (task not ready, already completed, stale version)."""

    code = "conflict"


class Invalid(DomainError):
    """422: valid JSON that breaks a form, a BPMN rule or a statutory rule."""

    code = "invalid"


class BadRequest(DomainError):
    """400: malformed input."""

    code = "bad_request"


class Unauthorized(DomainError):
    """401: no token or a bad one."""

    code = "unauthorized"


class Forbidden(DomainError):
    """403: the caller lacks the role or the region."""

    code = "forbidden"


class StatuteViolation(Invalid):
    """422 with the statutory rule id and its citation."""

    code = "statute_violation"

    def __init__(self, message: str, rule: str, citation: str, errors: Any = None) -> None:
        super().__init__(message, errors)
        self.rule = rule
        self.citation = citation


class CalendarYearUnknown(Invalid):
    """422: a working-day computation needs a year whose holiday calendar is not published."""

    code = "calendar_year_unknown"

    def __init__(self, year: int) -> None:
        super().__init__(f"{year} 年的节假日安排尚未发布，无法计算工作日", {"year": year})
        self.year = year


class ScriptError(Invalid):
    """A sandboxed script, condition or timer expression failed or was refused."""

    code = "script_error"
