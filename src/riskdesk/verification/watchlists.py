"""Watchlist files: CSV and FollowTheMoney JSON Lines (as OpenSanctions publishes them) into listed entries.

Pure parsing; the import use case is in ``screening.py``. CSV columns: ``id`` (stable key; the line number is
used without it), ``kind`` (person/company), ``name``, and optionally ``aliases`` (``;``-separated), ``uscc``,
``id_number``, ``lei``, ``passport``, ``birth_date``, ``country``, ``reason``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from riskdesk import jsonlines
from riskdesk.errors import ErrorDetail, ValidationFailed

FTM_PERSON = {"Person"}
FTM_COMPANY = {"Company", "Organization", "LegalEntity", "PublicBody"}
FTM_IDENTIFIERS = {
    "uscCode": "uscc",
    "leiCode": "lei",
    "idNumber": "id_number",
    "passportNumber": "passport",
    "registrationNumber": "registration_number",
    "taxNumber": "tax_number",
    "innCode": "inn",
}
CSV_IDENTIFIERS = ("uscc", "id_number", "lei", "passport")


@dataclass(frozen=True)
class ListedEntry:
    key: str
    kind: str
    name: str
    aliases: tuple[str, ...] = ()
    identifiers: dict[str, str] = field(default_factory=dict)
    birth_date: str | None = None
    country: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        body = asdict(self)
        body["aliases"] = list(self.aliases)
        return body

    def content_hash(self) -> str:
        canonical = json.dumps(self.content(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _first(values: Any) -> str | None:
    if isinstance(values, list) and values:
        return str(values[0])
    return None


def _ftm_rows(text: str) -> Iterator[tuple[int, ListedEntry | ErrorDetail | None]]:
    for line, record in jsonlines.objects(text):
        if isinstance(record, ErrorDetail):
            yield line, record
            continue
        if not isinstance(record.get("properties"), dict):
            yield line, ErrorDetail(None, "a FollowTheMoney entity needs 'id', 'schema' and 'properties'", line)
            continue
        schema = record.get("schema")
        if schema not in FTM_PERSON | FTM_COMPANY:
            yield line, None  # sanctions, addresses, ownerships…: not a name to screen
            continue
        props: dict[str, Any] = record["properties"]
        scalar = sorted(key for key, values in props.items() if not isinstance(values, list))
        if scalar:
            yield line, ErrorDetail(scalar[0], "FollowTheMoney properties are lists of values", line)
            continue
        names = [str(n) for n in props.get("name", []) if str(n).strip()]
        if not names or not record.get("id"):
            yield line, ErrorDetail("name" if not names else "id", "the entity has no name or no id", line)
            continue
        aliases = [str(a) for key in ("alias", "weakAlias", "previousName") for a in props.get(key, [])]
        identifiers = {
            ours: str(values[0]) for theirs, ours in FTM_IDENTIFIERS.items() if (values := props.get(theirs))
        }
        country = _first(props.get("nationality")) or _first(props.get("country")) or _first(props.get("jurisdiction"))
        yield (
            line,
            ListedEntry(
                key=str(record["id"])[:200],
                kind="person" if schema in FTM_PERSON else "company",
                name=names[0],
                aliases=tuple(dict.fromkeys([*names[1:], *aliases])),
                identifiers=identifiers,
                birth_date=(_first(props.get("birthDate")) or None),
                country=country.upper()[:2] if country else None,
                details={k: props[k] for k in ("topics", "program", "sourceUrl", "notes") if k in props},
            ),
        )


def _content_key(kind: str, name: str, identifiers: dict[str, str], birth: str | None) -> str:
    """Without an ``id`` column an entry is known by what it says, not by its line: a row inserted above it must
    not turn it into another entry (and bring back every dismissed hit)."""
    canonical = json.dumps([kind, name, identifiers, birth], sort_keys=True, ensure_ascii=False)
    return "sha:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _csv_rows(text: str) -> Iterator[tuple[int, ListedEntry | ErrorDetail | None]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or not {"name", "kind"} <= set(reader.fieldnames):
        raise ValidationFailed("the CSV header needs at least the columns 'name' and 'kind' (person or company)")
    for row in reader:
        line = reader.line_num
        if None in row:
            yield line, ErrorDetail(None, "the row has more cells than the header has columns", line)
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        if not values["name"]:
            yield line, ErrorDetail("name", "required field is missing", line)
            continue
        if values["kind"] not in ("person", "company"):
            yield line, ErrorDetail("kind", "kind must be 'person' or 'company'", line)
            continue
        birth = values.get("birth_date") or None
        if birth and not (len(birth) in (4, 7, 10) and birth[:4].isdigit()):
            yield line, ErrorDetail("birth_date", "birth_date must be YYYY, YYYY-MM or YYYY-MM-DD", line)
            continue
        country = values.get("country") or None
        if country and not (len(country) == 2 and country.isalpha()):
            yield line, ErrorDetail("country", "country must be an ISO 3166-1 alpha-2 code such as CN", line)
            continue
        identifiers = {k: values[k] for k in CSV_IDENTIFIERS if values.get(k)}
        yield (
            line,
            ListedEntry(
                key=values.get("id") or _content_key(values["kind"], values["name"], identifiers, birth),
                kind=values["kind"],
                name=values["name"],
                aliases=tuple(a.strip() for a in values.get("aliases", "").split(";") if a.strip()),
                identifiers=identifiers,
                birth_date=birth,
                country=country.upper() if country else None,
                details={"reason": values["reason"]} if values.get("reason") else {},
            ),
        )


def parse(raw: bytes, *, file_format: str) -> tuple[list[ListedEntry], list[ErrorDetail], int]:
    """Every entry, every malformed row (line, field, reason), and the number of rows read."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030") if file_format == "csv" else ""
        except UnicodeDecodeError:
            text = ""
        if not text:
            raise ValidationFailed("the file is not UTF-8 (or, for CSV, GB18030) text; save it as UTF-8") from None
    if file_format not in ("csv", "ftm"):
        raise ValidationFailed(f"format {file_format!r} is not supported; use csv or ftm")
    rows = _csv_rows(text) if file_format == "csv" else _ftm_rows(text)
    entries: list[ListedEntry] = []
    errors: list[ErrorDetail] = []
    seen: dict[str, int] = {}
    count = 0
    for line, item in rows:
        count += 1
        if item is None:
            continue
        if isinstance(item, ErrorDetail):
            errors.append(item)
            continue
        if item.key in seen:
            errors.append(ErrorDetail("id", f"duplicate of line {seen[item.key]}", line))
            continue
        seen[item.key] = line
        entries.append(item)
    return entries, errors, count
