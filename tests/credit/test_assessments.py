"""Assessing a company through the API and the desk: a decision record that replays to the same result."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from riskdesk.bootstrap import Container
from riskdesk.credit import service
from riskdesk.credit.models import CreditAssessment
from riskdesk.security.permissions import Role
from tests.conftest import company_payload, individual_payload

Headers = Callable[[Role], dict[str, str]]
LINES = {
    "total_assets": 5000,
    "total_liabilities": 2000,
    "equity": 3000,
    "current_assets": 3000,
    "current_liabilities": 1500,
    "revenue": 9000,
    "net_income": 600,
    "operating_profit": 900,
    "retained_earnings": 1200,
}


def company_with_statements(client: TestClient, headers: dict[str, str]) -> int:
    customer = client.post(
        "/api/v1/customers", json=company_payload(established_on="2010-05-01", industry_code="I6510"), headers=headers
    ).json()
    response = client.post(
        f"/api/v1/customers/{customer['id']}/financials",
        headers=headers,
        json={"period_end": "2024-12-31", "unit": "万元", "lines": LINES},
    )
    assert response.status_code == 201, response.text
    return int(customer["id"])


def test_an_assessment_is_a_decision_record_that_replays(
    client: TestClient, container: Container, token_for: Headers
) -> None:
    headers = token_for(Role.credit_officer)
    customer_id = company_with_statements(client, headers)
    response = client.post(
        f"/api/v1/customers/{customer_id}/assessments", headers=headers, json={"expected_monthly_sales": "800000"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["policy_version"] == "expert-2026.12"
    assert body["grade"] in {g.grade for g in container.credit_policy.grades}
    assert body["recommended_limit"] is not None
    assert any(step.startswith("need = 800000") for step in body["calculation"])
    with container.session_factory() as session:
        record = session.get(CreditAssessment, body["id"])
        assert record is not None
        replayed = service.replay(record, container.credit_policy)
    assert (replayed.points, str(replayed.probability_of_default), replayed.grade.grade) == (
        body["points"],
        body["probability_of_default"],
        body["grade"],
    )
    assert str(replayed.recommended_limit) == body["recommended_limit"]
    timeline = client.get(f"/api/v1/customers/{customer_id}/timeline", headers=headers).json()
    assert timeline[0]["action"] == "credit.assessed"


def test_only_credit_officers_assess_and_individuals_are_refused(client: TestClient, token_for: Headers) -> None:
    officer, analyst = token_for(Role.credit_officer), token_for(Role.analyst)
    customer_id = company_with_statements(client, officer)
    assert client.post(f"/api/v1/customers/{customer_id}/assessments", headers=analyst, json={}).status_code == 403
    person = client.post("/api/v1/customers", json=individual_payload(), headers=officer).json()
    refused = client.post(f"/api/v1/customers/{person['id']}/assessments", headers=officer, json={})
    assert refused.status_code == 422
    assert "companies" in refused.json()["message"]
    negative = client.post(
        f"/api/v1/customers/{customer_id}/assessments", headers=officer, json={"expected_monthly_sales": "-5"}
    )
    assert negative.status_code == 422


def test_the_assessment_page_shows_grade_reasons_and_calculation_in_chinese(
    client: TestClient, token_for: Headers, make_user: Callable[..., str]
) -> None:
    import re

    from tests.conftest import TEST_PASSWORD
    from tests.security.test_auth import login

    customer_id = company_with_statements(client, token_for(Role.credit_officer))
    login(client, make_user(Role.credit_officer), TEST_PASSWORD)
    client.cookies.set("rd_lang", "zh")
    page = client.get(f"/customers/{customer_id}/assessment").text
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
    done = client.post(
        f"/customers/{customer_id}/assessment",
        data={"csrf_token": csrf, "expected_monthly_sales": "500,000"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get(f"/customers/{customer_id}/assessment").text
    assert "建议额度" in shown and 'data-testid="calculation"' in shown and "need = 500000" in shown


def test_the_recommended_limit_is_capped_by_the_group_limit_and_the_portfolio_share(
    client: TestClient, container: Container, token_for: Headers
) -> None:
    from datetime import date, timedelta

    from riskdesk.audit.service import Actor
    from riskdesk.credit import exposure

    headers = token_for(Role.credit_officer)
    customer_id = company_with_statements(client, headers)
    first = client.post(
        f"/api/v1/customers/{customer_id}/assessments", headers=headers, json={"expected_monthly_sales": "8000000"}
    ).json()
    uncapped = float(first["recommended_limit"])
    assert first["inputs"]["caps"] == {"group_headroom": None, "portfolio_cap": None}
    group = client.post("/api/v1/customer-groups", headers=headers, json={"name": "封顶集团"}).json()["id"]
    client.patch(
        f"/api/v1/customers/{customer_id}",
        headers=headers,
        json={
            "group_id": group,
            "version": client.get(f"/api/v1/customers/{customer_id}", headers=headers).json()["version"],
        },
    )
    with container.session_factory.begin() as session:
        exposure.set_group_limit(
            session,
            group_id=group,
            data=exposure.GroupLimitIn(
                amount=uncapped / 2, currency="CNY", expires_on=date.today() + timedelta(days=90), reason="group review"
            ),
            actor=Actor("approver"),
        )
        exposure.record_items(
            session,
            items=[
                exposure.ItemIn(
                    customer_id=customer_id,
                    kind="order",
                    reference="SO-cap",
                    currency="CNY",
                    open_amount=uncapped,
                    document_date=date.today(),
                )
            ],
            base="CNY",
            actor=Actor("erp"),
        )
    capped = client.post(
        f"/api/v1/customers/{customer_id}/assessments", headers=headers, json={"expected_monthly_sales": "8000000"}
    ).json()
    # The portfolio (this one order) × 10 % is below half the uncapped limit: the tighter cap wins, both are logged.
    assert float(capped["recommended_limit"]) == round(uncapped * 0.10, 2)
    assert any(step.startswith("recommended limit capped by the group limit") for step in capped["calculation"])
    assert any(step.startswith("recommended limit capped by the portfolio share") for step in capped["calculation"])
    with container.session_factory() as session:
        record = session.get(CreditAssessment, capped["id"])
        assert record is not None
        assert service.replay(record, container.credit_policy).recommended_limit == record.recommended_limit
