"""toad's scorecard (chi-merge binning, WoE, ScoreCard) on the same 5 folds as bench_scorecard.py. Runs in the
peers' virtual environment: `python toad_scorecard.py DATA.csv TARGET [REPEATS] [SEEDS]` runs the five folds REPEATS
times (default 1) and prints as JSON the mean AUC and the median seconds of training and scoring over the five
folds, and of training alone; with SEEDS, instead, the mean AUC of the five folds drawn with each seed 0..SEEDS-1."""

from __future__ import annotations

import json
import statistics
import sys
import time

import pandas as pd
import toad
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold


def main(path: str, target: str, repeats: int, seeds: int) -> None:
    frame = pd.read_csv(path)
    labels = frame.pop(target).astype(str).str.lower()
    y = labels.isin(["bad", "1", "true", "yes"]).astype(int)
    if seeds:  # repeated cross-validation: the mean AUC of the five folds drawn with each seed
        print(json.dumps({"aucs": [five_folds(frame, y, seed)[0] for seed in range(seeds)]}))
        return
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(frame, y))
    runs = []
    for _ in range(repeats):
        aucs, seconds, training = [], 0.0, 0.0
        for train_index, test_index in folds:
            train, test = frame.iloc[train_index], frame.iloc[test_index]
            start = time.perf_counter()
            card = fit(train, y.iloc[train_index])
            trained = time.perf_counter()
            scores = card.predict(test)
            seconds += time.perf_counter() - start
            training += trained - start
            aucs.append(roc_auc_score(y.iloc[test_index], -scores))  # higher points = better credit
        runs.append({"auc": sum(aucs) / len(aucs), "seconds": seconds, "train_seconds": training})
    print(
        json.dumps(
            {
                "auc": runs[0]["auc"],
                "seconds": statistics.median(r["seconds"] for r in runs),
                "train_seconds": statistics.median(r["train_seconds"] for r in runs),
            }
        )
    )


def fit(train: pd.DataFrame, labels: pd.Series) -> toad.scorecard.ScoreCard:
    """Chi-merge bins of at least 5 %, WoE, and the scorecard's regression."""
    combiner = toad.transform.Combiner()
    combiner.fit(train, labels, method="chi", min_samples=0.05)
    transer = toad.transform.WOETransformer()
    woe = transer.fit_transform(combiner.transform(train), labels)
    card = toad.scorecard.ScoreCard(combiner=combiner, transer=transer)
    card.fit(woe, labels)
    return card


def five_folds(frame: pd.DataFrame, y: pd.Series, seed: int) -> tuple[float, None]:
    aucs = []
    for train_index, test_index in StratifiedKFold(5, shuffle=True, random_state=seed).split(frame, y):
        card = fit(frame.iloc[train_index], y.iloc[train_index])
        aucs.append(roc_auc_score(y.iloc[test_index], -card.predict(frame.iloc[test_index])))
    return sum(aucs) / len(aucs), None


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(
        arguments[0],
        arguments[1],
        int(arguments[2]) if len(arguments) > 2 else 1,
        int(arguments[3]) if len(arguments) > 3 else 0,
    )
