"""toad's scorecard (chi-merge binning, WoE, ScoreCard) on the same 5 folds as bench_scorecard.py. Runs in the
peers' virtual environment: `python toad_scorecard.py DATA.csv TARGET` prints mean AUC and seconds as JSON."""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
import toad
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold


def main(path: str, target: str) -> None:
    frame = pd.read_csv(path)
    labels = frame.pop(target).astype(str).str.lower()
    y = labels.isin(["bad", "1", "true", "yes"]).astype(int)
    aucs, seconds = [], 0.0
    for train_index, test_index in StratifiedKFold(5, shuffle=True, random_state=0).split(frame, y):
        train, test = frame.iloc[train_index], frame.iloc[test_index]
        start = time.perf_counter()
        combiner = toad.transform.Combiner()
        combiner.fit(train, y.iloc[train_index], method="chi", min_samples=0.05)
        transer = toad.transform.WOETransformer()
        woe = transer.fit_transform(combiner.transform(train), y.iloc[train_index])
        card = toad.scorecard.ScoreCard(combiner=combiner, transer=transer)
        card.fit(woe, y.iloc[train_index])
        scores = card.predict(test)
        seconds += time.perf_counter() - start
        aucs.append(roc_auc_score(y.iloc[test_index], -scores))  # higher points = better credit
    print(json.dumps({"auc": sum(aucs) / len(aucs), "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
