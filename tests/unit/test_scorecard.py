"""The points scorecard on the German credit data: trained, saved as a readable table, scored with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.errors import ValidationFailed
from riskdesk.scoring import scorecard

DATA = Path(__file__).resolve().parents[1] / "data" / "germancredit.csv"


@pytest.fixture(scope="module")
def german() -> object:
    import pandas as pd

    return pd.read_csv(DATA)


def test_a_trained_scorecard_separates_goods_from_bads_and_reads_back(german: object, tmp_path: Path) -> None:
    model = scorecard.train(german, target="creditability")
    rows = german.to_dict("records")  # type: ignore[attr-defined]
    labels = scorecard.target_vector([r["creditability"] for r in rows], "creditability")
    results = [model.score_row(row) for row in rows]
    metrics = scorecard.evaluate(labels, [r["probability_of_default"] for r in results])
    assert metrics["auc"] > 0.75  # in-sample; the benchmark measures 5-fold
    mean_pd = sum(r["probability_of_default"] for r in results) / len(results)
    assert abs(mean_pd - metrics["bad_rate"]) < 0.05  # calibrated on average
    reloaded = scorecard.ScorecardModel.load(Path(model.save(tmp_path)).parent)
    assert [reloaded.score_row(row) for row in rows[:20]] == results[:20]


def test_every_score_explains_what_cost_points(german: object) -> None:
    model = scorecard.train(german, target="creditability")
    worst = min((model.score_row(r) for r in german.to_dict("records")), key=lambda r: r["score"])  # type: ignore[attr-defined]
    assert len(worst["reasons"]) == 3
    assert worst["reasons"][0]["points_lost"] >= worst["reasons"][1]["points_lost"] > 0
    assert "比最佳少" in worst["reasons"][0]["zh"]


def test_unknown_categories_and_missing_values_have_their_own_bins(german: object) -> None:
    model = scorecard.train(german, target="creditability")
    row = german.to_dict("records")[0]  # type: ignore[attr-defined]
    strange = {**row, "purpose": "space travel", "credit_amount": None}
    assert model.score_row(strange)["score"] != model.score_row(row)["score"]


@pytest.mark.parametrize(("values", "message"), [(["good", "bad", "maybe"], "maybe"), (["good", "good"], "one class")])
def test_targets_must_be_good_and_bad(values: list[str], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        scorecard.target_vector(values, "y")


def test_cli_trains_prints_metrics_last_and_scores_with_reasons(tmp_path: Path) -> None:
    runner = CliRunner()
    trained = runner.invoke(
        app, ["scorecard", "train", "--data", str(DATA), "--target", "creditability", "--out", str(tmp_path / "model")]
    )
    assert trained.exit_code == 0, trained.output
    metrics = json.loads(trained.stdout.strip().splitlines()[-1])
    assert set(metrics) >= {"auc", "gini", "ks", "brier", "log_loss", "n", "bad_rate"}
    scored = runner.invoke(
        app,
        [
            "scorecard",
            "score",
            "--model",
            str(tmp_path / "model"),
            "--data",
            str(DATA),
            "--out",
            str(tmp_path / "scores.csv"),
        ],
    )
    assert scored.exit_code == 0, scored.output
    lines = (tmp_path / "scores.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1001 and lines[0].startswith("row,score,probability_of_default,reason_1")
    wrong = runner.invoke(
        app, ["scorecard", "train", "--data", str(DATA), "--target", "nope", "--out", str(tmp_path / "x")]
    )
    assert wrong.exit_code == 1


@pytest.mark.parametrize(("binning", "exit_code"), [("optbinning", 0), ("chi-merge", 1)])
def test_cli_trains_with_optbinning_on_request_and_refuses_other_binnings(
    tmp_path: Path, binning: str, exit_code: int
) -> None:
    arguments = ["--data", str(DATA), "--target", "creditability", "--out", str(tmp_path / "m"), "--binning", binning]
    trained = CliRunner().invoke(app, ["scorecard", "train", *arguments])
    assert trained.exit_code == exit_code, trained.output
    if exit_code:
        assert "riskdesk or optbinning" in trained.output
    else:
        assert json.loads(trained.stdout.strip().splitlines()[-1])["auc"] > 0.7
