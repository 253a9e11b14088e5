"""What the customer said against what the registry says, field by field, after normalising: full and half
width, traditional and simplified characters, company-form words, 万元 and 元, date formats. Pure."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from riskdesk.verification.names import normalize, parse
from riskdesk.verification.registry import RegistryRecord

SEVERITIES = ("critical", "high", "medium", "low")
ACTIVE_STATUSES = ("存续", "在业", "开业", "正常", "登记成立", "active", "in business", "registered")
ENDED_STATUSES = (
    "注销",
    "吊销",
    "撤销",
    "迁出",
    "停业",
    "清算",
    "歇业",
    "解散",
    "deregistered",
    "revoked",
    "cancelled",
    "dissolved",
    "struck off",
    "closed",
    "liquidation",
    "inactive",
)


def _has(status: str, words: tuple[str, ...]) -> bool:
    """Chinese words as substrings; English ones as whole words ("active" is not in "inactive")."""
    lowered = status.lower()
    return any(
        (re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", lowered) if word.isascii() else word in status)
        for word in words
    )


@dataclass(frozen=True)
class Finding:
    field: str
    severity: str
    message: str
    customer_value: str | None = None
    registry_value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CompanyFacts:
    """What the customer gave about itself."""

    name: str
    uscc: str
    legal_representative: str | None = None
    registered_capital: Decimal | None = None
    currency: str = "CNY"
    established_on: date | None = None
    address: str | None = None


def same_company_name(left: str, right: str) -> bool:
    a, b = parse(left, "company"), parse(right, "company")
    if a.han and b.han:
        return (a.region_han + a.han) == (b.region_han + b.han) or (
            a.han == b.han and not (a.region_han and b.region_han)
        )
    return a.tokens == b.tokens and (not a.region or not b.region or a.region == b.region)


def same_text(left: str | None, right: str | None) -> bool:
    return normalize(left or "").replace(" ", "") == normalize(right or "").replace(" ", "")


def address_similarity(left: str, right: str) -> float:
    from rapidfuzz.distance import Levenshtein

    return float(Levenshtein.normalized_similarity(normalize(left).replace(" ", ""), normalize(right).replace(" ", "")))


def compare(facts: CompanyFacts, record: RegistryRecord) -> list[Finding]:
    findings: list[Finding] = []
    status = (record.status or "").strip()
    if status and _has(status, ENDED_STATUSES):
        findings.append(Finding("status", "critical", f"the registry lists the company as {status}", None, status))
    elif status and not _has(status, ACTIVE_STATUSES):
        findings.append(
            Finding("status", "medium", f"registry status {status!r} is not an active status", None, status)
        )
    if record.dishonest_debtor:
        findings.append(
            Finding(
                "dishonest_debtor",
                "critical",
                f"{len(record.dishonest_debtor)} dishonest judgment debtor record(s) (失信被执行人)",
            )
        )
    if record.abnormal_operations:
        findings.append(
            Finding(
                "abnormal_operations",
                "high",
                f"listed in the abnormal operations list (经营异常名录) {len(record.abnormal_operations)} time(s)",
            )
        )
    if record.penalties:
        findings.append(Finding("penalties", "medium", f"{len(record.penalties)} administrative penalty record(s)"))
    if not same_company_name(facts.name, record.name):
        if any(same_company_name(facts.name, former) for former in record.former_names):
            findings.append(
                Finding("name", "low", "the name given is a former name of the company", facts.name, record.name)
            )
        else:
            findings.append(Finding("name", "high", "the name differs from the registry", facts.name, record.name))
    if (
        record.legal_representative
        and facts.legal_representative is not None
        and not same_text(facts.legal_representative, record.legal_representative)
    ):
        findings.append(
            Finding(
                "legal_representative",
                "high",
                "the legal representative differs from the registry",
                facts.legal_representative,
                record.legal_representative,
            )
        )
    if (
        record.registered_capital is not None
        and facts.registered_capital is not None
        and (
            record.currency != facts.currency
            or abs(record.registered_capital - facts.registered_capital) > Decimal("0.5")
        )
    ):
        findings.append(
            Finding(
                "registered_capital",
                "medium",
                "the registered capital differs from the registry (compared in 元)",
                f"{facts.registered_capital} {facts.currency}",
                f"{record.registered_capital} {record.currency}",
            )
        )
    if record.established_on and facts.established_on and record.established_on != facts.established_on:
        findings.append(
            Finding(
                "established_on",
                "medium",
                "the establishment date differs from the registry",
                facts.established_on.isoformat(),
                record.established_on.isoformat(),
            )
        )
    if record.address and facts.address and address_similarity(facts.address, record.address) < 0.8:
        findings.append(
            Finding("address", "low", "the address differs from the registered address", facts.address, record.address)
        )
    return findings
