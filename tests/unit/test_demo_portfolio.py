from __future__ import annotations

from riskdesk import identifiers
from riskdesk.customers.schemas import CUSTOMER_CREATE
from riskdesk.demo.portfolio import build


def test_same_seed_builds_the_same_portfolio() -> None:
    assert build(seed=5, companies=40, individuals=10, owners=["a"]) == build(
        seed=5, companies=40, individuals=10, owners=["a"]
    )


def test_every_generated_customer_passes_the_api_validation() -> None:
    book = build(seed=11, companies=300, individuals=100, owners=["a", "b"])
    for payload in book.companies + book.individuals:
        CUSTOMER_CREATE.validate_python(payload)
    codes = [c["uscc"] for c in book.companies]
    assert len(set(codes)) == len(codes)
    assert all(identifiers.check_uscc(code).valid for code in codes)
    assert book.groups, "a portfolio of 300 companies has groups"
    assert {link.kind for link in book.links} >= {"parent", "guarantor"}
