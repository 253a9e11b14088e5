"""Customers over the API: create, validate, conflict, read, update, search, paginate, timeline."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from riskdesk.bootstrap import Container
from riskdesk.security.permissions import Role
from tests.conftest import company_payload, individual_payload, new_resident_id

Headers = Callable[[Role], dict[str, str]]


@pytest.fixture
def officer(token_for: Headers) -> dict[str, str]:
    return token_for(Role.credit_officer)


def test_create_company_answers_201_with_its_id(client: TestClient, officer: dict[str, str]) -> None:
    payload = company_payload()
    response = client.post("/api/v1/customers", json=payload, headers=officer)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] > 0
    assert body["uscc"] == payload["uscc"]
    assert body["registered_capital"] == {"amount": "5000000.00", "currency": "CNY"}
    assert client.get(f"/api/v1/customers/{body['id']}", headers=officer).json()["name"] == payload["name"]


def test_invalid_code_answers_422_naming_the_rule(client: TestClient, officer: dict[str, str]) -> None:
    payload = company_payload()
    good = payload["uscc"]
    payload["uscc"] = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post("/api/v1/customers", json=payload, headers=officer)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    assert body["details"][0]["field"] == "uscc"
    assert f"check character should be {good[-1]}" in body["details"][0]["reason"]


def test_second_company_with_same_code_answers_409_naming_the_first(
    client: TestClient, officer: dict[str, str]
) -> None:
    first = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    response = client.post("/api/v1/customers", json=company_payload(uscc=first["uscc"]), headers=officer)
    assert response.status_code == 409
    assert f"customer {first['id']}" in response.json()["message"]
    assert first["name"] in response.json()["message"]


def test_same_id_number_twice_answers_409(client: TestClient, officer: dict[str, str]) -> None:
    number = new_resident_id()
    assert (
        client.post("/api/v1/customers", json=individual_payload(id_number=number), headers=officer).status_code == 201
    )
    response = client.post("/api/v1/customers", json=individual_payload(id_number=number), headers=officer)
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("payload", "field", "reason_part"),
    [
        ({"kind": "company", "name": "x", "uscc": "91", "bogus": 1}, "bogus", "unknown field"),
        ({"kind": "partnership", "name": "x"}, "kind", "company' or 'individual"),
        ({"kind": "company"}, "name", "required"),
        ({"kind": "company", "name": "无代码有限公司"}, "uscc", "unified social credit code"),
        ({"kind": "individual", "name": "x", "id_number": "110105198506151235"}, "id_number", "check character"),
        ({"kind": "individual", "name": "x", "uscc": "91", "id_number": "1"}, "uscc", "unknown field"),
        (
            {"kind": "company", "name": "x", "uscc": "91", "registered_capital": {"amount": "-1"}},
            "registered_capital.amount",
            "greater than or equal",
        ),
        ({"kind": "company", "name": "x", "industry_code": "Z99"}, "industry_code", "GB/T 4754"),
    ],
)
def test_bad_input_says_which_field_and_why(
    client: TestClient, officer: dict[str, str], payload: dict[str, object], field: str, reason_part: str
) -> None:
    response = client.post("/api/v1/customers", json=payload, headers=officer)
    assert response.status_code == 422
    details = {d["field"]: d["reason"] for d in response.json()["details"]}
    assert field in details, details
    assert reason_part in details[field]


def test_malformed_json_is_a_clear_422(client: TestClient, officer: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/customers", content=b'{"kind": "company",', headers={**officer, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["message"]


def test_oversized_body_is_refused_with_413(client: TestClient, officer: dict[str, str]) -> None:
    response = client.post("/api/v1/customers", json=company_payload(business_scope="x" * 2_000_000), headers=officer)
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_unknown_customer_is_404_with_error_body(client: TestClient, officer: dict[str, str]) -> None:
    response = client.get("/api/v1/customers/999999", headers=officer)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "customer 999999 does not exist", "details": []}


def test_patch_changes_only_given_fields_and_bumps_version(client: TestClient, officer: dict[str, str]) -> None:
    created = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    response = client.patch(
        f"/api/v1/customers/{created['id']}",
        json={"status": "suspended", "version": 1, "reason": "overdue"},
        headers=officer,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["version"], body["name"]) == ("suspended", 2, created["name"])


def test_patch_with_stale_version_is_409(client: TestClient, officer: dict[str, str]) -> None:
    created = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    client.patch(f"/api/v1/customers/{created['id']}", json={"size": "small"}, headers=officer)
    response = client.patch(f"/api/v1/customers/{created['id']}", json={"size": "large", "version": 1}, headers=officer)
    assert response.status_code == 409
    assert "reload" in response.json()["message"]


def test_patch_refuses_fields_of_the_other_kind(client: TestClient, officer: dict[str, str]) -> None:
    created = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    response = client.patch(f"/api/v1/customers/{created['id']}", json={"phone": "13912345678"}, headers=officer)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "phone"


def test_patch_to_a_taken_code_is_409_and_changes_nothing(client: TestClient, officer: dict[str, str]) -> None:
    first = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    second = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    response = client.patch(f"/api/v1/customers/{second['id']}", json={"uscc": first["uscc"]}, headers=officer)
    assert response.status_code == 409
    assert client.get(f"/api/v1/customers/{second['id']}", headers=officer).json()["uscc"] == second["uscc"]


def test_search_by_name_code_and_exact_id_number(client: TestClient, officer: dict[str, str]) -> None:
    company = client.post(
        "/api/v1/customers", json=company_payload(name="宁波海川物流有限公司"), headers=officer
    ).json()
    number = new_resident_id(born="1979-03-02")
    person = client.post(
        "/api/v1/customers", json=individual_payload(id_number=number, phone="13800001111"), headers=officer
    ).json()
    client.post("/api/v1/customers", json=company_payload(), headers=officer)

    def ids(**params: str) -> list[int]:
        return [c["id"] for c in client.get("/api/v1/customers", params=params, headers=officer).json()["items"]]

    assert ids(q="海川") == [company["id"]]
    assert ids(q=company["uscc"]) == [company["id"]]
    assert company["id"] in ids(q=company["uscc"][:10])
    assert ids(q=number) == [person["id"]]
    assert ids(q="138 0000 1111") == [person["id"]]
    assert ids(q=number[:-1]) == []  # sensitive values match exactly or not at all


def test_list_filters_and_paginates(client: TestClient, officer: dict[str, str]) -> None:
    for number in range(7):
        client.post(
            "/api/v1/customers",
            json=company_payload(status="active" if number % 2 else "prospect", industry_code="C3311"),
            headers=officer,
        )
    page = client.get(
        "/api/v1/customers", params={"status": "prospect", "per_page": 3, "page": 2}, headers=officer
    ).json()
    assert (page["total"], page["page"], page["pages"], len(page["items"])) == (4, 2, 2, 1)
    assert client.get("/api/v1/customers", params={"industry": "C33"}, headers=officer).json()["total"] == 7
    assert client.get("/api/v1/customers", params={"per_page": 0}, headers=officer).status_code == 422


def test_timeline_shows_creation_and_changes_newest_first(client: TestClient, officer: dict[str, str]) -> None:
    created = client.post("/api/v1/customers", json=individual_payload(), headers=officer).json()
    client.patch(
        f"/api/v1/customers/{created['id']}", json={"phone": "13700002222", "reason": "new number"}, headers=officer
    )
    timeline = client.get(f"/api/v1/customers/{created['id']}/timeline", headers=officer).json()
    assert [entry["action"] for entry in timeline] == ["customer.updated", "customer.created"]
    assert timeline[0]["reason"] == "new number"
    assert timeline[0]["changes"]["phone"] == {"old": "139****5678", "new": "137****2222"}
    assert timeline[1]["changes"]["name"] == "李*"


def test_groups_and_relationships(client: TestClient, officer: dict[str, str]) -> None:
    group = client.post("/api/v1/customer-groups", json={"name": "海川集团"}, headers=officer).json()
    parent = client.post("/api/v1/customers", json=company_payload(group_id=group["id"]), headers=officer).json()
    child = client.post("/api/v1/customers", json=company_payload(group_id=group["id"]), headers=officer).json()
    response = client.post(
        f"/api/v1/customers/{parent['id']}/relationships",
        json={"related_customer_id": child["id"], "kind": "subsidiary"},
        headers=officer,
    )
    assert response.status_code == 201
    links = client.get(f"/api/v1/customers/{child['id']}/relationships", headers=officer).json()
    assert [(link["customer_id"], link["kind"], link["related_customer_id"]) for link in links] == [
        (child["id"], "parent", parent["id"])
    ]
    shareholder = client.post(
        f"/api/v1/customers/{child['id']}/relationships",
        json={"related_customer_id": parent["id"], "kind": "shareholder"},
        headers=officer,
    )
    assert shareholder.status_code == 422
    assert client.get("/api/v1/customer-groups", headers=officer).json()[0]["members"] == 2


def test_healthz_needs_no_token_and_requests_carry_ids(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"
    assert client.get("/api/v1/customers").status_code == 401
    assert client.get("/api/openapi.json").json()["info"]["title"] == "riskdesk"


def test_removing_a_relationship_is_recorded_on_both_customers(client: TestClient, officer: dict[str, str]) -> None:
    a = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    b = client.post("/api/v1/customers", json=company_payload(), headers=officer).json()
    links = client.post(
        f"/api/v1/customers/{a['id']}/relationships",
        json={"related_customer_id": b["id"], "kind": "guarantor"},
        headers=officer,
    ).json()
    response = client.delete(
        f"/api/v1/customers/{a['id']}/relationships/{links[0]['id']}?reason=guarantee%20ended", headers=officer
    )
    assert response.status_code == 204
    assert client.get(f"/api/v1/customers/{a['id']}/relationships", headers=officer).json() == []
    for customer in (a, b):
        latest = client.get(f"/api/v1/customers/{customer['id']}/timeline", headers=officer).json()[0]
        assert (latest["action"], latest["reason"]) == ("relationship.removed", "guarantee ended")
    again = client.delete(f"/api/v1/customers/{a['id']}/relationships/{links[0]['id']}", headers=officer)
    assert again.status_code == 404


def test_upload_over_the_limit_is_413(container: Container, token_for: Headers) -> None:
    from riskdesk.web.app import create_app

    small = Container(settings=container.settings.model_copy(update={"max_upload_bytes": 2048}))
    headers = token_for(Role.analyst)
    with TestClient(create_app(small)) as limited:
        response = limited.post(
            "/api/v1/customers/import",
            headers=headers,
            files={"file": ("big.csv", b"kind,name\n" + b"company,x\n" * 1000, "text/csv")},
        )
    assert response.status_code == 413
    assert "larger than 2048 bytes" in response.json()["message"]
