"""The desk's customer forms: flat HTML fields to the API's shapes, and errors back to fields."""

from __future__ import annotations

from typing import Any

from riskdesk.customers.schemas import CustomerOut
from riskdesk.errors import ErrorDetail

COMPANY_FIELDS = (
    "name",
    "uscc",
    "legal_representative",
    "registered_capital_amount",
    "registered_capital_currency",
    "established_on",
    "registration_authority",
    "industry_code",
    "size",
    "status",
    "country",
    "owner",
    "address",
    "business_scope",
    "former_names",
    "bank_name",
    "bank_account",
    "contact_name",
    "contact_title",
    "contact_phone",
)
INDIVIDUAL_FIELDS = (
    "name",
    "id_type",
    "id_number",
    "date_of_birth",
    "phone",
    "home_address",
    "status",
    "country",
    "owner",
    "bank_name",
    "bank_account",
)
# Sensitive inputs left empty on an edit form mean "keep the stored value": a masked reader never sees it.
KEEP_WHEN_EMPTY = frozenset({"id_number", "phone", "home_address", "bank_account", "date_of_birth"})


def fields_for(kind: str) -> tuple[str, ...]:
    return COMPANY_FIELDS if kind == "company" else INDIVIDUAL_FIELDS


def payload_from_form(form: dict[str, str], *, kind: str, editing: bool) -> dict[str, Any]:
    """Empty inputs are absent on create and cleared on edit (except sensitive ones, which are kept)."""
    payload: dict[str, Any] = {} if editing else {"kind": kind}
    for field in fields_for(kind):
        if field not in form:
            continue
        value = form[field].strip()
        if field.startswith("registered_capital_") or field.startswith("contact_"):
            continue
        if not value:
            if editing and field not in KEEP_WHEN_EMPTY and field not in ("name", "status", "country"):
                payload[field] = [] if field == "former_names" else None
            continue
        payload[field] = (
            [line.strip() for line in value.splitlines() if line.strip()] if field == "former_names" else value
        )
    amount = form.get("registered_capital_amount", "").strip().replace(",", "")
    if amount:
        payload["registered_capital"] = {
            "amount": amount,
            "currency": (form.get("registered_capital_currency") or "CNY").strip().upper(),
        }
    elif editing and kind == "company" and "registered_capital_amount" in form:
        payload["registered_capital"] = None
    if not editing:  # on edits, merged_contacts() applies the contact inputs to the stored contacts
        contact = {key: form.get(f"contact_{key}", "").strip() for key in ("name", "title", "phone")}
        if any(contact.values()):
            payload["contacts"] = [{k: v for k, v in contact.items() if v}]
    if editing:
        if form.get("version", "").isdigit():
            payload["version"] = int(form["version"])
        if form.get("reason", "").strip():
            payload["reason"] = form["reason"].strip()
    return payload


def form_from_customer(customer: CustomerOut) -> dict[str, str]:
    """Prefill an edit form. Masked sensitive values are not put back into inputs."""
    values: dict[str, str] = {}
    for field in set(COMPANY_FIELDS) | set(INDIVIDUAL_FIELDS):
        value = getattr(customer, field, None)
        if value is None:
            continue
        if field in KEEP_WHEN_EMPTY and customer.masked:
            continue
        values[field] = "\n".join(value) if isinstance(value, list) else str(value)
    if customer.registered_capital:
        values["registered_capital_amount"] = str(customer.registered_capital.amount)
        values["registered_capital_currency"] = customer.registered_capital.currency
    if customer.contacts:
        first = customer.contacts[0]
        values["contact_name"] = first.name
        values["contact_title"] = first.title or ""
        if not customer.masked and first.phone:
            values["contact_phone"] = first.phone
    return values


def merged_contacts(current: list[dict[str, Any]], form: dict[str, str]) -> list[dict[str, Any]] | None:
    """The edit form shows the first contact only: apply its inputs to it and keep every other contact.

    An empty phone input keeps the stored phone (masked readers never see it). ``None`` means unchanged.
    """
    if not any(f"contact_{key}" in form for key in ("name", "title", "phone")):
        return None
    first = dict(current[0]) if current else {}
    for key in ("name", "title", "phone"):
        value = form.get(f"contact_{key}", "").strip()
        if value:
            first[key] = value
        elif key == "title" and f"contact_{key}" in form:
            first.pop(key, None)
    merged = [first, *current[1:]] if first else list(current)
    return None if merged == current else merged


def errors_by_field(details: list[ErrorDetail]) -> dict[str, str]:
    """Map API error locations onto form inputs (``registered_capital.amount`` → its input)."""
    mapped: dict[str, str] = {}
    for detail in details:
        field = (detail.field or "_form").replace("registered_capital.", "registered_capital_")
        if field.startswith("contacts."):
            field = "contact_" + field.split(".")[-1]
        mapped.setdefault(field, detail.reason)
    return mapped
