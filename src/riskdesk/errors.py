"""Domain exceptions. The web and CLI edges map them to one error body and a plain message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One thing that was wrong: where (field, line) and why."""

    field: str | None
    reason: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "reason": self.reason}
        if self.line is not None:
            out["line"] = self.line
        return out


class DomainError(Exception):
    """Base of every error a user can act on. ``code`` is stable; ``message`` says what to do."""

    code = "error"
    status_code = 400

    def __init__(self, message: str, *, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ValidationFailed(DomainError):
    code = "validation_failed"
    status_code = 422


class NotFound(DomainError):
    code = "not_found"
    status_code = 404


class Conflict(DomainError):
    code = "conflict"
    status_code = 409


class AuthenticationRequired(DomainError):
    code = "authentication_required"
    status_code = 401


class PermissionDenied(DomainError):
    code = "permission_denied"
    status_code = 403


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status_code = 429

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


_DROPPED_LOCATIONS = {"body", "query", "path", "company", "individual"}


def details_from_pydantic(errors: Sequence[Any], line: int | None = None) -> list[ErrorDetail]:
    """Pydantic's errors as (field, reason) a person can act on; discriminator tags leave the location."""
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in _DROPPED_LOCATIONS]
        kind = error.get("type", "")
        reason = str(error.get("msg", "")).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            reason = "unknown field; remove it or check its spelling"
        elif kind == "missing":
            reason = "required field is missing"
        elif kind == "json_invalid":
            reason = f"malformed JSON: {error.get('ctx', {}).get('error', reason)}"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            location, reason = ["kind"], "kind must be 'company' or 'individual'"
        if ": " in reason and not location:
            head, _, tail = reason.partition(": ")
            if head.replace("_", "").isalnum():  # model validators name their field as "field: reason"
                location, reason = [head], tail
        details.append(ErrorDetail(".".join(location) or None, reason, line))
    return details
