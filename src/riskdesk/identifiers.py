"""Chinese and international identifiers: format and check-character rules, each failure named.

Pure: no I/O, no framework. python-stdnum computes the check characters; the rules it gets wrong for us are
implemented here (letters in USCC positions 1-2, the organisation code inside a USCC). Region tables and
full decoding are the background-investigation issue's; this module answers "is it well formed".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class IdentifierCheck:
    """The verdict on one identifier: ``valid``, the normalised form, and the rule broken if any."""

    kind: str
    value: str
    normalized: str
    valid: bool
    rule: str | None = None
    facts: dict[str, str] = field(default_factory=dict)


def normalize(value: str) -> str:
    """Upper-case, full width to half width (NFKC), spaces and hyphens removed."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value)).upper()


def _org_code_check(body8: str) -> str:
    total = sum(int(ch, 36) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_check_character(body17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: str) -> IdentifierCheck:
    """Unified social credit code, GB 32100-2015 (and the GB 11714 organisation code inside it)."""
    code = normalize(value)

    def bad(rule: str) -> IdentifierCheck:
        return IdentifierCheck("uscc", value, code, False, rule)

    if len(code) != 18:
        return bad(f"length: a unified social credit code has 18 characters, found {len(code)}")
    wrong = sorted({ch for ch in code if ch not in USCC_ALPHABET})
    if wrong:
        return bad("character set: only 0-9 and A-H J-N P Q R T U W X Y are allowed, found " + ", ".join(wrong))
    if not code[2:8].isdigit():
        return bad("administrative division: positions 3-8 must be six digits (GB/T 2260)")
    org = code[8:17]
    if any(ch not in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" for ch in org[:8]):
        return bad("organisation code: positions 9-16 must be digits or letters")
    expected_org = _org_code_check(org[:8])
    if org[8] != expected_org:
        return bad(f"organisation code check: position 17 should be {expected_org}, found {org[8]}")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return bad(f"check character should be {expected}, found {code[17]}")
    return IdentifierCheck(
        "uscc",
        value,
        code,
        True,
        facts={
            "registration_authority": code[0],
            "entity_type": code[1],
            "division": code[2:8],
            "organisation_code": f"{org[:8]}-{org[8]}",
        },
    )


def ric_check_character(body17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(body17, _RIC_WEIGHTS, strict=True))
    return "0123456789X"[(12 - total % 11) % 11]


def check_resident_id(value: str) -> IdentifierCheck:
    """Resident identity card number, GB 11643-1999 (ISO 7064 MOD 11-2), 18 characters."""
    number = normalize(value)

    def bad(rule: str) -> IdentifierCheck:
        return IdentifierCheck("ric", value, number, False, rule)

    if len(number) != 18:
        return bad(f"length: a resident identity card number has 18 characters, found {len(number)}")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return bad("character set: 17 digits followed by a digit or X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return bad(f"birth date: positions 7-14 ({number[6:14]}) are not a calendar date")
    if born.year < 1900 or born > date.today():
        return bad(f"birth date: {born.isoformat()} is outside 1900 to today")
    expected = ric_check_character(number[:17])
    if number[17] != expected:
        return bad(f"check character should be {expected}, found {number[17]}")
    return IdentifierCheck(
        "ric",
        value,
        number,
        True,
        facts={
            "region": number[:6],
            "birth_date": born.isoformat(),
            "sex": "male" if int(number[16]) % 2 else "female",
        },
    )


def check_lei(value: str) -> IdentifierCheck:
    """Legal entity identifier, ISO 17442: 18 alphanumerics and two MOD 97-10 check digits."""
    code = normalize(value)
    if not re.fullmatch(r"[A-Z0-9]{18}[0-9]{2}", code):
        return IdentifierCheck(
            "lei", value, code, False, "format: 20 characters, 18 letters or digits then 2 check digits"
        )
    numeric = "".join(str(int(ch, 36)) for ch in code)
    if int(numeric) % 97 != 1:
        return IdentifierCheck("lei", value, code, False, "check digits: MOD 97-10 remainder is not 1")
    return IdentifierCheck("lei", value, code, True)


PHONE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def normalize_phone(value: str) -> str | None:
    """A mainland mobile number as 11 digits, or ``None`` when it is not one."""
    match = PHONE_RE.match(re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", value)))
    return match.group(1) if match else None
