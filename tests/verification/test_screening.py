"""Watchlists with history, customers screened on every change, hits reviewed once."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskdesk.audit.models import AuditEntry
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.errors import ValidationFailed
from riskdesk.security.permissions import Role
from riskdesk.verification import screening, watchlists
from riskdesk.verification.models import WatchlistEntryVersion
from tests.conftest import company_payload, individual_payload

Headers = Callable[[Role], dict[str, str]]
SANCTIONS = (
    "id,kind,name,aliases,country,reason\n"
    "s1,person,Xi Jinping,,CN,test listing\n"
    "s2,company,Hua Xun Trading Co Ltd,华讯贸易,CN,\n"
    "s3,person,Olga Petrova,,RU,\n"
)
FTM = "\n".join(
    json.dumps(e, ensure_ascii=False)
    for e in [
        {
            "id": "os-1",
            "schema": "Person",
            "properties": {
                "name": ["Li Keqiang"],
                "alias": ["李克强"],
                "birthDate": ["1955-07-01"],
                "nationality": ["cn"],
            },
        },
        {
            "id": "os-2",
            "schema": "Company",
            "properties": {"name": ["Acme Trading Ltd"], "uscCode": ["91110105MA00000001"]},
        },
        {"id": "os-3", "schema": "Sanction", "properties": {"entity": ["os-1"]}},
    ]
)


def import_list(
    container: Container, raw: str, *, name: str = "sanctions", file_format: str = "csv", skip_invalid: bool = False
) -> screening.ListImport:
    with container.session_factory.begin() as session:
        return screening.import_watchlist(
            session,
            name=name,
            raw=raw.encode(),
            file_format=file_format,
            actor=Actor("test"),
            kind="sanctions",
            skip_invalid=skip_invalid,
        )


def test_followthemoney_entities_become_entries() -> None:
    entries, errors, rows = watchlists.parse(FTM.encode(), file_format="ftm")
    assert (rows, errors) == (3, [])
    person, company = entries
    assert (person.kind, person.aliases, person.birth_date, person.country) == (
        "person",
        ("李克强",),
        "1955-07-01",
        "CN",
    )
    assert company.identifiers == {"uscc": "91110105MA00000001"}


def test_malformed_rows_refuse_the_file_unless_asked_to_skip(container: Container) -> None:
    bad = SANCTIONS + "s4,ship,Ever Given,,,\ns5,person,,,,\n"
    with pytest.raises(ValidationFailed) as caught:
        import_list(container, bad)
    assert [(d.line, d.field) for d in caught.value.details] == [(5, "kind"), (6, "name")]
    result = import_list(container, bad, skip_invalid=True)
    assert (result.added, len(result.skipped)) == (3, 2)


def test_reimport_updates_the_list_and_keeps_history(container: Container) -> None:
    import_list(container, SANCTIONS)
    changed = SANCTIONS.replace("Olga Petrova,,RU", "Olga Petrova,Olga P.,RU").replace(
        "s2,company,Hua Xun Trading Co Ltd,华讯贸易,CN,\n", ""
    )
    result = import_list(container, changed + "s9,person,New Person,,,\n")
    assert (result.version, result.added, result.changed, result.removed, result.unchanged) == (2, 1, 1, 1, 1)
    with container.session_factory() as session:
        changes = sorted(v.change for v in session.scalars(select(WatchlistEntryVersion)))
        assert changes == ["added", "added", "added", "added", "changed", "removed"]
        assert [w["entries"] for w in screening.list_watchlists(session)] == [3]


def test_a_new_customer_is_screened_with_its_legal_representative(
    client: TestClient, container: Container, token_for: Headers
) -> None:
    import_list(container, SANCTIONS)
    headers = token_for(Role.credit_officer)
    created = client.post(
        "/api/v1/customers",
        json=company_payload(name="深圳市华讯贸易有限公司", legal_representative="习近平"),
        headers=headers,
    )
    assert created.status_code == 201
    hits = client.get("/api/v1/screening/hits", params={"customer_id": created.json()["id"]}, headers=headers).json()
    assert sorted((h["subject_role"], h["entry_name"]) for h in hits["items"]) == [
        ("customer", "Hua Xun Trading Co Ltd"),
        ("legal_representative", "Xi Jinping"),
    ]
    assert all(h["explanation"]["name"]["score"] >= 0.85 for h in hits["items"])


def test_an_individual_is_screened_when_a_list_arrives(
    client: TestClient, container: Container, token_for: Headers
) -> None:
    headers = token_for(Role.credit_officer)
    person = client.post("/api/v1/customers", json=individual_payload(name="奥尔加"), headers=headers).json()
    hits_before = client.get("/api/v1/screening/hits", headers=headers).json()["total"]
    admin = token_for(Role.compliance_officer)
    response = client.post(
        "/api/v1/watchlists/pep/import",
        headers=admin,
        data={"format": "csv", "kind": "pep"},
        files={"file": ("pep.csv", "kind,name\nperson,奥尔加\n".encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["new_hits"] == 1
    hits = client.get("/api/v1/screening/hits", params={"customer_id": person["id"]}, headers=headers).json()
    assert hits["total"] == hits_before + 1


def test_a_dismissed_hit_stays_dismissed_until_the_entry_changes(
    client: TestClient, container: Container, token_for: Headers
) -> None:
    import_list(container, SANCTIONS)
    headers = token_for(Role.analyst)
    customer = client.post(
        "/api/v1/customers", json=company_payload(legal_representative="Olga Petrova"), headers=headers
    ).json()
    [hit] = client.get("/api/v1/screening/hits", params={"customer_id": customer["id"]}, headers=headers).json()[
        "items"
    ]
    no_reason = client.post(
        f"/api/v1/screening/hits/{hit['id']}/decision", json={"decision": "dismiss", "reason": ""}, headers=headers
    )
    assert no_reason.status_code == 422
    decided = client.post(
        f"/api/v1/screening/hits/{hit['id']}/decision",
        json={"decision": "dismiss", "reason": "different person, born 1990"},
        headers=headers,
    )
    assert decided.json()["status"] == "dismissed"
    again = client.post(
        f"/api/v1/screening/hits/{hit['id']}/decision",
        json={"decision": "confirm", "reason": "changed my mind"},
        headers=headers,
    )
    assert again.status_code == 409
    rescreened = client.post(f"/api/v1/customers/{customer['id']}/screening", headers=headers).json()
    assert [h["status"] for h in rescreened] == ["dismissed"]
    import_list(container, SANCTIONS.replace("Olga Petrova,,RU,", "Olga Petrova,,RU,new evidence"))
    statuses = sorted(
        h["status"] for h in client.post(f"/api/v1/customers/{customer['id']}/screening", headers=headers).json()
    )
    assert statuses == ["dismissed", "open"]
    with container.session_factory() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("screening.%"))))
    assert actions == {"screening.hit", "screening.hit_dismissed"}


def test_check_a_name_over_the_api_stores_nothing(client: TestClient, container: Container, token_for: Headers) -> None:
    import_list(container, FTM, name="opensanctions", file_format="ftm")
    headers = token_for(Role.approver)
    answer = client.post("/api/v1/screening/check", json={"name": "李克强"}, headers=headers).json()
    assert [(a["name"], a["list"], a["match"]) for a in answer] == [("Li Keqiang", "opensanctions", True)]
    assert client.get("/api/v1/screening/hits", headers=headers).json()["total"] == 0


def test_the_screening_page_lists_hits_and_takes_decisions_in_chinese(
    client: TestClient, container: Container, make_user: Callable[..., str], token_for: Headers
) -> None:
    import re

    from tests.conftest import TEST_PASSWORD
    from tests.security.test_auth import login

    import_list(container, SANCTIONS)
    client.post(
        "/api/v1/customers", json=company_payload(legal_representative="习近平"), headers=token_for(Role.credit_officer)
    )
    login(client, make_user(Role.compliance_officer), TEST_PASSWORD)
    client.cookies.set("rd_lang", "zh")
    page = client.get("/screening")
    assert "名单筛查" in page.text
    assert "Xi Jinping" in page.text
    hit_id = re.findall(r'action="/screening/hits/(\d+)/decision"', page.text)[0]
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]
    done = client.post(
        f"/screening/hits/{hit_id}/decision",
        data={"csrf_token": csrf, "decision": "confirm", "reason": "同一人"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "同一人" in client.get("/screening?status=confirmed").text


def test_the_namesake_with_the_same_id_number_is_found_among_hundreds() -> None:
    from riskdesk.verification.index import ScreeningIndex
    from riskdesk.verification.matching import Subject

    index = ScreeningIndex()
    index.extend((n, Subject("王伟", "person", {"id_number": f"11010119900307{n:04d}"})) for n in range(200))
    index.add(999, Subject("王伟", "person", {"id_number": "110101199003079999"}))
    index.add(1000, Subject("北京新元贸易有限公司", "company", {"uscc": "91110105MA00000001"}))
    hits = index.search(Subject("王伟", "person", {"id_number": "110101199003079999"}), limit=3)
    assert hits[0].entry_id == 999
    renamed = index.search(Subject("北京恒达科技有限公司", "company", {"uscc": "91110105MA00000001"}), limit=3)
    assert [hit.entry_id for hit in renamed] == [1000]


def test_csv_entries_without_ids_keep_their_identity_when_rows_move(container: Container) -> None:
    first = import_list(container, "kind,name\nperson,Olga Petrova\nperson,Ivan Petrov\n", name="no-ids")
    moved = import_list(
        container, "kind,name\nperson,Anna Berg\nperson,Olga Petrova\nperson,Ivan Petrov\n", name="no-ids"
    )
    assert (first.added, moved.added, moved.changed, moved.unchanged) == (2, 1, 0, 2)


def test_a_reimport_without_a_kind_keeps_the_lists_kind_and_counts_restorations(container: Container) -> None:
    import_list(container, SANCTIONS)
    import_list(container, SANCTIONS.replace("s3,person,Olga Petrova,,RU,\n", ""))
    with container.session_factory.begin() as session:
        again = screening.import_watchlist(
            session, name="sanctions", raw=SANCTIONS.encode(), file_format="csv", actor=Actor("test")
        )
    assert (again.restored, again.changed) == (1, 0)
    with container.session_factory() as session:
        assert [w["kind"] for w in screening.list_watchlists(session)] == ["sanctions"]


def test_a_followthemoney_property_that_is_not_a_list_is_a_row_error() -> None:
    raw = json.dumps({"id": "x", "schema": "Person", "properties": {"name": "ACME"}}).encode()
    entries, errors, _ = watchlists.parse(raw, file_format="ftm")
    assert entries == []
    assert [(e.line, e.field, e.reason) for e in errors] == [
        (1, "name", "FollowTheMoney properties are lists of values")
    ]


def test_a_list_file_that_is_not_text_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="not UTF-8"):
        watchlists.parse(b"\xff\xfe\x00\xd8 broken", file_format="ftm")


def test_a_renamed_guarantor_gets_the_customer_it_guarantees_screened(
    client: TestClient, container: Container, token_for: Headers
) -> None:
    import_list(container, SANCTIONS)
    headers = token_for(Role.credit_officer)
    borrower = client.post("/api/v1/customers", json=company_payload(), headers=headers).json()
    guarantor = client.post("/api/v1/customers", json=company_payload(), headers=headers).json()
    for a, b in ((borrower, guarantor), (guarantor, borrower)):  # a guarantee circle must not loop forever
        client.post(
            f"/api/v1/customers/{a['id']}/relationships",
            json={"related_customer_id": b["id"], "kind": "guarantor"},
            headers=headers,
        )
    client.patch(f"/api/v1/customers/{guarantor['id']}", json={"name": "Hua Xun Trading Co Ltd"}, headers=headers)
    hits = client.get("/api/v1/screening/hits", params={"customer_id": borrower["id"]}, headers=headers).json()
    assert [(h["subject_role"], h["entry_name"]) for h in hits["items"]] == [("guarantor", "Hua Xun Trading Co Ltd")]


def test_a_rolled_back_import_leaves_no_trace_in_the_index(container: Container) -> None:
    from riskdesk.verification.matching import Subject

    import_list(container, SANCTIONS)
    cache = container.screening_index
    with container.session_factory() as session:
        assert len(cache.get(session)) == 3
    with container.session_factory() as session:
        screening.import_watchlist(
            session,
            name="sanctions",
            raw=(SANCTIONS + "s8,person,Ghost Person,,,\n").encode(),
            file_format="csv",
            actor=Actor("test"),
        )
        assert screening.screen_name(session, subject=Subject("Ghost Person"), cache=cache)
        session.rollback()
    with container.session_factory() as session:
        assert screening.screen_name(session, subject=Subject("Ghost Person"), cache=cache) == []
        assert len(cache.get(session)) == 3
