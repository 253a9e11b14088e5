"""Batch scoring: rows per second scoring generated applicants with riskdesk's ``ScorecardModel.score_frame`` (score,
PD and the top three reasons, each with characteristic, bin, points lost and English and Chinese text) next to
optbinning's ``Scorecard.score`` (the score only: optbinning has no reason codes) on the same model and data, in one
run.

Both scorecards are trained on the whole German credit data with one binning — optbinning's BinningProcess with at
most ten pre-bins of at least 5 %, which riskdesk uses on request (``binning="optbinning"``; its default is its own
binning) — a LogisticRegression and pdo_odds scaling (600 points at odds 50, 20 points to double the odds), so they
are one model: riskdesk only rounds the points of each bin to hundredths and the score to tenths. What is measured is
scoring, the same work whichever binning found the bins.
The applicants are drawn column by column from the German data (a seeded numpy generator), with 2 % of each column
missing; the text columns once as pandas' ``str`` columns and once as Python objects. Each scorer runs three times,
alternately, after a warm-up on 10,000 rows; the table gives the median.

Run: `make bench` (RISKDESK_BENCH_BATCH_ROWS=1000000 by default; RISKDESK_BENCH_BATCH_PEER_ROWS, default the same,
gives optbinning fewer rows if it is too slow).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "germancredit.csv"
TARGET = "creditability"
MISSING_SHARE = 0.02
REPEATS = 3


def applicants(german: Any, rows: int, seed: int = 0) -> dict[str, Any]:
    """``rows`` applicants, each column resampled on its own from the German data, with some values missing: once
    with the text columns as pandas' ``str`` (held by pyarrow when it is installed, as it is for riskdesk) and once
    as Python objects (pandas 2's default; ``read_csv`` gives each distinct text of a column as one object)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    numbers, texts = {}, {}
    for name in german.columns.drop(TARGET):
        column = [sys.intern(v) if isinstance(v, str) else v for v in german[name]]  # one object per text
        values = np.array(column, dtype=object)[rng.integers(0, len(german), rows)]
        values[rng.random(rows) < MISSING_SHARE] = None
        if german[name].dtype.kind in "biuf":
            numbers[name] = values.astype(np.float64)
        else:
            texts[name] = values
    order = list(german.columns.drop(TARGET))
    as_str = pd.DataFrame({**numbers, **{name: pd.array(values, "str") for name, values in texts.items()}})
    as_objects = pd.DataFrame({**numbers, **{name: pd.Series(values, dtype=object) for name, values in texts.items()}})
    storage = as_str[next(iter(texts))].dtype.storage
    return {f"str ({storage})": as_str[order], "object": as_objects[order]}


def train_both(german: Any) -> tuple[Any, Any]:
    import pandas as pd
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    from riskdesk.scoring import scorecard

    model = scorecard.train(german, target=TARGET, binning="optbinning")  # the peer's binning, so one model
    features = [f.name for f in model.features]
    categorical = [f.name for f in model.features if f.dtype == "categorical"]
    peer = Scorecard(
        binning_process=BinningProcess(
            features, categorical_variables=categorical, min_prebin_size=0.05, max_n_prebins=10
        ),
        estimator=LogisticRegression(max_iter=2000),
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600},
    )
    peer.fit(german[features], pd.Series(scorecard.target_vector(list(german[TARGET]), TARGET)))
    return model, peer


def timed(score: Any, frame: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = score(frame)
    return time.perf_counter() - start, result


def measure(model: Any, peer: Any, frame: Any, peer_rows: int) -> dict[str, Any]:
    import numpy as np
    from scipy.stats import spearmanr

    features = [f.name for f in model.features]
    assert list(frame.columns) == features, "both scorecards score every column of the German data"
    peer_frame = frame.iloc[:peer_rows]
    model.score_frame(frame.iloc[:10_000])
    peer.score(frame.iloc[:10_000])
    ours_seconds, peer_seconds = [], []
    for _ in range(REPEATS):
        seconds, scored = timed(model.score_frame, frame)
        ours_seconds.append(seconds)
        seconds, peer_scores = timed(peer.score, peer_frame)
        peer_seconds.append(seconds)
    ours = scored["score"].to_numpy()[:peer_rows]
    difference = np.abs(ours - peer_scores)
    return {
        "rows": len(frame),
        "peer_rows": peer_rows,
        "ours_seconds": statistics.median(ours_seconds),
        "peer_seconds": statistics.median(peer_seconds),
        "max_difference": float(difference.max()),
        "within_0_2": float((difference <= 0.2).mean()),
        "spearman": float(spearmanr(ours, peer_scores).statistic),
        "with_reasons": float(scored["reason_1"].notna().mean()),
    }


def run() -> dict[str, Any]:
    import pandas as pd

    rows = int(os.environ.get("RISKDESK_BENCH_BATCH_ROWS", "1000000"))
    peer_rows = min(rows, int(os.environ.get("RISKDESK_BENCH_BATCH_PEER_ROWS", str(rows))))
    german = pd.read_csv(DATA)
    model, peer = train_both(german)
    frames = applicants(german, rows)
    return {
        "features": len(model.features),
        "categorical": sum(f.dtype == "categorical" for f in model.features),
        "by_text": {text: measure(model, peer, frame, peer_rows) for text, frame in frames.items()},
    }


def report(result: dict[str, Any]) -> list[str]:
    first = next(iter(result["by_text"].values()))
    lines = [
        "## Batch scoring",
        "",
        f"{first['rows']:,} applicants drawn column by column from the German credit data ({result['features']} "
        f"characteristics, {result['categorical']} of them text; 2 % of every column missing), scored by one model "
        "trained on the German data in riskdesk and in optbinning (the same binning, regression and scaling). "
        "riskdesk gives the score, PD and the top three reasons (characteristic, bin, points lost, English and "
        "Chinese text); optbinning gives the score only — it has no reason codes. Median of three runs, in "
        "one process.",
        "",
        "| text columns | scorer | rows | seconds | rows/s | riskdesk / optbinning (rows/s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for text, r in result["by_text"].items():
        ours_rate, peer_rate = r["rows"] / r["ours_seconds"], r["peer_rows"] / r["peer_seconds"]
        lines += [
            f"| {text} | riskdesk `ScorecardModel.score_frame` | {r['rows']:,} | {r['ours_seconds']:.2f} | "
            f"{ours_rate:,.0f} | **{ours_rate / peer_rate:.1f}×** |",
            f"| {text} | optbinning `Scorecard.score` | {r['peer_rows']:,} | {r['peer_seconds']:.2f} | "
            f"{peer_rate:,.0f} | 1× |",
        ]
    lines += [
        "",
        "The same model? On the rows both scored, riskdesk's score (points per bin rounded to hundredths, "
        "score to tenths) against optbinning's unrounded score:",
        "",
    ]
    for text, r in result["by_text"].items():
        lines.append(
            f"- {text}: differs by at most {r['max_difference']:.3f} points ({r['within_0_2']:.2%} of rows within "
            f"0.2); Spearman rank correlation {r['spearman']:.7f}; {r['with_reasons']:.1%} of rows have a reason."
        )
    return lines


if __name__ == "__main__":
    print("\n".join(report(run())))
