"""riskdesk model train / evaluate / score: messy data, out-of-time validation, champion and challenger, grades and
reasons, and clear errors for bad input — never a half-written model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.errors import ValidationFailed
from riskdesk.scoring import pd_model
from riskdesk.scoring.tabular import feature_matrix, infer_features, read_table, target_labels
from riskdesk.scoring.training import Source, Trained, train_models
from riskdesk.scoring.validation import find_leaks, out_of_time_split

DATA = Path(__file__).resolve().parents[1] / "data"
GERMAN = DATA / "germancredit.csv"
UCI = DATA / "uci_credit_card_sample.csv"
SOURCE = Source("test.csv", "0" * 64)
runner = CliRunner()


def last_json(output: str) -> dict[str, Any]:
    return dict(json.loads(output.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    """2,000 rows of the UCI sample, with the mess real files have: an id, a date, blanks, numbers as text."""
    frame = pd.read_csv(UCI).iloc[:2000].copy()
    rng = np.random.default_rng(0)
    frame.insert(0, "customer_no", np.arange(10_001, 12_001))
    frame["opened"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.permutation(2000) // 4, unit="D")
    frame["LIMIT_BAL"] = frame["LIMIT_BAL"].map("{:,.0f}".format).astype(object)
    frame.loc[rng.random(2000) < 0.05, "LIMIT_BAL"] = ""
    frame.loc[rng.random(2000) < 0.05, "BILL_AMT1"] = np.nan
    frame["region"] = rng.choice(["north", "south", "east", "west"], 2000)
    frame["default"] = frame["default"].map({0: "good", 1: "bad"})
    return frame


@pytest.fixture(scope="module")
def uci_file(uci: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "uci.csv"
    uci.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def auto_model(uci_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("models") / "auto"
    result = runner.invoke(app, ["model", "train", "--data", str(uci_file), "--target", "default", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, last_json(result.stdout)


# ── Training ───────────────────────────────────────────────────────────────────────────────────────────────


def test_auto_trains_both_kinds_and_prints_the_champions_validation_metrics_last(
    auto_model: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = auto_model
    assert summary["champion"] in ("gbm", "scorecard") and summary["challenger"] in ("gbm", "scorecard")
    assert summary["champion"] != summary["challenger"]
    assert set(summary) >= {"auc", "gini", "ks", "brier", "log_loss", "n", "bad_rate", "validation", "version"}
    assert summary["auc"] == max(m["auc"] for m in summary["models"].values())
    assert summary["validation"] == "5-fold cross-validation" and summary["n"] == 2000
    assert {p.name for p in out.iterdir()} == {"model.json", "gbm", "scorecard"}
    assert (out / "gbm" / "booster.txt").read_text().startswith("tree")  # LightGBM's text format, not a pickle


def test_the_manifest_records_what_a_model_registry_needs(auto_model: tuple[Path, dict[str, Any]]) -> None:
    out, summary = auto_model
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["format"] == "riskdesk-pd-model" and manifest["format_version"] == 1
    assert manifest["version"] == summary["version"] and manifest["trained_by"].startswith("cli:")
    assert len(manifest["data"]["sha256"]) == 64 and manifest["data"]["rows"] == 2000
    assert manifest["trained_at"].endswith("+00:00")
    assert {f["name"] for f in manifest["features"]} == {"EDUCATION", "MARRIAGE", "LIMIT_BAL", "BILL_AMT1", "region"}
    assert manifest["excluded_columns"]["customer_no"].startswith("identifier (detected")
    assert manifest["excluded_columns"]["opened"].startswith("dates (give the column as --time-column")
    gbm_entry = manifest["models"]["gbm"]
    assert gbm_entry["parameters"]["num_leaves"] == 7 and gbm_entry["parameters"]["calibration"] == "platt"
    assert len(gbm_entry["metrics"]["calibration"]) == 10 and set(gbm_entry["files"]) == {"booster.txt", "gbm.json"}
    assert list(gbm_entry["importance"]) and gbm_entry["training_seconds"] >= 0
    calibration = json.loads((out / "gbm" / "gbm.json").read_text())["calibration"]
    assert calibration["method"] == "platt" and calibration["slope"] > 0  # readable numbers


def test_text_columns_numbers_written_as_text_and_blanks_are_read(uci: pd.DataFrame) -> None:
    features, excluded = infer_features(uci, target="default", time_column="opened")
    kinds = {f.name: f.kind for f in features}
    assert kinds["LIMIT_BAL"] == "numeric" and kinds["region"] == "categorical"
    assert excluded["opened"].startswith("time column") and "customer_no" in excluded
    matrix = feature_matrix(uci, features)
    limit = matrix[:, [f.name for f in features].index("LIMIT_BAL")]
    assert np.isnan(limit).mean() == pytest.approx(0.05, abs=0.02) and np.nanmax(limit) > 100_000


def test_identifiers_given_or_looking_like_one_are_left_out() -> None:
    frame = pd.DataFrame(
        {
            "row": range(100),  # consecutive whole numbers
            "account_key": np.random.default_rng(0).permutation(100) * 7 + 3,  # distinct, named like a key
            "name": [f"customer {i}" for i in range(100)],  # text, a different value in every row
            "branch": ["a", "b"] * 50,
            "income": np.random.default_rng(1).normal(size=100),  # distinct floats are measurements
            "flag": [1] * 100,
            "y": [0, 1] * 50,
        }
    )
    features, excluded = infer_features(frame, target="y", id_columns=("branch",))
    assert [f.name for f in features] == ["income"]
    assert set(excluded) == {"row", "account_key", "name", "branch", "flag"}
    assert excluded["flag"].startswith("constant")


@pytest.mark.parametrize(
    ("values", "labels"),
    [(["0", "1", "1"], [0, 1, 1]), ([True, False, True], [1, 0, 1]), (["Good", "BAD", "good"], [0, 1, 0])],
)
def test_targets_may_be_0_1_true_false_or_good_bad(values: list[Any], labels: list[int]) -> None:
    assert target_labels(pd.DataFrame({"y": values}), "y")[0].tolist() == labels


def test_rows_without_a_target_are_left_out_not_guessed() -> None:
    labels, labelled = target_labels(pd.DataFrame({"y": ["good", None, "bad", " "]}), "y")
    assert labels.tolist() == [0, 1] and labelled.tolist() == [True, False, True, False]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=80, max_size=300), st.randoms(use_true_random=False))
def test_out_of_time_validation_never_judges_on_rows_as_early_as_the_learning_rows(
    days: list[int], random: Any
) -> None:
    times = np.array(days, dtype=float)
    labels = np.array([random.random() < 0.4 for _ in days], dtype=np.int8)
    try:
        split = out_of_time_split(labels, times)
    except ValidationFailed:
        return  # too few of a class, or every late row on one day: refused, never split wrongly
    assert times[split.fit].max() < times[split.validation].min()
    assert len(split.fit) + len(split.validation) == len(days)
    assert len(split.validation) <= 0.25 * len(days) + 1  # ties at the boundary go to the learning side


def test_with_a_time_column_the_latest_rows_validate_out_of_time(uci_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "oot"
    options = ["--time-column", "opened", "--kind", "gbm", "--id-column", "customer_no", "--out", str(out)]
    result = runner.invoke(app, ["model", "train", "--data", str(uci_file), "--target", "default", *options])
    assert result.exit_code == 0, result.output
    validation = json.loads((out / "model.json").read_text())["validation"]
    assert validation["method"] == "out-of-time" and last_json(result.stdout)["validation"] == "out-of-time"
    assert validation["fit_until"] < validation["validation_from"]
    assert validation["validation_rows"] == pytest.approx(500, abs=10)
    assert json.loads((out / "model.json").read_text())["excluded_columns"]["customer_no"].endswith("--id-column)")


def test_imbalanced_data_trains_and_the_pd_is_calibrated_to_the_bad_rate() -> None:
    frame = pd.read_csv(UCI)
    rare = pd.concat([frame[frame["default"] == 0], frame[frame["default"] == 1].head(250)])  # 5 % bad
    trained = train_models(rare, target="default", source=SOURCE, kind="gbm")
    metrics = trained.manifest["models"]["gbm"]["metrics"]
    assert metrics["bad_rate"] == pytest.approx(0.051, abs=0.001) and metrics["auc"] > 0.55
    assert metrics["mean_pd"] == pytest.approx(metrics["bad_rate"], abs=0.01)


def test_isotonic_calibration_is_stored_as_its_points(uci: pd.DataFrame) -> None:
    trained = train_models(uci, target="default", source=SOURCE, kind="gbm", calibration="isotonic")
    calibration = trained.models["gbm"].calibration.as_dict()  # type: ignore[union-attr]
    assert calibration["method"] == "isotonic"
    assert calibration["probabilities"] == sorted(calibration["probabilities"]) and len(calibration["raw_scores"]) > 1


def test_a_monotone_feature_only_ever_raises_the_pd() -> None:
    frame = pd.read_csv(GERMAN)
    trained = train_models(frame, target="creditability", source=SOURCE, kind="gbm", monotone={"credit_amount": 1})
    scorer = trained.scorer()
    for _, row in frame.head(5).iterrows():
        grid = pd.DataFrame([row] * 40).assign(credit_amount=np.linspace(250, 18_000, 40))
        pd_along = scorer.score(grid, reasons=False).probability_of_default
        assert (np.diff(pd_along) >= -1e-12).all()
    with pytest.raises(ValidationFailed, match="only numeric"):
        train_models(frame, target="creditability", source=SOURCE, kind="gbm", monotone={"purpose": 1})


def test_scorecard_reasons_are_points_lost(uci: pd.DataFrame) -> None:
    trained = train_models(uci, target="default", source=SOURCE, kind="scorecard")
    scored = trained.scorer().score(uci.head(50))
    assert trained.manifest["champion"] == "scorecard" and trained.manifest["challenger"] is None
    assert any("points below its best" in text for text in scored.reasons["reason_1_en"])


# ── Evaluate and score ─────────────────────────────────────────────────────────────────────────────────────


def test_evaluate_prints_metrics_and_a_calibration_table_by_decile(
    auto_model: tuple[Path, dict[str, Any]], uci_file: Path
) -> None:
    out, summary = auto_model
    result = runner.invoke(
        app, ["model", "evaluate", "--model", str(out), "--data", str(uci_file), "--target", "default", "--challenger"]
    )
    assert result.exit_code == 0, result.output
    metrics = last_json(result.stdout)
    assert set(metrics) >= {"auc", "gini", "ks", "brier", "log_loss", "n", "bad_rate", "calibration"}
    assert metrics["n"] == 2000 and metrics["kind"] == summary["champion"]
    assert [d["decile"] for d in metrics["calibration"]] == list(range(1, 11))
    assert sum(d["n"] for d in metrics["calibration"]) == 2000
    assert metrics["challenger"]["kind"] == summary["challenger"]


def test_score_writes_pd_grade_and_three_reasons_per_row(
    auto_model: tuple[Path, dict[str, Any]], uci: pd.DataFrame, tmp_path: Path
) -> None:
    out, summary = auto_model
    data = tmp_path / "customers.parquet"
    uci.drop(columns=["default"]).head(300).to_parquet(data)
    scores = tmp_path / "scores.csv"
    result = runner.invoke(
        app, ["model", "score", "--model", str(out), "--data", str(data), "--out", str(scores), "--shadow"]
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(scores, keep_default_na=False)
    assert len(written) == 300 and written["row"].tolist() == list(range(1, 301))
    assert written["customer_no"].tolist() == uci["customer_no"].head(300).tolist()  # identifiers carried through
    assert written["probability_of_default"].between(0, 1).all()
    assert set(written["grade"].astype(str)) <= {str(g) for g in range(1, 11)}
    assert {"reason_1", "reason_1_en", "reason_1_zh", "reason_3_zh", "challenger_probability_of_default"} <= set(
        written.columns
    )
    assert (written["model_version"] == summary["version"]).all()
    assert written["reason_1_zh"].str.len().gt(0).mean() > 0.9


def test_grades_follow_the_master_scale() -> None:
    scale = [("A", 0.01), ("B", 0.05), ("C", 1.0)]
    grades = pd_model.grades_for(np.array([0.0001, 0.01, 0.010001, 0.05, 0.7, 1.0]), scale)
    assert grades.tolist() == ["A", "A", "B", "B", "C", "C"]


# ── Bad input ──────────────────────────────────────────────────────────────────────────────────────────────


def test_a_file_that_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "data.parquet"
    junk.write_bytes(b"not parquet at all")
    for path, message in ((junk, "cannot read data.parquet"), (tmp_path / "x.xlsx", "give a .csv or .parquet")):
        with pytest.raises(ValidationFailed, match=message):
            read_table(path)
    result = runner.invoke(
        app, ["model", "train", "--data", str(tmp_path / "absent.csv"), "--target", "y", "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 1 and "does not exist" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["default"]), "no target column 'default'"),
        (lambda f: f.assign(default="good"), "one value"),
        (lambda f: f.assign(default=["good", "bad", "unknown", "bad"] * 500), "found unknown"),
    ],
    ids=["missing-target", "constant-target", "unreadable-target"],
)
def test_a_target_that_is_missing_constant_or_unreadable_is_a_clear_error(
    uci: pd.DataFrame, change: Any, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message):
        train_models(change(uci), target="default", source=SOURCE)


def test_a_column_that_leaks_the_target_is_named(uci: pd.DataFrame, tmp_path: Path) -> None:
    leaky = uci.assign(
        days_past_due=np.where(uci["default"] == "bad", 95, 0), collection_status=uci["default"].map({"bad": "sent"})
    )
    features, _ = infer_features(leaky, target="default", time_column="opened")
    labels, _ = target_labels(leaky, "default")
    assert {name for name, _ in find_leaks(feature_matrix(leaky, features), labels, features)} == {
        "days_past_due",
        "collection_status",
    }
    path = tmp_path / "leaky.csv"
    leaky.to_csv(path, index=False)
    result = runner.invoke(
        app, ["model", "train", "--data", str(path), "--target", "default", "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 1 and "days_past_due" in result.output and "--allow-leaks" in result.output
    assert not (tmp_path / "m").exists()


def test_a_model_directory_of_another_format_version_or_changed_after_training_is_refused(
    auto_model: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    import shutil

    out, _ = auto_model
    other = tmp_path / "other"
    shutil.copytree(out, other)
    manifest = json.loads((other / "model.json").read_text())
    (other / "model.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ValidationFailed, match="model format 99"):
        pd_model.load(other)
    (other / "model.json").write_text(json.dumps(manifest))
    with (other / "gbm" / "gbm.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(ValidationFailed, match="changed after training"):
        pd_model.load(other)
    with pytest.raises(ValidationFailed, match="not a riskdesk model directory"):
        pd_model.load(tmp_path)


def test_a_failed_save_leaves_no_half_written_model_and_nothing_is_overwritten(
    uci: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained = train_models(uci, target="default", source=SOURCE, kind="gbm")

    def fail_midway(self: Trained, folder: Path) -> None:
        (folder / "gbm").mkdir()
        raise OSError("disk full")

    monkeypatch.setattr(Trained, "_fill", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        trained.save(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    trained.save(tmp_path / "model")
    with pytest.raises(ValidationFailed, match="already exists"):
        trained.save(tmp_path / "model")


# ── Readable names in reasons ──────────────────────────────────────────────────────────────────────────────


def labelled(labels: Path, out: Path) -> list[str]:
    return ["--labels", str(labels), "--out", str(out)]


@pytest.mark.parametrize("kind", ["gbm", "scorecard"])
def test_reasons_name_the_features_by_their_labels_in_chinese_and_english(
    kind: str, uci_file: Path, uci: pd.DataFrame, tmp_path: Path
) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "column,en,zh\n"
        + "".join(f"{c},{c.lower()} label,{c}中文名\n" for c in uci.columns if c not in ("default", "customer_no"))
        + "customer_no,customer number,客户号\n",  # an identifier, left out of the features: its label is unused
        encoding="utf-8",
    )
    out = tmp_path / "labelled"
    result = runner.invoke(
        app,
        ["model", "train", "--data", str(uci_file), "--target", "default", "--kind", kind, *labelled(labels, out)],
    )
    assert result.exit_code == 0, result.output
    scored = pd_model.load(out).champion.score(uci.head(200))
    chinese = [text for text in scored.reasons["reason_1_zh"] if text]
    english = [text for text in scored.reasons["reason_1_en"] if text]
    assert chinese and all("中文名" in text for text in chinese)
    assert english and all(" label is " in text for text in english)
    assert all(text.split(" label is ")[0].upper() in {c.upper() for c in uci.columns} for text in english)


def test_labels_for_columns_the_data_lacks_or_in_a_bad_file_are_refused(uci_file: Path, tmp_path: Path) -> None:
    typo = tmp_path / "typo.json"
    typo.write_text('{"LIMIT_BAL": {"en": "limit", "zh": "额度"}, "LIMT_BAL": {"en": "x", "zh": "y"}}', "utf-8")
    headless = tmp_path / "headless.csv"
    headless.write_text("LIMIT_BAL,limit,额度\n", "utf-8")
    for path, said in ((typo, "the data does not have: LIMT_BAL"), (headless, "header column,en,zh")):
        out = tmp_path / path.stem
        result = runner.invoke(
            app,
            ["model", "train", "--data", str(uci_file), "--target", "default", "--kind", "gbm", *labelled(path, out)],
        )
        assert result.exit_code == 1, result.output
        assert said in " ".join(result.output.split())
        assert not out.exists()
