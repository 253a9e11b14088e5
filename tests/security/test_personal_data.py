"""Sensitive personal values never reach the database in plaintext, are masked for roles that do not need
them, and survive key rotation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select, text
from typer.testing import CliRunner

from riskdesk.bootstrap import Container
from riskdesk.cli import common
from riskdesk.cli.main import app as cli
from riskdesk.customers.models import Customer
from riskdesk.db.base import Base, load_all_models
from riskdesk.security.crypto import generate_key, key_id_of
from riskdesk.security.permissions import Role
from tests.conftest import individual_payload, new_resident_id

ID_NUMBER = new_resident_id(born="1988-08-08", male=False, division="310115")
PHONE = "13955556666"
ADDRESS = "上海市浦东新区世纪大道100号"
ACCOUNT = "6222029988776655443"
CONTACT_PHONE = "13644443333"


def every_text_in_the_database(container: Container) -> str:
    """Every value of every column of every table, read raw."""
    load_all_models()
    dump = []
    with container.engine.connect() as connection:
        tables = MetaData()
        tables.reflect(connection)
        for table in tables.sorted_tables:
            for row in connection.execute(table.select()):
                dump.extend(str(value) for value in row)
    return "\n".join(dump)


@pytest.fixture
def stored_individual(client: TestClient, token_for: Callable[[Role], dict[str, str]]) -> dict[str, object]:
    headers = token_for(Role.credit_officer)
    payload = individual_payload(
        id_number=ID_NUMBER,
        phone=PHONE,
        home_address=ADDRESS,
        bank_account=ACCOUNT,
        contacts=[{"name": "联系人", "phone": CONTACT_PHONE}],
    )
    response = client.post("/api/v1/customers", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    client.patch(f"/api/v1/customers/{response.json()['id']}", json={"phone": "13811112222"}, headers=headers)
    return response.json()


def test_raw_database_holds_no_sensitive_plaintext(container: Container, stored_individual: dict[str, object]) -> None:
    dump = every_text_in_the_database(container)
    for secret in (ID_NUMBER, PHONE, "13811112222", ADDRESS, ACCOUNT, CONTACT_PHONE, ID_NUMBER[-8:], "世纪大道"):
        assert secret not in dump, f"{secret} found in plaintext"
    assert ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:] in dump  # the ledger keeps the masked form


def test_roles_without_personal_data_permission_see_masks(
    client: TestClient, token_for: Callable[[Role], dict[str, str]], stored_individual: dict[str, object]
) -> None:
    customer_id = stored_individual["id"]
    analyst = client.get(f"/api/v1/customers/{customer_id}", headers=token_for(Role.analyst)).json()
    assert analyst["masked"] is True
    assert analyst["id_number"] == ID_NUMBER[:3] + "***********" + ID_NUMBER[-4:]
    assert analyst["phone"] == "138****2222"
    assert analyst["bank_account"].endswith("5443") and ACCOUNT not in analyst["bank_account"]
    assert analyst["contacts"][0]["phone"] == "136****3333"
    compliance = client.get(f"/api/v1/customers/{customer_id}", headers=token_for(Role.compliance_officer)).json()
    assert (compliance["masked"], compliance["id_number"], compliance["home_address"]) == (False, ID_NUMBER, ADDRESS)


def test_key_rotation_reseals_every_value_under_the_new_key(
    container: Container, stored_individual: dict[str, object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old_ring = container.settings.encryption_keys
    new_key = generate_key()
    ring = ",".join(f"{key_id}:{key}" for key_id, key in old_ring.items()) + f",k2026:{new_key}"
    monkeypatch.setenv("RISKDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("RISKDESK_ENCRYPTION_KEYS", ring)
    monkeypatch.setenv("RISKDESK_ENCRYPTION_ACTIVE_KEY", "k2026")
    common.container.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "re-encrypted 5 values under key 'k2026'" in result.output
        with common.container().session_factory() as session:
            customer = session.scalar(select(Customer).where(Customer.id == stored_individual["id"]))
            assert customer is not None
            assert {
                key_id_of(v) for v in (customer.id_number_enc, customer.phone_enc, customer.bank_account_enc) if v
            } == {"k2026"}
        # Only the new key left in the ring: values still open, search by blind index still finds them.
        monkeypatch.setenv("RISKDESK_ENCRYPTION_KEYS", f"k2026:{new_key}")
        common.container.cache_clear()
        from riskdesk.customers import service

        with common.container().session_factory() as session:
            page = service.list_customers(
                session, query=service.CustomerQuery(q=ID_NUMBER), keyring=common.container().keyring, reveal=True
            )
            assert [item.id_number for item in page.items] == [ID_NUMBER]
    finally:
        common.container().dispose()
        common.container.cache_clear()


def test_classification_covers_every_customer_column() -> None:
    from riskdesk.customers.classification import FIELD_CLASSES

    columns = {c.name for c in Base.metadata.tables["customers"].columns}
    technical = {"id", "version", "created_at", "updated_at", "owner_id"}
    for column in columns - technical:
        field = column.removesuffix("_enc").removesuffix("_bidx").removeprefix("registered_capital_")
        field = {"amount": "registered_capital", "currency": "registered_capital"}.get(field, field)
        assert field in FIELD_CLASSES, f"customers.{column} has no personal-information class"


def test_ledger_masks_personal_values(container: Container, stored_individual: dict[str, object]) -> None:
    with container.engine.connect() as connection:
        changes = [
            json.loads(row[0])
            for row in connection.execute(text("SELECT changes FROM audit_entries WHERE entity_type = 'customer'"))
        ]
    created = next(c for c in changes if "id_number" in c and isinstance(c["id_number"], str))
    assert created["id_number"] != ID_NUMBER and created["id_number"].endswith(ID_NUMBER[-4:])
    assert created["date_of_birth"] == "1988-**-**"
