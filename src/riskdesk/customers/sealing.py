"""How sensitive customer values are sealed (AES-GCM under the key ring), opened, indexed for exact search
(blind index) and re-sealed when keys rotate. Field names give the encryption context: ``customers.<field>``,
contacts' phones ``customers.contacts.phone``."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from riskdesk import identifiers
from riskdesk.customers import classification
from riskdesk.customers.models import Customer
from riskdesk.security.crypto import KeyRing

CONTACT_PHONE = "contacts.phone"


def normalize_for_index(field: str, value: str) -> str:
    if field.endswith("phone"):
        return identifiers.normalize_phone(value) or value.replace(" ", "").replace("-", "")
    if field == "bank_account":
        return value.replace(" ", "").replace("-", "")
    return identifiers.normalize(value)


def seal(keyring: KeyRing, field: str, value: str | None) -> tuple[str | None, str | None]:
    """Ciphertext and blind index of a sensitive value (both ``None`` when it is cleared)."""
    if value is None or value == "":
        return None, None
    context = f"customers.{field}"
    return keyring.encrypt(value, context=context), keyring.blind_index(
        normalize_for_index(field, value), context=context
    )


def open_value(keyring: KeyRing, field: str, stored: str | None) -> str | None:
    return None if stored is None else keyring.decrypt(stored, context=f"customers.{field}")


def sensitive_value(customer: Customer, field: str, *, keyring: KeyRing) -> str | None:
    """The decrypted value of a sensitive field, for use inside the service layer (never shown unmasked to a
    reader without ``personal_data:read``)."""
    return open_value(keyring, field, getattr(customer, f"{field}_enc"))


def blind_index(keyring: KeyRing, field: str, value: str) -> str:
    return keyring.blind_index(normalize_for_index(field, value), context=f"customers.{field}")


def rotate_keys(
    session: Session, *, keyring: KeyRing, batch_size: int = 500, progress: Callable[[int, int], None] | None = None
) -> int:
    """Re-seal every sensitive value under the active key and refresh blind indexes; returns values re-sealed."""
    resealed = 0
    last_id = 0
    total = session.scalar(select(func.count()).select_from(Customer)) or 0
    done = 0
    while True:
        rows = session.scalars(
            select(Customer)
            .where(Customer.id > last_id)
            .order_by(Customer.id)
            .limit(batch_size)
            .options(selectinload(Customer.contacts))
        ).all()
        if not rows:
            return resealed
        for customer in rows:
            for field in classification.SENSITIVE_FIELDS:
                stored = getattr(customer, f"{field}_enc")
                if stored is None:
                    continue
                value = open_value(keyring, field, stored)
                enc, bidx = seal(keyring, field, value)
                if keyring.needs_rotation(stored):
                    setattr(customer, f"{field}_enc", enc)
                    resealed += 1
                if field != "home_address":
                    setattr(customer, f"{field}_bidx", bidx)
            for contact in customer.contacts:
                if contact.phone_enc and keyring.needs_rotation(contact.phone_enc):
                    contact.phone_enc, _ = seal(
                        keyring, CONTACT_PHONE, open_value(keyring, CONTACT_PHONE, contact.phone_enc)
                    )
                    resealed += 1
        last_id = rows[-1].id
        done += len(rows)
        session.flush()
        if progress:
            progress(done, total)
