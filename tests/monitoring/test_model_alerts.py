"""What the PD models tell monitoring: a model needing a review becomes one alert in the queue (no customer), a
rescoring's downgrade goes through the intake to the grade-drop rule once, and a change of champion or overlay makes
the portfolio due for the rescoring job."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from riskdesk import events
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.cli.main import app
from riskdesk.credit import portfolio
from riskdesk.monitoring import model_alerts
from riskdesk.scoring.models import PdPrediction
from riskdesk.security.permissions import Role
from riskdesk.web import i18n, templating
from tests.conftest import TEST_PASSWORD
from tests.credit.test_assessments import company_with_statements
from tests.credit.test_models import promote, register, trained
from tests.security.test_auth import login

Headers = Callable[[Role], dict[str, str]]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained(tmp_path_factory.mktemp("trained"), "pd-m")


def champion_scoring(
    client: TestClient, container: Container, token_for: Headers, model_dir: Path, tmp_path: Path, companies: int = 4
) -> tuple[dict[str, str], int, list[int]]:
    officer, approver = token_for(Role.credit_officer), token_for(Role.approver)
    ids = [company_with_statements(client, officer) for _ in range(companies)]
    version_id = register(container, model_dir, tmp_path / "registry")
    assert promote(client, version_id, officer, approver).json()["role"] == "champion"
    assert client.post("/api/v1/portfolio/rescoring", headers=officer).status_code == 200
    return officer, version_id, ids


def model_alerts_of(client: TestClient, headers: dict[str, str], status: str = "open") -> list[dict[str, Any]]:
    found = client.get(f"/api/v1/alerts?subject=model&status={status}", headers=headers).json()
    items: list[dict[str, Any]] = found["items"]
    return items


def test_a_breached_health_check_raises_one_model_alert_per_kind_until_it_is_closed(
    client: TestClient,
    container: Container,
    token_for: Headers,
    make_user: Callable[..., str],
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    officer, version_id, companies = champion_scoring(client, container, token_for, model_dir, tmp_path)
    checked = client.post("/api/v1/portfolio/model-health", headers=officer).json()
    assert checked["review_needed"] is True and float(checked["psi"]) > 0.25
    raised = model_alerts_of(client, officer)
    psi = [a for a in raised if a["rule_id"] == "model_psi"]
    assert len(psi) == 1
    assert psi[0]["subject"] == "model" and psi[0]["customer_id"] is None
    assert psi[0]["model_version_id"] == version_id
    assert (psi[0]["severity"], psi[0]["tier"], psi[0]["status"]) == ("high", "watch", "new")
    assert psi[0]["evidence"]["values"] == {"psi.probability_of_default": float(checked["psi"]), "threshold": 0.25}
    assert psi[0]["evidence"]["model"] == {"id": version_id, "version": "pd-m"}
    breached_features = {k for k, v in checked["csi"].items() if v > 0.25}
    csi = [a for a in raised if a["rule_id"] == "model_csi"]
    assert len(csi) == (1 if breached_features else 0)
    if csi:  # one alert for every feature past the threshold
        assert {k.removeprefix("csi.") for k in csi[0]["evidence"]["values"]} - {"threshold"} == breached_features
    # Checking again while the alerts are open raises nothing more.
    assert client.post("/api/v1/portfolio/model-health", headers=officer).json()["review_needed"] is True
    assert [a["id"] for a in model_alerts_of(client, officer)] == [a["id"] for a in raised]
    # A customer's queue does not show the model's alerts; every alert is in the unfiltered queue.
    assert client.get(f"/api/v1/alerts?customer_id={companies[0]}", headers=officer).json()["total"] == 0
    assert client.get("/api/v1/alerts", headers=officer).json()["total"] == len(raised)
    audit = client.get("/api/v1/audit/entries", headers=token_for(Role.compliance_officer)).json()["items"]
    assert sum(e["action"] == "alert.raised" and e["entity_type"] == "model_version" for e in audit) == len(raised)

    # The queue page in Chinese and English: a model alert links to the Models page, every word translated.
    missing: set[str] = set()

    def recording(text: str, lang: str) -> str:
        if lang == "zh" and text not in i18n.ZH:
            missing.add(text)
        return i18n.translate(text, lang)

    monkeypatch.setattr(templating, "translate", recording)
    page_client = TestClient(client.app)
    assert login(page_client, make_user(Role.analyst), TEST_PASSWORD)[0] == 303
    page_client.cookies.set("rd_lang", "zh")
    chinese = page_client.get("/alerts")
    assert chinese.status_code == 200 and missing == set()
    assert f'<a href="/models" data-model="{version_id}">模型 pd-m</a>' in chinese.text
    assert "模型复核：评分总体偏移（PSI）" in chinese.text
    page_client.cookies.set("rd_lang", "en")
    english = page_client.get("/alerts?status=&severity=high")
    assert "Model review: PD population shifted (PSI)" in english.text and ">Model pd-m</a>" in english.text

    # Closing works (audited on the model version), and a later breach raises a new alert.
    closed = client.post(
        f"/api/v1/alerts/{psi[0]['id']}/transition",
        headers=officer,
        json={"status": "closed", "reason": "retraining scheduled for next month"},
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    audit = client.get("/api/v1/audit/entries", headers=token_for(Role.compliance_officer)).json()["items"]
    moved = [e for e in audit if e["action"] == "alert.transitioned"]
    assert [(e["entity_type"], str(e["entity_id"])) for e in moved] == [("model_version", str(version_id))]
    client.post("/api/v1/portfolio/model-health", headers=officer)
    again = [a for a in model_alerts_of(client, officer) if a["rule_id"] == "model_psi"]
    assert len(again) == 1 and again[0]["id"] != psi[0]["id"]


def test_model_health_from_the_command_line_raises_the_alert_before_it_commits(
    run: CliRunner, client: TestClient, container: Container, token_for: Headers, model_dir: Path, tmp_path: Path
) -> None:
    officer, _, _ = champion_scoring(client, container, token_for, model_dir, tmp_path)
    result = run.invoke(app, ["credit", "model-health"])
    assert result.exit_code == 1 and "model review needed" in result.output
    assert [a["rule_id"] for a in model_alerts_of(client, officer) if a["rule_id"] == "model_psi"] == ["model_psi"]
    assert run.invoke(app, ["credit", "model-health"]).exit_code == 1
    listed = run.invoke(app, ["monitor", "alerts", "--status", "open"])
    assert listed.exit_code == 0 and listed.stdout.count('"subject": "model"') == len(model_alerts_of(client, officer))


def grade_drop_alerts(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items = client.get("/api/v1/alerts?subject=customer&limit=500", headers=headers).json()["items"]
    return [a for a in items if a["rule_id"] == "score_or_grade_drop"]


def test_a_rescoring_that_downgrades_raises_the_grade_drop_alert_once(
    client: TestClient, container: Container, token_for: Headers, model_dir: Path, tmp_path: Path
) -> None:
    officer, _, companies = champion_scoring(client, container, token_for, model_dir, tmp_path, companies=3)
    assert grade_drop_alerts(client, officer) == []
    overlay = {"sector": "I", "factor": "10", "valid_from": date.today().isoformat(), "reason": "sector in crisis"}
    assert client.post("/api/v1/pd-overlays", headers=officer, json=overlay).status_code == 201
    rescored = client.post("/api/v1/portfolio/rescoring", headers=officer).json()
    assert rescored["downgraded"] == len(companies)  # every company is in sector I: PD × 10 is 3 grades or more
    alerts = grade_drop_alerts(client, officer)
    assert sorted(a["customer_id"] for a in alerts) == sorted(companies)
    values = alerts[0]["evidence"]["values"]
    assert values["state.grade_notches_down"] >= 2  # the state reads the grade the rescoring gave, not an assessment
    assert alerts[0]["event_id"] == f"rescoring:{rescored['run']}:{alerts[0]['customer_id']}"
    # The same grades again: no downgrade, no alert.
    assert client.post("/api/v1/portfolio/rescoring", headers=officer).json()["downgraded"] == 0
    assert len(grade_drop_alerts(client, officer)) == len(companies)
    # The same rescoring's downgrades handed over again are duplicates at the intake, never a second alert.
    with container.session_factory() as session:
        latest = session.scalars(
            select(PdPrediction).where(PdPrediction.run == rescored["run"]).order_by(PdPrediction.id)
        ).all()
        replayed = [
            events.GradeDowngraded(
                p.customer_id, p.previous_grade or "", p.grade, str(p.probability_of_default), p.run, p.scored_at
            )
            for p in latest
        ]
    with container.session_factory.begin() as session:
        result = model_alerts.send_grade_drops(
            session, downgrades=replayed, policy=container.credit_policy, actor=Actor("test")
        )
    assert (result.duplicates, result.alerts, result.dead_lettered) == (len(companies), 0, 0)
    assert len(grade_drop_alerts(client, officer)) == len(companies)


def due_requests(container: Container) -> list[tuple[str, str, date, bool]]:
    with container.session_factory() as session:
        return [
            (r.reason, r.reference, r.due_on, r.done_at is not None) for r in reversed(portfolio.rescorings(session))
        ]


def test_promotion_and_overlays_make_the_portfolio_due_and_the_job_rescores_it(
    run: CliRunner,
    client: TestClient,
    container: Container,
    token_for: Headers,
    make_user: Callable[..., str],
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    officer, approver = token_for(Role.credit_officer), token_for(Role.approver)
    companies = [company_with_statements(client, officer) for _ in range(2)]
    assert run.invoke(app, ["credit", "rescore", "--due"]).stdout.strip() == "no rescoring is due"
    version_id = register(container, model_dir, tmp_path / "registry")
    promote(client, version_id, officer, approver)
    today = date.today()
    assert due_requests(container) == [("champion_changed", "pd-m", today, False)]

    # The Models page says so, in Chinese too.
    missing: set[str] = set()

    def recording(text: str, lang: str) -> str:
        if lang == "zh" and text not in i18n.ZH:
            missing.add(text)
        return i18n.translate(text, lang)

    monkeypatch.setattr(templating, "translate", recording)
    page_client = TestClient(client.app)
    assert login(page_client, make_user(Role.credit_officer), TEST_PASSWORD)[0] == 303
    page_client.cookies.set("rd_lang", "zh")
    page = page_client.get("/models")
    assert page.status_code == 200 and "待重新评分" in page.text and "新冠军模型" in page.text and missing == set()

    job = run.invoke(app, ["credit", "rescore", "--due"])
    assert job.exit_code == 0, job.output
    assert job.stdout.startswith(f"{len(companies)} companies scored by pd-m")
    with container.session_factory() as session:
        scored = session.scalar(
            select(func.count()).select_from(PdPrediction).where(PdPrediction.customer_id.in_(companies))
        )
        assert scored == len(companies)
        (request,) = portfolio.rescorings(session)
        assert request.run is not None and request.outcome is not None
        matrix = [(m["from"], m["to"], m["customers"]) for m in request.outcome["migrations"]]
        assert [row for row in matrix if row[0] is not None] == []  # first scores: every row comes from "new"
        assert sum(row[2] for row in matrix) == len(companies)
        assert f"  {'—':>3} → {matrix[0][1]:>3}  {matrix[0][2]}" in job.stdout
    assert "待重新评分" not in page_client.get("/models").text
    assert run.invoke(app, ["credit", "rescore", "--due"]).stdout.strip() == "no rescoring is due"

    # An overlay from today is due now; one from next month only then.
    for valid_from in (today, today + timedelta(days=30)):
        added = {"sector": "I", "factor": "1.5", "valid_from": valid_from.isoformat(), "reason": "sector outlook"}
        assert client.post("/api/v1/pd-overlays", headers=officer, json=added).status_code == 201
    assert [(r[0], r[2], r[3]) for r in due_requests(container)[1:]] == [
        ("overlay_changed", today, False),
        ("overlay_changed", today + timedelta(days=30), False),
    ]
    assert run.invoke(app, ["credit", "rescore", "--due"]).exit_code == 0
    explained = client.get(f"/api/v1/customers/{companies[0]}/explanation", headers=officer).json()["model"]
    assert explained["overlay_factor"] == "1.5000"
    assert [r[3] for r in due_requests(container)] == [True, True, False]
    page_client.cookies.set("rd_lang", "en")
    assert re.search(
        r"Overlay changed <span class=\"mono\">#\d+ " + str(today + timedelta(days=30)), page_client.get("/models").text
    )
