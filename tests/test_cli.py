"""The ``riskdesk`` command end to end, against the test database of each backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from riskdesk.bootstrap import Container
from riskdesk.cli import common
from riskdesk.cli.main import app
from tests.audit.test_ledger_tampering import as_attacker


def test_users_and_tokens_lifecycle(run: CliRunner) -> None:
    created = run.invoke(
        app, ["users", "create", "wang.fang", "--role", "credit_officer", "--password-stdin"], input="a-long-password\n"
    )
    assert created.exit_code == 0, created.output
    duplicate = run.invoke(
        app, ["users", "create", "wang.fang", "--role", "analyst", "--password-stdin"], input="a-long-password\n"
    )
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    token = run.invoke(app, ["tokens", "create", "wang.fang", "--days", "7"])
    assert token.exit_code == 0
    assert token.stdout.strip().startswith("rdk_") and len(token.stdout.strip().splitlines()) == 1
    listed = run.invoke(app, ["tokens", "list"])
    token_id = listed.stdout.split()[0]
    revoked = run.invoke(app, ["tokens", "revoke", token_id])
    assert revoked.exit_code == 0
    assert "revoked" in run.invoke(app, ["tokens", "list"]).stdout


def test_bad_role_and_short_password_are_clear_errors(run: CliRunner) -> None:
    bad_role = run.invoke(app, ["users", "create", "x1", "--role", "boss", "--password-stdin"], input="long-password\n")
    assert bad_role.exit_code == 2
    short = run.invoke(app, ["users", "create", "x2", "--role", "analyst", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output


def test_audit_verify_names_the_first_tampered_entry(run: CliRunner, container: Container) -> None:
    for number in range(4):
        run.invoke(
            app,
            ["users", "create", f"user{number}", "--role", "analyst", "--password-stdin"],
            input="a-long-password\n",
        )
    assert run.invoke(app, ["audit", "verify"]).exit_code == 0
    with as_attacker(container) as connection:
        connection.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3"))
    result = run.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "entry 3" in result.output and "edited" in result.output


def test_checkpoint_prove_and_check_proof(run: CliRunner, tmp_path: Path) -> None:
    for number in range(5):
        run.invoke(
            app, ["users", "create", f"p{number}", "--role", "approver", "--password-stdin"], input="a-long-password\n"
        )
    sealed = run.invoke(app, ["audit", "checkpoint", "--block-size", "4"])
    assert sealed.exit_code == 0, sealed.output
    blocks = json.loads(sealed.stdout)
    assert [b["first_seq"] for b in blocks] == [1, 5]
    proof = run.invoke(app, ["audit", "prove", "3"])
    assert proof.exit_code == 0
    path = tmp_path / "proof.json"
    path.write_text(proof.stdout)
    assert run.invoke(app, ["audit", "check-proof", str(path), "--root", blocks[0]["merkle_root"]]).exit_code == 0
    wrong = run.invoke(app, ["audit", "check-proof", str(path), "--root", blocks[1]["merkle_root"]])
    assert wrong.exit_code == 1
    assert "NOT included" in wrong.output


def test_db_check_fails_on_an_unmigrated_database(
    run: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run.invoke(app, ["db", "check"]).exit_code == 0
    monkeypatch.setenv("RISKDESK_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    common.container.cache_clear()
    result = run.invoke(app, ["db", "check"])
    assert result.exit_code == 1
    assert "riskdesk db upgrade" in result.output
    assert run.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert run.invoke(app, ["db", "check"]).exit_code == 0


def test_help_answers_without_importing_heavy_libraries() -> None:
    probe = (
        "import sys; from typer.testing import CliRunner; from riskdesk.cli.main import app;"
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output;"
        "heavy = [m for m in ('sklearn', 'lightgbm', 'optbinning', 'pandas', 'numpy', 'sqlalchemy', 'fastapi')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""


def test_production_refuses_to_start_with_default_secrets(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKDESK_ENV", "production")
    common.container.cache_clear()
    result = run.invoke(app, ["db", "check"])
    assert result.exit_code == 1
    assert "refusing to start in production" in result.output


def test_rates_and_open_items_load_from_files_all_or_nothing(
    run: CliRunner, container: Container, tmp_path: Path
) -> None:
    from riskdesk.audit.service import Actor
    from riskdesk.credit import exposure
    from riskdesk.customers import service as customers
    from riskdesk.customers.schemas import CUSTOMER_CREATE
    from tests.conftest import company_payload

    with container.session_factory.begin() as session:
        customer_id = customers.create_customer(
            session,
            data=CUSTOMER_CREATE.validate_python(company_payload()),
            keyring=container.keyring,
            actor=Actor("t"),
        ).id
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,rate,valid_on,source\nUSD,7.1,2026-11-01,PBOC\nEUR,7.7,2026-11-01,PBOC\n")
    loaded = run.invoke(app, ["credit", "rates", str(rates)])
    assert (loaded.exit_code, loaded.stdout.strip()) == (0, "2 rates loaded")
    items = tmp_path / "items.csv"
    header = "customer_id,kind,reference,currency,open_amount,document_date,due_on\n"
    items.write_text(
        header
        + f"{customer_id},order,SO-1,USD,100,2026-11-01,\n"
        + f"{customer_id},invoice,INV-1,CNY,50,2026-10-01,2026-10-31\n"
    )
    recorded = run.invoke(app, ["credit", "exposure", str(items)])
    assert recorded.exit_code == 0, recorded.output
    assert "2 created" in recorded.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header + f"{customer_id},order,SO-2,CNY,10,2026-11-01,\n{customer_id},invoice,INV-2,CNY,5,2026-11-01,\n"
    )
    refused = run.invoke(app, ["credit", "exposure", str(bad)])
    assert refused.exit_code == 1
    assert "line 3" in refused.output and "due date" in refused.output
    with container.session_factory() as session:
        found, _ = exposure.customer_exposure(session, customer_id=customer_id, policy=container.credit_policy)
    assert found.buckets["orders"] == 710  # SO-2 of the refused file is not there
