"""Entering, importing and analysing financial statements; bad statements refused whole."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskdesk.security.permissions import Role
from tests.conftest import company_payload

Headers = Callable[[Role], dict[str, str]]
LINES = {
    "total_assets": "1000",
    "total_liabilities": "500",
    "equity": "500",
    "current_assets": "600",
    "current_liabilities": "300",
    "revenue": "2000",
    "net_income": "80",
    "operating_profit": "120",
    "retained_earnings": "200",
    "inventory": "100",
    "cost_of_sales": "1500",
}


@pytest.fixture
def setup(client: TestClient, token_for: Headers) -> tuple[TestClient, dict[str, str], int]:
    headers = token_for(Role.credit_officer)
    customer = client.post("/api/v1/customers", json=company_payload(industry_code="F5191"), headers=headers).json()
    return client, headers, customer["id"]


def enter(client: TestClient, headers: dict[str, str], customer_id: int, **changes: Any) -> Any:
    body = {"period_end": "2024-12-31", "unit": "万元", "lines": LINES, **changes}
    return client.post(f"/api/v1/customers/{customer_id}/financials", json=body, headers=headers)


def test_a_statement_in_wan_yuan_is_stored_in_yuan_and_analysed(setup: tuple[TestClient, dict[str, str], int]) -> None:
    client, headers, customer_id = setup
    response = enter(client, headers, customer_id)
    assert response.status_code == 201, response.text
    assert response.json()["lines"]["total_assets"] == "10000000.00"
    enter(
        client,
        headers,
        customer_id,
        period_end="2025-12-31",
        lines={**LINES, "revenue": "2500", "total_assets": "1100", "equity": "600"},
    )
    periods = client.get(f"/api/v1/customers/{customer_id}/financials/analysis", headers=headers).json()
    assert [p["period_end"] for p in periods] == ["2024-12-31", "2025-12-31"]
    growth = next(r for r in periods[1]["ratios"] if r["name"] == "revenue_growth")
    assert growth["value"] == "0.2500"
    assert periods[1]["z_score"]["model"] == "altman-z-double-prime-1995"
    assert periods[0]["z_score"]["zone"] in ("distress", "grey", "safe")


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"lines": {**LINES, "equity": "400"}}, "lines.total_assets", "does not balance"),
        ({"lines": {**LINES, "goodwill_magic": "1"}}, "lines.goodwill_magic", "unknown line item"),
        ({"lines": {**LINES, "inventory": "-5"}}, "lines.inventory", "cannot be negative"),
        ({"lines": {k: v for k, v in LINES.items() if k != "revenue"}}, "lines.revenue", "required"),
        ({"unit": "百万"}, "unit", "Input should be"),
        ({"period_end": "2999-12-31"}, "period_end", "in the future"),
    ],
)
def test_bad_statements_are_refused_naming_the_problem(
    setup: tuple[TestClient, dict[str, str], int], changes: dict[str, Any], field: str, reason: str
) -> None:
    client, headers, customer_id = setup
    response = enter(client, headers, customer_id, **changes)
    assert response.status_code == 422
    details = {d["field"]: d["reason"] for d in response.json()["details"]}
    assert field in details and reason in details[field], details
    assert client.get(f"/api/v1/customers/{customer_id}/financials", headers=headers).json() == []


def test_a_second_currency_is_refused(setup: tuple[TestClient, dict[str, str], int]) -> None:
    client, headers, customer_id = setup
    enter(client, headers, customer_id)
    response = enter(client, headers, customer_id, period_end="2023-12-31", currency="USD")
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "currency"


def test_a_restatement_keeps_the_old_figures_in_the_ledger(setup: tuple[TestClient, dict[str, str], int]) -> None:
    client, headers, customer_id = setup
    enter(client, headers, customer_id)
    restated = enter(client, headers, customer_id, lines={**LINES, "net_income": "60"}).json()
    assert restated["version"] == 2
    latest = client.get(f"/api/v1/customers/{customer_id}/timeline", headers=headers).json()[0]
    assert latest["action"] == "financials.restated"
    assert latest["changes"]["old"]["net_income"] == "800000.00"


def test_a_chinese_csv_imports_every_period_or_none(setup: tuple[TestClient, dict[str, str], int]) -> None:
    client, headers, customer_id = setup
    good = (
        "项目,2023-12-31,2024-12-31\nunit,万元\n资产总计,900,1000\n负债合计,450,500\n所有者权益合计,450,500\n"
        "营业收入,1800,2000\n净利润,70,80\n"
    )
    response = client.post(
        f"/api/v1/customers/{customer_id}/financials/import",
        headers=headers,
        files={"file": ("bs.csv", good.encode(), "text/csv")},
    )
    assert response.status_code == 201, response.text
    assert [s["period_end"] for s in response.json()] == ["2023-12-31", "2024-12-31"]
    bad = good.replace("负债合计,450,500", "负债合计,450,100")
    other = client.post("/api/v1/customers", json=company_payload(), headers=headers).json()["id"]
    refused = client.post(
        f"/api/v1/customers/{other}/financials/import",
        headers=headers,
        files={"file": ("bs.csv", bad.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    assert client.get(f"/api/v1/customers/{other}/financials", headers=headers).json() == []


def test_the_financials_page_shows_ratios_and_a_trend_in_chinese(
    setup: tuple[TestClient, dict[str, str], int], make_user: Callable[..., str]
) -> None:
    from tests.conftest import TEST_PASSWORD
    from tests.security.test_auth import login

    client, headers, customer_id = setup
    enter(client, headers, customer_id, period_end="2023-12-31")
    enter(client, headers, customer_id, lines={**LINES, "current_assets": "700"})
    login(client, make_user(Role.approver), TEST_PASSWORD)
    client.cookies.set("rd_lang", "zh")
    page = client.get(f"/customers/{customer_id}/financials").text
    assert "流动比率" in page and "资产负债率" in page
    assert page.count("<svg") >= 1
    assert "altman-z-double-prime-1995" in page


def test_every_ratio_note_has_a_chinese_wording() -> None:
    """The notes ratios carry when they cannot be computed are shown translated on the Chinese page."""
    from decimal import Decimal

    from riskdesk.financials.ratios import ratios
    from riskdesk.web.i18n import ZH

    cases = [
        {},
        {
            "total_assets": Decimal(1),
            "equity": Decimal(-1),
            "revenue": Decimal(-1),
            "net_income": Decimal(1),
            "current_liabilities": Decimal(0),
            "current_assets": Decimal(1),
            "total_liabilities": Decimal(2),
        },
    ]
    notes = {r.note for lines in cases for r in ratios(lines, lines | {"revenue": Decimal(-5)})}
    assert len(notes - {""}) >= 4
    assert {note for note in notes if note} <= set(ZH)
