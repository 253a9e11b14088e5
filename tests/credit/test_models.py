"""PD models at the desk: registered, promoted with four eyes, scoring the portfolio with overlays and a challenger
in shadow, and the explanation a person may ask for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.cli.main import app
from riskdesk.credit.portfolio import FEATURES
from riskdesk.demo.history import unit_history
from riskdesk.scoring import registry
from riskdesk.security.permissions import Role
from tests.conftest import company_payload
from tests.credit.test_assessments import company_with_statements

Headers = Callable[[Role], dict[str, str]]


def history(rows: int = 800, seed: int = 3) -> pd.DataFrame:
    frame: pd.DataFrame = unit_history(rows, seed)
    return frame


def trained(tmp_path: Path, name: str, frame: pd.DataFrame | None = None) -> Path:
    data = tmp_path / f"{name}.csv"
    frame = history() if frame is None else frame
    frame.to_csv(data, index=False)
    ids = ["--id-column", "customer_id"] if "customer_id" in frame.columns else []
    out = tmp_path / name
    result = CliRunner().invoke(
        app,
        [
            "model",
            "train",
            "--data",
            str(data),
            "--target",
            "default",
            "--kind",
            "scorecard",
            *ids,
            "--out",
            str(out),
            "--version",
            name,
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "registry"


@pytest.fixture(scope="module")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each model trained once for the module (each test registers copies in its own database)."""
    folder = tmp_path_factory.mktemp("trained")
    german = pd.read_csv(Path(__file__).parents[1] / "data" / "germancredit.csv")
    return {
        "pd-2026-11": trained(folder, "pd-2026-11"),
        "pd-a": trained(folder, "pd-a"),
        "pd-b": trained(folder, "pd-b", history(seed=9)),
        "pd-x": trained(folder, "pd-x"),
        "german": trained(folder, "german", german.rename(columns={"creditability": "default"})),
    }


def register(container: Container, source: Path, models_dir: Path) -> int:
    with container.session_factory.begin() as session:
        return registry.register(session, source=source, models_dir=models_dir, actor=Actor("officer")).id


def promote(client: TestClient, version_id: int, officer: dict[str, str], approver: dict[str, str]) -> Any:
    asked = client.post(f"/api/v1/models/{version_id}/promotion", headers=officer, json={"reason": "better AUC"})
    assert asked.status_code == 200, asked.text
    return client.post(
        f"/api/v1/models/{version_id}/promotion/decision",
        headers=approver,
        json={"decision": "approve", "reason": "validated on out-of-time data"},
    )


def test_a_promoted_model_scores_the_portfolio_with_overlays_and_explains_itself(
    client: TestClient,
    container: Container,
    token_for: Headers,
    trained_models: dict[str, Path],
    models_dir: Path,
) -> None:
    officer, approver = token_for(Role.credit_officer), token_for(Role.approver)
    companies = [company_with_statements(client, officer) for _ in range(3)]
    assert client.post("/api/v1/portfolio/rescoring", headers=officer).status_code == 422  # no champion yet
    first = register(container, trained_models["pd-2026-11"], models_dir)
    assert (models_dir / "pd-2026-11" / "model.json").is_file()
    assert client.get("/api/v1/models", headers=officer).json()[0]["role"] == "candidate"
    assert promote(client, first, officer, approver).json()["role"] == "champion"
    run = client.post("/api/v1/portfolio/rescoring", headers=officer).json()
    assert run["scored"] == 3
    assert run["migrations"] == [
        {"from": None, "to": g, "customers": n} for g, n in _grades(client, companies, officer)
    ]
    before = client.get(f"/api/v1/customers/{companies[0]}/explanation", headers=officer).json()["model"]
    assert before["model_version"] == "pd-2026-11"
    assert len(before["reasons"]) >= 1 and all(r["zh"] and r["en"] for r in before["reasons"])
    assert set(before["inputs"]) == set(FEATURES)
    overlay = {"sector": "I", "factor": "2", "valid_from": "2020-01-01", "reason": "software downturn"}
    assert client.post("/api/v1/pd-overlays", headers=officer, json=overlay).status_code == 201
    client.post("/api/v1/portfolio/rescoring", headers=officer)
    after = client.get(f"/api/v1/customers/{companies[0]}/explanation", headers=officer).json()["model"]
    assert after["overlay_factor"] == "2.0000"
    assert float(after["probability_of_default"]) == pytest.approx(
        2 * float(before["probability_of_default"]), rel=1e-4
    )
    assert after["previous_grade"] == before["grade"]
    page = client.get(f"/customers/{companies[0]}/assessment", headers=officer)
    assert page.status_code in (200, 303)  # a bearer token does not open pages; the API is the test here


def _grades(client: TestClient, companies: list[int], headers: dict[str, str]) -> list[tuple[str, int]]:
    from collections import Counter

    grades = Counter(
        client.get(f"/api/v1/customers/{c}/explanation", headers=headers).json()["model"]["grade"] for c in companies
    )
    return sorted(grades.items(), key=lambda item: (len(item[0]), item[0]))


def test_promotion_needs_a_second_person_and_keeps_the_old_champion_as_challenger(
    client: TestClient,
    container: Container,
    token_for: Headers,
    trained_models: dict[str, Path],
    models_dir: Path,
) -> None:
    officer, approver = token_for(Role.credit_officer), token_for(Role.approver)
    company_with_statements(client, officer)
    first = register(container, trained_models["pd-a"], models_dir)
    second = register(container, trained_models["pd-b"], models_dir)
    promote(client, first, officer, approver)
    # The approver cannot decide on a promotion they asked for themselves.
    with container.session_factory.begin() as session:
        registry.request_promotion(session, version_id=second, reason="try", actor=Actor("someone"))
        with pytest.raises(Exception, match="second person"):
            registry.decide_promotion(
                session, version_id=second, decision="approve", reason="ok!", actor=Actor("someone")
            )
    decided = client.post(
        f"/api/v1/models/{second}/promotion/decision",
        headers=approver,
        json={"decision": "approve", "reason": "challenger wins"},
    )
    assert decided.json()["role"] == "champion"
    roles = {m["version"]: m["role"] for m in client.get("/api/v1/models", headers=officer).json()}
    assert roles == {"pd-a": "challenger", "pd-b": "champion"}
    client.post("/api/v1/portfolio/rescoring", headers=officer)
    customer = client.get("/api/v1/customers", headers=officer).json()["items"][0]["id"]
    explained = client.get(f"/api/v1/customers/{customer}/explanation", headers=officer).json()["model"]
    assert explained["model_version"] == "pd-b"
    assert explained["challenger_probability_of_default"] is not None
    assert (
        client.post(f"/api/v1/models/{second}/promotion", headers=officer, json={"reason": "again"}).status_code == 409
    )


def test_bad_models_are_refused(
    client: TestClient,
    container: Container,
    token_for: Headers,
    trained_models: dict[str, Path],
    tmp_path: Path,
    models_dir: Path,
) -> None:
    officer, approver = token_for(Role.credit_officer), token_for(Role.approver)
    source = trained_models["pd-x"]
    register(container, source, models_dir)
    with pytest.raises(Exception, match="already registered"), container.session_factory.begin() as session:
        registry.register(session, source=source, models_dir=models_dir, actor=Actor("officer"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match="not a riskdesk model directory"), container.session_factory.begin() as session:
        registry.register(session, source=tmp_path / "empty", models_dir=models_dir, actor=Actor("officer"))
    foreign = register(container, trained_models["german"], models_dir)
    promote(client, foreign, officer, approver)
    client.post("/api/v1/customers", json=company_payload(), headers=officer)
    refused = client.post("/api/v1/portfolio/rescoring", headers=officer)
    assert refused.status_code == 422
    assert "riskdesk does not hold for its customers" in refused.json()["message"]
    bad_overlay = {"sector": "ZZ", "factor": "0", "valid_from": "2020-01-01", "reason": "x"}
    assert client.post("/api/v1/pd-overlays", headers=officer, json=bad_overlay).status_code == 422


def test_the_champion_is_checked_for_stability_and_flagged_for_review(
    client: TestClient,
    container: Container,
    token_for: Headers,
    trained_models: dict[str, Path],
    models_dir: Path,
) -> None:
    officer, approver = token_for(Role.credit_officer), token_for(Role.approver)
    for _ in range(4):
        company_with_statements(client, officer)
    promote(client, register(container, trained_models["pd-a"], models_dir), officer, approver)
    assert client.post("/api/v1/portfolio/model-health", headers=officer).status_code == 422  # not scored yet
    client.post("/api/v1/portfolio/rescoring", headers=officer)
    checked = client.post("/api/v1/portfolio/model-health", headers=officer).json()
    assert checked["rows"] == 4
    # Four look-alike companies are nothing like the 800 of the history: the population has moved.
    assert float(checked["psi"]) > 0.25 and checked["review_needed"] is True
    assert set(checked["csi"]) == set(FEATURES)
    assert checked["realised"]["note"].startswith("outcomes of both kinds")
    audit = client.get("/api/v1/audit/entries", headers=token_for(Role.compliance_officer)).json()
    assert "model.review_needed" in [e["action"] for e in audit["items"]]


def test_the_model_commands_register_and_list(
    container: Container, trained_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from riskdesk.cli import common

    monkeypatch.setenv("RISKDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("RISKDESK_MODELS_DIR", str(tmp_path / "models"))
    common.container.cache_clear()
    try:
        runner = CliRunner()
        registered = runner.invoke(app, ["model", "register", str(trained_models["pd-a"])])
        assert registered.exit_code == 0, registered.output
        assert "registered model pd-a" in registered.stdout
        assert (tmp_path / "models" / "pd-a" / "model.json").is_file()
        again = runner.invoke(app, ["model", "register", str(trained_models["pd-a"])])
        assert again.exit_code == 1 and "already registered" in again.output
        listed = [json.loads(line) for line in runner.invoke(app, ["model", "list"]).stdout.splitlines()]
        assert [(m["version"], m["role"]) for m in listed] == [("pd-a", "candidate")]
    finally:
        if common.container.cache_info().currsize:
            common.container().dispose()
        common.container.cache_clear()


def test_a_recalibrated_version_moves_the_pd_level_and_waits_for_approval(
    container: Container,
    trained_models: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    token_for: Headers,
) -> None:
    import json

    from riskdesk.cli import common

    officer, approver = token_for(Role.credit_officer), token_for(Role.approver)
    models_dir = tmp_path / "models"
    parent = register(container, trained_models["pd-a"], models_dir)
    promote(client, parent, officer, approver)
    recent = history(400, seed=21)
    recent["default"] = (recent["default"].to_numpy() | (np.arange(400) % 3 == 0)).astype(int)  # more defaults now
    data = tmp_path / "recent.csv"
    recent.to_csv(data, index=False)
    monkeypatch.setenv("RISKDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("RISKDESK_MODELS_DIR", str(models_dir))
    common.container.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            [
                "model",
                "recalibrate",
                "--model-version",
                "pd-a",
                "--data",
                str(data),
                "--target",
                "default",
                "--version",
                "pd-a-r1",
            ],
        )
        assert result.exit_code == 0, result.output
        fitted = json.loads(result.stdout.splitlines()[-1])
        assert fitted["after"]["bad_rate"] == fitted["before"]["bad_rate"]
        assert fitted["after"]["brier"] < fitted["before"]["brier"]  # the level now fits the recent outcomes
        assert fitted["after"]["auc"] == pytest.approx(fitted["before"]["auc"], abs=1e-3)  # the ranking is kept
        too_few = CliRunner().invoke(
            app,
            [
                "model",
                "recalibrate",
                "--model-version",
                "pd-a",
                "--data",
                str(trained_models["pd-a"] / "model.json"),
                "--target",
                "default",
            ],
        )
        assert too_few.exit_code != 0
    finally:
        if common.container.cache_info().currsize:
            common.container().dispose()
        common.container.cache_clear()
    versions = {m["version"]: m for m in client.get("/api/v1/models", headers=officer).json()}
    assert (versions["pd-a-r1"]["role"], versions["pd-a-r1"]["parent_version"]) == ("candidate", "pd-a")
    with container.session_factory() as session:
        new = registry.load_model(registry.get_version(session, version_id=versions["pd-a-r1"]["id"]))
        old = registry.load_model(registry.get_version(session, version_id=parent))
    sample = recent.head(50)
    assert (
        new.champion.score(sample, reasons=False).probability_of_default.mean()
        > old.champion.score(sample, reasons=False).probability_of_default.mean()
    )
