"""Ratio analysis and distress models. Pure; every result states its formula, and what cannot be computed says
why ("not meaningful: negative equity") instead of giving NaN or a crash.

Formulas (values in the currency's unit; "average" would need two periods, so period-end values are used):

| ratio | formula |
|---|---|
| current | current assets / current liabilities |
| quick | (current assets − inventory) / current liabilities |
| cash | cash / current liabilities |
| debt_to_equity | (short-term + long-term borrowings) / equity |
| debt_to_tangible_net_worth | total liabilities / (equity − intangible assets) |
| liabilities_to_assets | total liabilities / total assets |
| interest_coverage | operating profit / interest expense |
| debt_service_coverage | (operating profit + depreciation) / (interest expense + debt principal repaid) |
| gross_margin | (revenue − cost of sales) / revenue |
| net_margin | net income / revenue |
| roa | net income / total assets |
| roe | net income / equity |
| dso | accounts receivable / revenue × 365 |
| dio | inventory / cost of sales × 365 |
| dpo | accounts payable / cost of sales × 365 |
| cash_conversion_cycle | DSO + DIO − DPO |
| asset_turnover | revenue / total assets |
| revenue_growth, net_income_growth | this period / previous period − 1 |

Altman Z'' (non-manufacturers and emerging markets): 6.56 X1 + 3.26 X2 + 6.72 X3 + 1.05 X4 with X1 = working
capital / total assets, X2 = retained earnings / total assets, X3 = EBIT / total assets, X4 = book equity / total
liabilities; distress below 1.1, safe above 2.6. Altman Z' (private manufacturers): 0.717 X1 + 0.847 X2 + 3.107
X3 + 0.420 X4 + 0.998 X5 with X5 = revenue / total assets; distress below 1.23, safe above 2.9.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

Lines = Mapping[str, Decimal]
ZERO = Decimal(0)


@dataclass(frozen=True)
class Result:
    name: str
    value: Decimal | None
    formula: str
    note: str = ""  # why there is no value, or what to keep in mind about it

    @property
    def meaningful(self) -> bool:
        return self.value is not None


def _ratio(
    name: str, formula: str, numerator: Decimal | None, denominator: Decimal | None, *, positive_denominator: str = ""
) -> Result:
    if numerator is None or denominator is None:
        return Result(name, None, formula, "not available: a line it needs is missing")
    if denominator == ZERO:
        return Result(name, None, formula, "not meaningful: the denominator is zero")
    if positive_denominator and denominator < ZERO:
        return Result(name, None, formula, f"not meaningful: {positive_denominator}")
    return Result(name, (numerator / denominator).quantize(Decimal("0.0001")), formula)


def _sum(*values: Decimal | None) -> Decimal | None:
    return None if any(v is None for v in values) else sum((v for v in values if v is not None), ZERO)


def _minus(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    return None if a is None or b is None else a - b


def ratios(lines: Lines, previous: Lines | None = None) -> list[Result]:
    g = lines.get
    borrowings = _sum(g("short_term_debt", ZERO), g("long_term_debt", ZERO))
    tangible = _minus(g("equity"), g("intangible_assets", ZERO))
    results = [
        _ratio("current", "current assets / current liabilities", g("current_assets"), g("current_liabilities")),
        _ratio(
            "quick",
            "(current assets − inventory) / current liabilities",
            _minus(g("current_assets"), g("inventory", ZERO)),
            g("current_liabilities"),
        ),
        _ratio("cash", "cash / current liabilities", g("cash"), g("current_liabilities")),
        _ratio(
            "debt_to_equity", "borrowings / equity", borrowings, g("equity"), positive_denominator="negative equity"
        ),
        _ratio(
            "debt_to_tangible_net_worth",
            "total liabilities / (equity − intangible assets)",
            g("total_liabilities"),
            tangible,
            positive_denominator="negative tangible net worth",
        ),
        _ratio("liabilities_to_assets", "total liabilities / total assets", g("total_liabilities"), g("total_assets")),
        _ratio(
            "interest_coverage", "operating profit / interest expense", g("operating_profit"), g("interest_expense")
        ),
        _ratio(
            "debt_service_coverage",
            "(operating profit + depreciation) / (interest + principal repaid)",
            _sum(g("operating_profit"), g("depreciation", ZERO)),
            _sum(g("interest_expense", ZERO), g("debt_repayment", ZERO)),
        ),
        _ratio(
            "gross_margin",
            "(revenue − cost of sales) / revenue",
            _minus(g("revenue"), g("cost_of_sales")),
            g("revenue"),
            positive_denominator="negative revenue",
        ),
        _ratio(
            "net_margin", "net income / revenue", g("net_income"), g("revenue"), positive_denominator="negative revenue"
        ),
        _ratio("roa", "net income / total assets", g("net_income"), g("total_assets")),
        _ratio("roe", "net income / equity", g("net_income"), g("equity"), positive_denominator="negative equity"),
        _days("dso", "accounts receivable / revenue × 365", g("accounts_receivable"), g("revenue")),
        _days("dio", "inventory / cost of sales × 365", g("inventory"), g("cost_of_sales")),
        _days("dpo", "accounts payable / cost of sales × 365", g("accounts_payable"), g("cost_of_sales")),
        _ratio("asset_turnover", "revenue / total assets", g("revenue"), g("total_assets")),
    ]
    by_name = {r.name: r for r in results}
    parts = [by_name["dso"], by_name["dio"], by_name["dpo"]]
    if all(p.meaningful for p in parts):
        value = parts[0].value + parts[1].value - parts[2].value  # type: ignore[operator]
        results.append(Result("cash_conversion_cycle", value, "DSO + DIO − DPO"))
    else:
        results.append(
            Result("cash_conversion_cycle", None, "DSO + DIO − DPO", next(p.note for p in parts if not p.meaningful))
        )
    for key in ("revenue", "net_income"):
        formula = f"{key.replace('_', ' ')} / previous period's − 1"
        if previous is None:
            results.append(Result(f"{key}_growth", None, formula, "not available: no previous period"))
            continue
        before, now = previous.get(key), g(key)
        if before is not None and before < ZERO:
            results.append(Result(f"{key}_growth", None, formula, "not meaningful: the previous value is negative"))
            continue
        growth = _ratio(f"{key}_growth", formula, now, before)
        value = growth.value - 1 if growth.value is not None else None
        results.append(Result(growth.name, value, formula, growth.note))
    return results


def _days(name: str, formula: str, balance: Decimal | None, flow: Decimal | None) -> Result:
    result = _ratio(name, formula, balance, flow, positive_denominator="negative denominator")
    if result.value is None:
        return result
    return Result(name, (result.value * 365).quantize(Decimal("0.1")), formula)


@dataclass(frozen=True)
class ZScore:
    model: str  # "altman-z-double-prime-1995" | "altman-z-prime-1983"
    value: Decimal | None
    zone: str | None  # distress | grey | safe
    components: dict[str, Decimal]
    note: str = ""


Z_DOUBLE_PRIME = (
    "altman-z-double-prime-1995",
    (Decimal("6.56"), Decimal("3.26"), Decimal("6.72"), Decimal("1.05")),
    Decimal("1.1"),
    Decimal("2.6"),
)
Z_PRIME = (
    "altman-z-prime-1983",
    (Decimal("0.717"), Decimal("0.847"), Decimal("3.107"), Decimal("0.420"), Decimal("0.998")),
    Decimal("1.23"),
    Decimal("2.9"),
)


def altman(lines: Lines, *, manufacturer: bool = False) -> ZScore:
    """Z'' for most companies; Z' when ``manufacturer`` (GB/T 4754 section C)."""
    model, weights, distress, safe = Z_PRIME if manufacturer else Z_DOUBLE_PRIME
    g = lines.get
    total_assets, total_liabilities = g("total_assets"), g("total_liabilities")
    needed = ("current_assets", "current_liabilities", "retained_earnings", "operating_profit", "equity")
    missing = [k for k in (*needed, "total_assets", "total_liabilities") if g(k) is None]
    if manufacturer and g("revenue") is None:
        missing.append("revenue")
    if missing:
        return ZScore(model, None, None, {}, "not available: missing " + ", ".join(missing))
    assert total_assets is not None and total_liabilities is not None
    if total_assets <= ZERO:
        return ZScore(model, None, None, {}, "not meaningful: total assets are not positive")
    if total_liabilities == ZERO:
        return ZScore(model, None, None, {}, "not meaningful: no liabilities (X4 has no denominator)")
    x = [
        (g("current_assets") - g("current_liabilities")) / total_assets,  # type: ignore[operator]
        g("retained_earnings") / total_assets,  # type: ignore[operator]
        g("operating_profit") / total_assets,  # type: ignore[operator]
        g("equity") / total_liabilities,  # type: ignore[operator]
    ]
    if manufacturer:
        x.append(g("revenue") / total_assets)  # type: ignore[operator]
    value = sum((w * xi for w, xi in zip(weights, x, strict=True)), ZERO).quantize(Decimal("0.001"))
    zone = "distress" if value < distress else "safe" if value > safe else "grey"
    components = {f"x{i + 1}": xi.quantize(Decimal("0.0001")) for i, xi in enumerate(x)}
    note = "equity is negative: X4 is negative" if g("equity") < ZERO else ""  # type: ignore[operator]
    return ZScore(model, value, zone, components, note)
