"""Every customer field's personal-information class (PIPL Art. 28, 51) and how it is masked.

``sensitive`` fields are encrypted at rest and masked for roles without ``personal_data:read``; ``personal``
and ``sensitive`` values are masked in the audit ledger. ``docs/personal-information.md`` prints this table.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from riskdesk.security import masking


class Classification(StrEnum):
    public = "public"
    internal = "internal"
    personal = "personal"
    sensitive = "sensitive_personal"


FIELD_CLASSES: dict[str, Classification] = {
    "kind": Classification.internal,
    "name": Classification.public,  # companies; an individual's name is personal, see classify()
    "status": Classification.internal,
    "country": Classification.public,
    "owner": Classification.internal,
    "group_id": Classification.internal,
    "industry_code": Classification.public,
    "size": Classification.public,
    "uscc": Classification.public,
    "former_names": Classification.public,
    "business_scope": Classification.public,
    "registered_capital": Classification.public,
    "legal_representative": Classification.public,
    "established_on": Classification.public,
    "registration_authority": Classification.public,
    "address": Classification.public,
    "id_type": Classification.personal,
    "id_number": Classification.sensitive,
    "phone": Classification.sensitive,
    "home_address": Classification.sensitive,
    "date_of_birth": Classification.personal,
    "bank_name": Classification.internal,
    "bank_account": Classification.sensitive,
    "contacts.name": Classification.personal,
    "contacts.title": Classification.internal,
    "contacts.phone": Classification.sensitive,
    "contacts.email": Classification.personal,
}

SENSITIVE_FIELDS = ("id_number", "phone", "home_address", "bank_account")

_MASKS: dict[str, Callable[[str], str]] = {
    "id_number": masking.mask_id_number,
    "phone": masking.mask_phone,
    "contacts.phone": masking.mask_phone,
    "bank_account": masking.mask_account,
    "home_address": masking.mask_text,
    "date_of_birth": lambda value: value[:4] + "-**-**",
    "contacts.email": lambda value: (
        masking.mask_middle(value.split("@")[0], keep_start=1, keep_end=0)
        + ("@" + value.split("@", 1)[1] if "@" in value else "")
    ),
}


def classify(field: str, *, kind: str) -> Classification:
    if field == "name" and kind == "individual":
        return Classification.personal
    return FIELD_CLASSES.get(field, Classification.internal)


def mask_value(field: str, value: Any) -> Any:
    """The masked form of a personal or sensitive value (names keep their first character)."""
    if value is None or value == "":
        return value
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    masker = _MASKS.get(field)
    if masker is not None:
        return masker(text)
    return masking.mask_middle(text, keep_start=1, keep_end=0)


def for_ledger(field: str, value: Any, *, kind: str) -> Any:
    """What the audit ledger may keep of a value: public and internal as is, personal data masked."""
    if classify(field, kind=kind) in (Classification.personal, Classification.sensitive):
        return mask_value(field, value)
    return value
