"""Server-rendered pages: both languages, inline form errors, edit with masked values, import, ledger."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from riskdesk.security.permissions import Role
from riskdesk.web import i18n, templating
from tests.conftest import company_payload, csrf_of, individual_payload, new_uscc


@pytest.fixture
def missing_translations(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    missing: set[str] = set()

    def recording(text: str, lang: str) -> str:
        if lang == "zh" and text not in i18n.ZH:
            missing.add(text)
        return i18n.translate(text, lang)

    monkeypatch.setattr(templating, "translate", recording)
    return missing


def test_every_page_renders_in_chinese_with_every_text_translated(
    desk: Callable[[Role], TestClient], token_for: Callable[[Role], dict[str, str]], missing_translations: set[str]
) -> None:
    api = token_for(Role.credit_officer)
    client = desk(Role.admin)
    company = client.post("/api/v1/customers", json=company_payload(former_names=["旧名"]), headers=api).json()
    person = client.post("/api/v1/customers", json=individual_payload(), headers=api).json()
    client.post(
        f"/api/v1/customers/{person['id']}/relationships",
        json={"related_customer_id": company["id"], "kind": "related_party"},
        headers=api,
    )
    client.cookies.set("rd_lang", "zh")
    for body in (
        {
            "period_end": "2024-12-31",
            "lines": {"total_assets": 100, "total_liabilities": 40, "equity": 60, "revenue": 90, "net_income": 5},
        },
        {
            "period_end": "2025-06-30",
            "period_type": "quarterly",
            "lines": {"total_assets": 100, "total_liabilities": 40, "equity": 60, "revenue": 45, "net_income": 2},
        },
    ):
        assert client.post(f"/api/v1/customers/{company['id']}/financials", headers=api, json=body).status_code == 201
    due = {"document_date": "2026-01-01", "due_on": "2026-02-01", "currency": "CNY", "customer_id": company["id"]}
    exposure = [due | {"kind": "invoice", "reference": "INV-1", "open_amount": "10"}]
    assert client.put("/api/v1/exposure-items", headers=api, json={"items": exposure}).status_code == 200
    held = {"customer_id": company["id"], "amount": "5", "currency": "CNY", "reference": "SO-1"}
    assert client.post("/api/v1/credit-checks", headers=api, json=held).json()["status"] == "held"
    for path in (
        f"/customers/{company['id']}/financials",
        "/tasks",
        "/customers",
        f"/customers/{company['id']}",
        f"/customers/{person['id']}",
        "/audit",
        "/admin/users",
        "/customers/groups",
        "/nowhere",
    ):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert 'lang="zh-CN"' in response.text
        assert re.search(r"<title>[^<>]*</title>", response.text), f"{path}: markup in the <title>"
    for role in (Role.credit_officer,):
        client = desk(role)
        client.cookies.set("rd_lang", "zh")
        for path in (
            "/screening",
            "/screening?status=dismissed",
            f"/customers/{company['id']}/assessment",
            "/approvals",
            "/models",
            "/customers/new?kind=company",
            "/customers/new?kind=individual",
            f"/customers/{person['id']}/edit",
            "/customers/import",
        ):
            assert client.get(path).status_code == 200, path
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', client.get("/customers").text)[0]
    client.post(f"/customers/{company['id']}/assessment", data={"csrf_token": csrf, "expected_monthly_sales": "1000"})
    assert client.get(f"/customers/{company['id']}/assessment").status_code == 200
    for section in ("documents", "verification", "screening"):  # the parts HTMX loads into a customer's page
        assert client.get(f"/customers/{company['id']}/{section}").status_code == 200
    assert missing_translations == set()


def test_language_follows_accept_language_then_the_switch(desk: Callable[[Role], TestClient]) -> None:
    client = desk(Role.analyst)
    client.cookies.delete("rd_lang")
    assert "客户" in client.get("/customers", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert ">Customers<" in client.get("/customers", headers={"Accept-Language": "en-US"}).text
    client.get("/lang/en?next=/customers")
    assert ">Customers<" in client.get("/customers", headers={"Accept-Language": "zh-CN"}).text


def test_wrong_code_shows_an_inline_error_and_keeps_the_input(desk: Callable[[Role], TestClient]) -> None:
    client = desk(Role.analyst)
    client.cookies.set("rd_lang", "en")
    form = client.get("/customers/new?kind=company")
    good = new_uscc()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post(
        "/customers/new?kind=company",
        data={
            "csrf_token": csrf_of(form.text),
            "name": "厦门蓝海贸易有限公司",
            "uscc": bad,
            "status": "prospect",
            "country": "CN",
            "registered_capital_amount": "1,000,000",
            "registered_capital_currency": "CNY",
        },
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert re.search(r'data-error-for="uscc">[^<]*check character should be', response.text)
    assert 'value="厦门蓝海贸易有限公司"' in response.text
    fixed = client.post(
        "/customers/new?kind=company",
        data={
            "csrf_token": csrf_of(form.text),
            "name": "厦门蓝海贸易有限公司",
            "uscc": good,
            "status": "prospect",
            "country": "CN",
            "registered_capital_amount": "1,000,000",
            "registered_capital_currency": "CNY",
        },
        follow_redirects=False,
    )
    assert fixed.status_code == 303
    detail = client.get(fixed.headers["location"])
    assert "1,000,000.00 CNY" in detail.text
    assert "customer.created" in detail.text or "Saved." in detail.text


def test_edit_by_a_masked_reader_keeps_the_sensitive_values(
    desk: Callable[[Role], TestClient], token_for: Callable[[Role], dict[str, str]]
) -> None:
    api = token_for(Role.credit_officer)
    client = desk(Role.analyst)
    person = client.post("/api/v1/customers", json=individual_payload(), headers=api).json()
    form = client.get(f"/customers/{person['id']}/edit")
    assert person["id_number"] not in form.text
    response = client.post(
        f"/customers/{person['id']}/edit",
        data={
            "csrf_token": csrf_of(form.text),
            "version": "1",
            "name": "李娜娜",
            "id_type": "resident_id",
            "id_number": "",
            "phone": "",
            "status": "active",
            "country": "CN",
            "reason": "name corrected",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    after = client.get(f"/api/v1/customers/{person['id']}", headers=api).json()
    assert (after["name"], after["id_number"], after["phone"]) == ("李娜娜", person["id_number"], person["phone"])


def test_import_page_lists_rejected_rows(desk: Callable[[Role], TestClient]) -> None:
    client = desk(Role.analyst)
    page = client.get("/customers/import")
    response = client.post(
        "/customers/import",
        data={"csrf_token": csrf_of(page.text)},
        files={"file": ("bad.csv", b"kind,name,uscc\ncompany,x,123\n", "text/csv")},
    )
    assert response.status_code == 422
    assert 'data-testid="import-errors"' in response.text
    assert "<td>2</td>" in response.text


def test_search_filters_and_pagination_on_the_list(
    desk: Callable[[Role], TestClient], token_for: Callable[[Role], dict[str, str]]
) -> None:
    api = token_for(Role.credit_officer)
    client = desk(Role.approver)
    client.cookies.set("rd_lang", "en")
    for number in range(3):
        client.post("/api/v1/customers", json=company_payload(name=f"青岛明阳机械{number}有限公司"), headers=api)
    assert client.get("/customers?q=明阳").text.count("青岛明阳机械") == 3
    assert "No customers match." in client.get("/customers?q=明阳&status=closed").text
    partial = client.get("/customers?q=明阳", headers={"HX-Request": "true", "HX-Target": "customer-rows"})
    assert partial.text.lstrip().startswith('<div id="customer-rows">')


def test_ledger_page_verifies_the_chain(desk: Callable[[Role], TestClient]) -> None:
    client = desk(Role.compliance_officer)
    client.cookies.set("rd_lang", "en")
    page = client.get("/audit")
    assert "login.succeeded" in page.text
    result = client.post("/audit/verify", headers={"X-CSRF-Token": csrf_of(page.text)})
    assert result.status_code == 200
    assert "The chain is intact." in result.text


def test_admin_issues_a_token_shown_once_and_revokes_it(desk: Callable[[Role], TestClient]) -> None:
    client = desk(Role.admin)
    client.cookies.set("rd_lang", "en")
    page = client.get("/admin/users")
    me = re.search(r'data-testid="username">([^<]+)<', page.text)
    assert me is not None
    created = client.post(
        "/admin/tokens",
        data={"csrf_token": csrf_of(page.text), "username": me.group(1), "name": "ERP sync", "days": "7"},
    )
    token = re.search(r'data-testid="new-token">(rdk_[^<]+)<', created.text)
    assert token is not None
    assert created.headers["cache-control"] == "no-store"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"}).status_code == 200
    assert token.group(1) not in client.get("/admin/users").text
    token_id = re.findall(r'action="/admin/tokens/(\d+)/revoke"', created.text)[-1]
    client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(page.text)})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"}).status_code == 401
