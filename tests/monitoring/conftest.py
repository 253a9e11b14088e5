"""Fixtures of the monitoring tests: a credit officer's token and a company to send events about."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from riskdesk.security.permissions import Role
from tests.conftest import company_payload

Headers = Callable[[Role], dict[str, str]]


@pytest.fixture
def officer(token_for: Headers) -> dict[str, str]:
    return token_for(Role.credit_officer)


@pytest.fixture
def customer(client: TestClient, officer: dict[str, str]) -> int:
    made = client.post("/api/v1/customers", json=company_payload(), headers=officer)
    assert made.status_code == 201, made.text
    customer_id: int = made.json()["id"]
    return customer_id
