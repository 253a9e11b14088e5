"""Reasons from exact TreeSHAP lookup tables: the same contributions and top-3 reasons as LightGBM's pred_contrib."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskdesk.scoring import gbm
from riskdesk.scoring.reasons import display_values, reason_columns, top_reasons
from riskdesk.scoring.tabular import FeatureSpec, feature_matrix, infer_features, target_labels
from riskdesk.scoring.tree_shap import TreesTooLarge, build_tables

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def german() -> tuple[Any, Any, list[FeatureSpec]]:
    frame = pd.read_csv(DATA / "germancredit.csv")
    labels, _ = target_labels(frame, "creditability")
    features, _ = infer_features(frame, target="creditability")
    matrix = feature_matrix(frame, features)
    holes = np.random.default_rng(0).random(matrix.shape) < 0.1  # missing values in numbers and categories
    matrix[holes] = np.nan
    return matrix, labels, features


@pytest.mark.parametrize(
    "missing_values",
    [{}, {"zero_as_missing": True}, {"use_missing": False}],
    ids=["missing-learned", "zero-as-missing", "missing-read-as-zero"],
)
def test_tables_give_pred_contrib_exactly_with_categories_and_missing_values(
    german: tuple[Any, Any, list[FeatureSpec]], missing_values: dict[str, bool]
) -> None:
    import lightgbm

    matrix, labels, features = german
    categorical = [i for i, f in enumerate(features) if f.kind == "categorical"]
    params = {**gbm.PARAMETERS, **missing_values}
    booster = lightgbm.train(params, lightgbm.Dataset(matrix, labels, categorical_feature=categorical), 60)
    tables = build_tables(booster.dump_model())
    rows = matrix[::3].copy()
    rows[::7, 0] = 99  # a category the model never saw
    rows[1::7, 1] = 0.0  # zeros, which zero_as_missing treats as missing
    exact = booster.predict(rows, pred_contrib=True)
    mine = tables.contributions(rows, threads=2)
    assert np.abs(mine - exact[:, :-1]).max() < 1e-9
    assert tables.expected_value == pytest.approx(exact[0, -1], abs=1e-9)
    assert np.allclose(mine.sum(axis=1) + tables.expected_value, booster.predict(rows, raw_score=True), atol=1e-9)
    assert (top_reasons(mine)[0] == top_reasons(exact[:, :-1])[0]).all()


def test_a_trained_model_explains_each_probability_by_its_contributions(
    german: tuple[Any, Any, list[FeatureSpec]],
) -> None:
    matrix, labels, features = german
    model = gbm.train(matrix, labels, features)
    probability, contributions = model.explain(matrix)
    assert np.allclose(probability, model.probability(matrix))
    raw = model.booster.predict(matrix, raw_score=True)
    assert np.allclose(contributions.sum(axis=1) + model.tables.expected_value, raw)


def test_trees_larger_than_the_tables_cover_are_refused(german: tuple[Any, Any, list[FeatureSpec]]) -> None:
    import lightgbm

    matrix, labels, _ = german
    booster = lightgbm.train(
        {"objective": "binary", "verbosity": -1, "num_leaves": 31}, lightgbm.Dataset(matrix, labels), 3
    )
    with pytest.raises(TreesTooLarge, match="splits"):
        build_tables(booster.dump_model())


def test_reasons_are_the_largest_positive_contributions_largest_first() -> None:
    contributions = np.array([[0.1, -0.5, 0.7, 0.3, 0.2], [-0.1, -0.2, 0.05, 0.0, -0.3]])
    indices, strengths = top_reasons(contributions)
    assert indices.tolist() == [[2, 3, 4], [2, -1, -1]]  # what lowers the risk, or does nothing, is no reason
    assert strengths[0].tolist() == [0.7, 0.3, 0.2]


def test_reason_sentences_name_the_value_in_english_and_chinese() -> None:
    features = [FeatureSpec("purpose", "categorical", ("car", "education")), FeatureSpec("credit_amount", "numeric")]
    matrix = np.array([[1.0, 12500.0], [np.nan, np.nan]])
    indices = np.array([[1, 0, -1], [0, 1, -1]])
    columns = reason_columns(indices, matrix, features)
    assert columns["reason_1"].tolist() == ["credit_amount", "purpose"]
    assert columns["reason_1_en"][0] == "credit_amount is 12,500: raises the default risk"
    assert columns["reason_2_zh"][0] == "purpose 为 education，推高违约风险"
    assert columns["reason_1_en"][1] == "purpose is missing: raises the default risk"
    assert columns["reason_2_zh"][1] == "credit_amount 缺失，推高违约风险"
    assert columns["reason_3"].tolist() == ["", ""]
    assert display_values(np.array([0.125, 3.0]), features[1]).tolist() == ["0.125", "3"]


def test_trees_looked_up_one_by_one_or_with_many_categories_give_the_same_exact_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lightgbm

    from riskdesk.scoring import tree_shap

    rng = np.random.default_rng(1)
    city = rng.integers(0, 90, 3000).astype(float)  # 90 categories: past the 64 a bitmask holds
    amount = rng.normal(size=3000)
    labels = ((city % 7 < 2) ^ (amount > 0.8)).astype(int)
    matrix = np.column_stack([city, amount])
    params = {**gbm.PARAMETERS, "max_cat_threshold": 64, "min_data_per_group": 5, "cat_smooth": 1.0}
    booster = lightgbm.train(params, lightgbm.Dataset(matrix, labels, categorical_feature=[0]), 40)
    exact = booster.predict(matrix, pred_contrib=True)[:, :-1]
    monkeypatch.setattr(tree_shap, "GROUP_BUDGET_BYTES", 0)
    tables = build_tables(booster.dump_model())
    assert all(len(group.trees) == 1 for group in tables.groups)
    assert max(tables.category_widths.values()) > 64
    assert np.abs(tables.contributions(matrix) - exact).max() < 1e-9
