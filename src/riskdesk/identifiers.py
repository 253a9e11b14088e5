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
    """The verdict on one identifier: ``valid``, the normalised form, the rule broken if any, and warnings
    (facts that could not be confirmed but do not make it invalid, e.g. a region code missing from the table)."""

    kind: str
    value: str
    normalized: str
    valid: bool
    rule: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# GB 32100-2015 table 1: registration authority (position 1) and entity type (position 2) within it.
REGISTRATION_AUTHORITIES = {
    "1": "机构编制",
    "5": "民政",
    "9": "工商",
    "Y": "其他",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
}
ENTITY_TYPES = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    "Y": {"1": "其他"},
}


def division_name(code: str) -> str | None:
    """The GB/T 2260 name of a six-digit division (python-stdnum's table), or None when it is not listed."""
    from stdnum import numdb

    parts = numdb.get("cn/loc").info(code)
    names = [
        re.sub(r"^\[[^\]]*\]", "", value)
        for _, props in parts
        for key, value in props.items()
        if key in ("province", "prefecture", "county")
    ]
    return "".join(names) or None


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
    facts = {
        "registration_authority": f"{code[0]} {REGISTRATION_AUTHORITIES.get(code[0], '未列明')}",
        "entity_type": f"{code[1]} {ENTITY_TYPES.get(code[0], {}).get(code[1], '未列明')}",
        "division": code[2:8],
        "organisation_code": f"{org[:8]}-{org[8]}",
    }
    warnings = []
    place = division_name(code[2:8])
    if place:
        facts["division_name"] = place
    else:
        warnings.append(f"division {code[2:8]} is not in the GB/T 2260 table riskdesk has")
    return IdentifierCheck("uscc", value, code, True, facts=facts, warnings=warnings)


def ric_check_character(body17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(body17, _RIC_WEIGHTS, strict=True))
    return "0123456789X"[(12 - total % 11) % 11]


def upgrade_legacy_ric(number15: str) -> str:
    """A first-generation 15-digit number (two-digit year, no check) as the 18-character number it became."""
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + ric_check_character(first17)


def check_resident_id(value: str) -> IdentifierCheck:
    """Resident identity card number, GB 11643-1999 (ISO 7064 MOD 11-2); 15-digit ones are converted."""
    number = normalize(value)
    warnings: list[str] = []
    if len(number) == 15 and number.isdigit():
        number = upgrade_legacy_ric(number)
        warnings.append(f"legacy 15-digit number converted to {number}")

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
    facts = {"region": number[:6], "birth_date": born.isoformat(), "sex": "male" if int(number[16]) % 2 else "female"}
    place = division_name(number[:6])
    if place:
        facts["region_name"] = place
    else:  # numbers issued under since-abolished divisions are still valid
        warnings.append(f"region {number[:6]} is not in the GB/T 2260 table riskdesk has")
    return IdentifierCheck("ric", value, number, True, facts=facts, warnings=warnings)


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


def check(value: str, kind: str = "auto") -> IdentifierCheck:
    """Check ``value`` as ``kind`` (uscc, ric, lei), or guess the kind from its shape with ``auto``."""
    checkers = {"uscc": check_uscc, "ric": check_resident_id, "lei": check_lei}
    if kind != "auto":
        return checkers[kind](value)
    code = normalize(value)
    if len(code) == 20:
        return check_lei(value)
    if len(code) == 15 and code.isdigit():
        return check_resident_id(value)
    if len(code) == 18:
        # An 18-character value of 17 digits and a digit or X, with a plausible birth date, is an ID number.
        looks_like_ric = code[:17].isdigit() and code[17] in "0123456789X" and code[6:8] in ("18", "19", "20")
        if looks_like_ric:
            as_id = check_resident_id(value)
            # 911101191000000089 looks like an ID number but is a valid USCC: the valid reading wins.
            return as_id if as_id.valid or not check_uscc(value).valid else check_uscc(value)
        return check_uscc(value)
    return IdentifierCheck(
        "unknown",
        value,
        code,
        False,
        f"length: {len(code)} characters is neither a USCC or resident ID (18), a legacy ID (15) nor an LEI (20)",
    )


PHONE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def normalize_phone(value: str) -> str | None:
    """A mainland mobile number as 11 digits, or ``None`` when it is not one."""
    match = PHONE_RE.match(re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", value)))
    return match.group(1) if match else None
