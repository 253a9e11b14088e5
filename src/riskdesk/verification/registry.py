"""Registry records and the providers that fetch them: a snapshot the unit imports, or an HTTP API mapped by
configuration (Tianyancha- or Qichacha-style JSON) with time-outs, retries with back-off, a TTL cache and a rate
limit. A provider that fails raises :class:`RegistryUnavailable`: the check is incomplete, never passed.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol


class RegistryUnavailable(Exception):
    """The registry could not answer (time-out, error status, unreadable answer): try again later."""


@dataclass(frozen=True)
class RegistryRecord:
    uscc: str
    name: str
    legal_representative: str | None = None
    status: str | None = None
    registered_capital: Decimal | None = None  # in 元 (or the currency's unit)
    currency: str = "CNY"
    established_on: date | None = None
    address: str | None = None
    business_scope: str | None = None
    former_names: tuple[str, ...] = ()
    abnormal_operations: tuple[dict[str, Any], ...] = ()  # 经营异常名录
    dishonest_debtor: tuple[dict[str, Any], ...] = ()  # 失信被执行人
    penalties: tuple[dict[str, Any], ...] = ()  # 行政处罚
    source: str = ""

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["registered_capital"] = str(self.registered_capital) if self.registered_capital is not None else None
        body["established_on"] = self.established_on.isoformat() if self.established_on else None
        for key in ("former_names", "abnormal_operations", "dishonest_debtor", "penalties"):
            body[key] = list(body[key])
        return body


class RegistryProvider(Protocol):
    name: str

    def lookup(self, uscc: str) -> RegistryRecord | None:
        """The registry's record, ``None`` when the registry has none, or RegistryUnavailable."""


# ── Reading messy registry values ────────────────────────────────────────────────────────────────────────

_CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
_UNITS = {"亿": Decimal(100_000_000), "万": Decimal(10_000), "千": Decimal(1000)}
_CURRENCIES = {"人民币": "CNY", "美元": "USD", "港元": "HKD", "港币": "HKD", "欧元": "EUR", "日元": "JPY"}


def parse_money(value: Any) -> tuple[Decimal | None, str]:
    """``5000万元人民币`` → (50000000, CNY); ``500 万美元`` → (5000000, USD); numbers are taken as 元."""
    if value is None or value == "":
        return None, "CNY"
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)), "CNY"
    text = str(value).replace(",", "").replace("，", "").strip()
    currency = next((code for word, code in _CURRENCIES.items() if word in text), "CNY")
    text = re.sub(r"[（(][^)）]*[)）]", " ", text)  # 注册资本(2019年) 5000万元: the bracket is not the amount
    match = re.search(r"(-?\d+(?:\.\d+)?)\s*(亿|万|千)", text) or re.search(r"(-?\d+(?:\.\d+)?)", text)
    if not match or match.group(1).startswith("-"):
        return None, currency
    try:
        amount = Decimal(match.group(1))
    except InvalidOperation:
        return None, currency
    if match.lastindex and match.lastindex >= 2 and match.group(2):
        amount *= _UNITS[match.group(2)]
    return amount, currency


def parse_date(value: Any) -> date | None:
    """``2015-03-02``, ``2015/3/2``, ``2015年3月2日``, ``20150302`` or a millisecond timestamp."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if re.fullmatch(r"-?\d{9,13}", text) and not re.fullmatch(r"\d{8}", text):
        # A Unix timestamp (seconds, or milliseconds as Tianyancha sends): a date in China, not in UTC.
        seconds = int(text) / (1000 if abs(int(text)) > 10**11 else 1)
        try:
            return datetime.fromtimestamp(seconds, tz=_CHINA).date()
        except (OverflowError, OSError, ValueError):
            return None
    match = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", text) or re.match(r"^(\d{4})(\d{2})(\d{2})$", text)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _list(value: Any) -> tuple[Any, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, str):
        return tuple(part.strip() for part in re.split(r"[;；]", value) if part.strip())
    return (value,)


def record_from_mapping(values: Mapping[str, Any], *, source: str) -> RegistryRecord:
    """Build a record from our field names; raises ValueError naming what is missing or unreadable."""
    name, uscc = values.get("name"), values.get("uscc")
    if not name or not uscc:
        raise ValueError("a registry record needs at least 'name' and 'uscc'")
    amount, currency = parse_money(values.get("registered_capital"))
    return RegistryRecord(
        uscc=str(uscc).strip().upper(),
        name=str(name).strip(),
        legal_representative=(str(values["legal_representative"]).strip() or None)
        if values.get("legal_representative")
        else None,
        status=str(values["status"]).strip() if values.get("status") else None,
        registered_capital=amount,
        currency=_CURRENCIES.get(str(values.get("currency") or ""), str(values.get("currency") or currency).upper()),
        established_on=parse_date(values.get("established_on")),
        address=str(values["address"]).strip() if values.get("address") else None,
        business_scope=str(values["business_scope"]).strip() if values.get("business_scope") else None,
        former_names=tuple(str(n) for n in _list(values.get("former_names"))),
        abnormal_operations=tuple(_as_dicts(_list(values.get("abnormal_operations")))),
        dishonest_debtor=tuple(_as_dicts(_list(values.get("dishonest_debtor")))),
        penalties=tuple(_as_dicts(_list(values.get("penalties")))),
        source=source,
    )


def _as_dicts(items: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [item if isinstance(item, dict) else {"description": str(item)} for item in items]


# ── The HTTP provider ────────────────────────────────────────────────────────────────────────────────────


def _dig(document: Any, path: str) -> Any:
    """``data.result.legalPersonName`` in a JSON document; ``None`` when any step is missing."""
    for step in path.split("."):
        if isinstance(document, dict):
            document = document.get(step)
        elif isinstance(document, list) and step.isdigit() and int(step) < len(document):
            document = document[int(step)]
        else:
            return None
    return document


@dataclass
class HttpRegistryProvider:
    """``url`` has a ``{uscc}`` placeholder; ``fields`` maps our field names to dotted paths in the answer;
    ``found_path`` (optional) must be truthy for a record to exist."""

    url: str
    fields: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict)
    found_path: str | None = None
    error_path: str | None = None  # e.g. error_code: anything but 0/empty is an error …
    not_found_codes: tuple[str, ...] = ()  # … except these, which mean "no such company"
    timeout_seconds: float = 5.0
    retries: int = 2
    backoff_seconds: float = 0.5
    cache_seconds: float = 24 * 3600
    max_per_second: float = 5.0
    name: str = "http"
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, RegistryRecord | None]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _last_call: float = field(default=0.0, repr=False)

    def _throttle(self) -> None:
        with self._lock:
            wait = self._last_call + 1.0 / self.max_per_second - self.clock()
            if wait > 0:
                self.sleep(wait)
            self._last_call = self.clock()

    def _fetch(self, uscc: str) -> Any:
        import httpx

        last_error = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            self._throttle()
            try:
                response = httpx.get(
                    self.url.format(uscc=uscc), headers=dict(self.headers), timeout=self.timeout_seconds
                )
            except httpx.HTTPError as exc:
                last_error = f"{exc.__class__.__name__}: {exc}"
                continue
            if response.status_code == 404:
                return None
            if response.status_code == 429 or response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise RegistryUnavailable(f"{self.name} refused the request: HTTP {response.status_code}")
            try:
                return response.json()
            except (json.JSONDecodeError, ValueError):
                raise RegistryUnavailable(f"{self.name} answered something that is not JSON") from None
        raise RegistryUnavailable(f"{self.name} did not answer after {self.retries + 1} attempts ({last_error})")

    def lookup(self, uscc: str) -> RegistryRecord | None:
        now = self.clock()
        cached = self._cache.get(uscc)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        document = self._fetch(uscc)
        error = _dig(document, self.error_path) if self.error_path and document is not None else None
        if error not in (None, 0, "0", "", False) and str(error) not in self.not_found_codes:
            # Quota, authentication, "system busy": an answer, but not about the company.
            raise RegistryUnavailable(f"{self.name} answered with error {error}")
        if (
            document is None
            or error not in (None, 0, "0", "", False)
            or (self.found_path and not _dig(document, self.found_path))
        ):
            record = None
        else:
            values = {ours: _dig(document, path) for ours, path in self.fields.items()}
            try:
                record = record_from_mapping(values, source=self.name)
            except Exception as exc:  # any unreadable answer means "try later", never a crash or a pass
                raise RegistryUnavailable(f"{self.name} answered something riskdesk cannot read: {exc}") from None
        self._cache[uscc] = (now, record)
        return record
