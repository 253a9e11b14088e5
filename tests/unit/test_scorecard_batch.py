"""Batch scoring: ``score_frame`` gives every row the score, PD and reasons that ``score_row`` gives it."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from riskdesk.cli.main import app
from riskdesk.scoring import scorecard
from riskdesk.scoring.scorecard import Bin, Feature, ScorecardModel

DATA = Path(__file__).resolve().parents[1] / "data"
GERMAN = DATA / "germancredit.csv"
UCI = DATA / "uci_credit_card_sample.csv"


def batch_results(model: ScorecardModel, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``score_frame``'s rows in the shape ``score_row`` answers in."""
    results = []
    for record in model.score_frame(frame).to_dict("records"):
        reasons = [
            {
                "feature": record[f"reason_{k}"],
                "bin": record[f"reason_{k}_bin"],
                "points_lost": record[f"points_lost_{k}"],
                "en": record[f"reason_{k}_en"],
                "zh": record[f"reason_{k}_zh"],
            }
            for k in (1, 2, 3)
            if isinstance(record[f"reason_{k}"], str)
        ]
        results.append(
            {"score": record["score"], "probability_of_default": record["probability_of_default"], "reasons": reasons}
        )
    return results


def assert_batch_equals_rows(model: ScorecardModel, frame: pd.DataFrame) -> None:
    expected = [model.score_row(row) for row in frame.to_dict("records")]
    actual = batch_results(model, frame)
    different = [i for i, (a, b) in enumerate(zip(actual, expected, strict=True)) if a != b]
    assert not different, f"{len(different)} rows differ, the first: {actual[different[0]]} != {expected[different[0]]}"


def spoil(frame: pd.DataFrame, *, seed: int, share: float = 0.05, unseen: str = "never seen") -> pd.DataFrame:
    """Missing values in every column; unseen categories and blanks in the text columns."""
    rng = np.random.default_rng(seed)
    spoiled = frame.copy()
    for column in spoiled.columns:
        if spoiled[column].dtype.kind in "iu":
            spoiled[column] = spoiled[column].astype(float)
        spoiled.loc[rng.random(len(spoiled)) < share, column] = np.nan
        if spoiled[column].dtype.kind not in "biuf":
            spoiled.loc[rng.random(len(spoiled)) < share, column] = unseen
            spoiled.loc[rng.random(len(spoiled)) < share / 2, column] = ""
    return spoiled


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_csv(GERMAN)


@pytest.fixture(scope="module")
def german_model(german: pd.DataFrame) -> ScorecardModel:
    return scorecard.train(german, target="creditability")


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return pd.read_csv(UCI)


def test_batch_scores_equal_row_scores_on_german_credit(german: pd.DataFrame, german_model: ScorecardModel) -> None:
    assert_batch_equals_rows(german_model, german)


@pytest.mark.parametrize("text", ["as read", "object", "python"])
def test_batch_scores_equal_row_scores_with_missing_values_and_unseen_categories(
    german: pd.DataFrame, german_model: ScorecardModel, text: str
) -> None:
    spoiled = spoil(german, seed=1)
    assert spoiled["purpose"].eq("never seen").any() and spoiled["credit_amount"].isna().any()
    texts = [c for c in spoiled.columns if spoiled[c].dtype.kind not in "biuf"]
    if text != "as read":  # pandas' default text is pyarrow's when it is installed, else Python objects
        dtype = object if text == "object" else pd.StringDtype("python", na_value=np.nan)
        spoiled = spoiled.astype(dict.fromkeys(texts, dtype))
    assert_batch_equals_rows(german_model, spoiled)


def test_batch_scores_equal_row_scores_when_numbers_come_as_text(
    german: pd.DataFrame, german_model: ScorecardModel
) -> None:
    as_text = german.astype(object)
    as_text.loc[::7, "credit_amount"] = "n/a"
    as_text.loc[::11, "age_in_years"] = " 35 "
    as_text.loc[::13, "duration_in_month"] = None
    assert_batch_equals_rows(german_model, as_text)


def test_batch_scores_equal_row_scores_on_categorical_columns_and_a_missing_column(
    german: pd.DataFrame, german_model: ScorecardModel
) -> None:
    spoiled = spoil(german, seed=2)
    categorical = spoiled.astype({c: "category" for c in spoiled.columns if spoiled[c].dtype.kind not in "biuf"})
    assert_batch_equals_rows(german_model, categorical.drop(columns=["purpose"]))


@pytest.mark.parametrize("seed", [3, 4])
def test_batch_scores_equal_row_scores_on_the_uci_sample(uci: pd.DataFrame, seed: int) -> None:
    model = scorecard.train(uci, target="default")
    assert_batch_equals_rows(model, spoil(uci, seed=seed))


def test_batch_scores_equal_row_scores_on_the_uci_sample_with_categorical_codes() -> None:
    frame = pd.read_csv(UCI, dtype={"EDUCATION": str, "MARRIAGE": str})
    model = scorecard.train(frame, target="default")
    assert {f.name: f.dtype for f in model.features}["EDUCATION"] == "categorical"
    spoiled = spoil(frame, seed=5, unseen="7")
    assert spoiled["EDUCATION"].eq("7").any() and spoiled["LIMIT_BAL"].isna().any()
    assert_batch_equals_rows(model, spoiled)


def test_columns_of_mostly_distinct_values_are_binned_by_value(german_model: ScorecardModel) -> None:
    rows = 3000
    frame = pd.DataFrame(
        {
            "purpose": [f"purpose {i}" if i % 3 else "car (new)" for i in range(rows)],
            "credit_amount": [str(1000 + i) if i % 2 else 1000 + i for i in range(rows)],
            "credit_history": [
                i if i % 5 else "critical account/ other credits existing (not at this bank)" for i in range(rows)
            ],
        },
        dtype=object,
    )
    assert_batch_equals_rows(german_model, frame)


def handmade() -> ScorecardModel:
    """Three characteristics whose points mostly end in odd hundredths, so scores often end in a half; the first two
    lose the same points (40.25) in their worst bins."""
    amount = Feature(
        "amount",
        "numerical",
        [
            Bin("(-inf, 10)", 30.25, -0.4, upper=10.0),
            Bin("[10, 20.5)", 50.15, 0.1, upper=20.5),
            Bin("[20.5, inf)", 70.5, 0.5),
            Bin("Special", 40.0, 0.0, kind="special"),
            Bin("Missing", 40.15, 0.0, kind="missing"),
        ],
    )
    purpose = Feature(
        "purpose",
        "categorical",
        [
            Bin("car / house", 60.5, 0.3, categories=("car", "house")),
            Bin("1", 40.45, 0.0, categories=("1",)),
            Bin("travel", 20.25, -0.6, categories=("travel",)),
            Bin("Special", 59.95, 0.0, kind="special"),
            Bin("Missing", 40.45, 0.0, kind="missing"),
        ],
    )
    years = Feature(
        "years",
        "numerical",
        [
            Bin("(-inf, 2)", 10.65, -0.2, upper=2.0),
            Bin("[2, inf)", 11.05, 0.0),
            Bin("Special", 11.05, 0.0, kind="special"),
            Bin("Missing", 10.85, 0.0, kind="missing"),
        ],
    )
    return ScorecardModel("handmade", "bad", 600, 50, 20, [amount, purpose, years])


CELLS = st.one_of(
    st.none(),
    st.floats(),
    st.integers(-30, 30),
    st.booleans(),
    st.sampled_from(
        [math.nan, pd.NA, "", 10, 10.0, 20.5, 2, 1.0, 9.999999999999998, "10", " 20.5 ", "nan", "inf", "abc"]
    ),
    st.sampled_from(["car", "house", "1", "travel", "space travel", "Car"]),
)
NUMBERS = st.one_of(st.floats(), st.sampled_from([10.0, 20.5, 2.0, 1.999999, -math.inf, math.inf]))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(CELLS, CELLS, NUMBERS), min_size=1, max_size=25),
    st.sampled_from(["mixed", "numbers", "texts", "python texts"]),
)
def test_batch_scores_equal_row_scores_on_any_values(cells: list[tuple[Any, Any, float]], layout: str) -> None:
    frame = pd.DataFrame(cells, columns=["amount", "purpose", "years"], dtype=object)
    if layout == "numbers":
        frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce")
    elif layout == "texts":  # pandas' default text: pyarrow's when installed
        frame["purpose"] = frame["purpose"].astype("str")
    elif layout == "python texts":
        frame["purpose"] = frame["purpose"].astype(pd.StringDtype("python", na_value=np.nan))
    frame["years"] = frame["years"].astype(float)
    assert_batch_equals_rows(handmade(), frame)


def test_reasons_are_the_biggest_losses_first_and_ties_keep_the_order_of_characteristics() -> None:
    model = handmade()
    row = {"amount": 3, "purpose": "travel", "years": 0}  # amount and purpose both lose 40.25 points
    scored = model.score_frame(pd.DataFrame([row, {**row, "purpose": "car"}]))
    assert scored["reason_1"].tolist() == ["amount", "amount"]
    assert scored.loc[0, "reason_2"] == "purpose" and scored.loc[0, "points_lost_2"] == 40.2  # 40.25 to even
    assert scored[["reason_3", "points_lost_3"]].isna().all().all()  # years loses 0.4 points: no reason
    assert scored[["reason_2", "points_lost_2"]].loc[1].isna().all()
    assert [r["feature"] for r in model.score_row(row)["reasons"]] == ["amount", "purpose"]


def test_batch_scoring_keeps_the_index_and_takes_empty_frames(
    german: pd.DataFrame, german_model: ScorecardModel
) -> None:
    sample = german.sample(5, random_state=0)
    assert german_model.score_frame(sample).index.equals(sample.index)
    empty = german_model.score_frame(german.iloc[:0])
    assert len(empty) == 0 and {"score", "probability_of_default", "reason_3_zh"} <= set(empty.columns)


def test_cli_writes_the_scores_and_reasons_of_score_row(tmp_path: Path, german: pd.DataFrame) -> None:
    runner = CliRunner()
    trained = runner.invoke(
        app, ["scorecard", "train", "--data", str(GERMAN), "--target", "creditability", "--out", str(tmp_path / "m")]
    )
    assert trained.exit_code == 0, trained.output
    spoiled = spoil(german, seed=6)
    spoiled.to_csv(tmp_path / "new.csv", index=False)
    scored = runner.invoke(
        app,
        [
            "scorecard",
            "score",
            "--model",
            str(tmp_path / "m"),
            "--data",
            str(tmp_path / "new.csv"),
            "--out",
            str(tmp_path / "s.csv"),
        ],
    )
    assert scored.exit_code == 0, scored.output
    model = ScorecardModel.load(tmp_path / "m")
    with (tmp_path / "s.csv").open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))
    expected = [["row", "score", "probability_of_default", "reason_1", "reason_2", "reason_3"]]
    for number, row in enumerate(pd.read_csv(tmp_path / "new.csv").to_dict("records"), start=1):
        result = model.score_row(row)
        reasons = [r["en"] for r in result["reasons"]] + [""] * 3
        expected.append([str(number), str(result["score"]), str(result["probability_of_default"]), *reasons[:3]])
    assert written == expected
