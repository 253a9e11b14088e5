"""How a PD model is validated: which rows it learns from and which it is judged on, columns that give the answer
away, and the measures a credit committee reads (AUC, Gini, KS, Brier, log loss, calibration by decile).

With a time column the validation is out of time: the model learns from the earliest three quarters of the rows and
is judged on the latest quarter, never the other way round; rows sharing the boundary's time all go to the learning
side, so every validation row is strictly later than every training row. Without one it is five-fold
cross-validation, stratified by the target: every row is judged once by a model that did not learn from it, so
the figures rest on all the rows, not on a quarter of them (on a thousand rows a quarter's AUC varies by ±0.03,
which is more than the difference between the models auto chooses from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riskdesk.errors import ErrorDetail, ValidationFailed
from riskdesk.scoring import scorecard
from riskdesk.scoring.tabular import CATEGORICAL, FeatureSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

LEAK_AUC = 0.999  # one column alone ranking goods and bads this well is the answer, not a characteristic
MIN_ROWS_PER_CLASS = 10


FOLDS = 5


@dataclass(frozen=True)
class RowSplit:
    fit: NDArray[np.intp]  # rows to learn from
    validation: NDArray[np.intp]  # rows to judge on
    method: str  # out-of-time | stratified
    fit_until: float | None = None  # out of time: the latest time learned from …
    validation_from: float | None = None  # … and the earliest judged on (strictly later)


def out_of_time_split(labels: NDArray[np.int8], times: NDArray[np.float64], *, share: float = 0.25) -> RowSplit:
    """Learn from the earliest rows, keep the latest ``share`` back; no validation row is as early as a learning row."""
    import numpy as np

    n = len(labels)
    order = np.argsort(times, kind="stable")
    cut = round(n * (1 - share))
    while 0 < cut < n and times[order[cut]] == times[order[cut - 1]]:
        cut += 1  # the boundary's time goes wholly to the learning side
    if cut >= n:
        raise ValidationFailed("out-of-time validation needs later rows, but the latest rows all share one time")
    split = RowSplit(
        np.sort(order[:cut]),
        np.sort(order[cut:]),
        "out-of-time",
        fit_until=float(times[order[cut - 1]]),
        validation_from=float(times[order[cut]]),
    )
    for part, rows in (("earlier (learning)", split.fit), ("later (validation)", split.validation)):
        bads = int(labels[rows].sum())
        if min(bads, len(rows) - bads) < MIN_ROWS_PER_CLASS:
            raise ValidationFailed(
                f"the {part} part has {bads} bads and {len(rows) - bads} goods; each needs at least "
                f"{MIN_ROWS_PER_CLASS} (give more labelled rows or a longer history)"
            )
    return split


@dataclass(frozen=True)
class ValidationPlan:
    folds: list[RowSplit]
    method: str  # out-of-time | 5-fold cross-validation

    def describe(self) -> dict[str, Any]:
        checked = sum(len(f.validation) for f in self.folds)
        described: dict[str, Any] = {"method": self.method, "validation_rows": checked}
        if self.method == "out-of-time":
            described["fit_rows"] = len(self.folds[0].fit)
        return described


def validation_plan(labels: NDArray[np.int8], *, times: NDArray[np.float64] | None = None) -> ValidationPlan:
    """Out of time with ``times`` (the latest quarter), else stratified five-fold cross-validation."""
    if times is not None:
        return ValidationPlan([out_of_time_split(labels, times)], "out-of-time")
    return ValidationPlan(stratified_folds(labels, FOLDS), f"{FOLDS}-fold cross-validation")


def stratified_folds(labels: NDArray[np.int8], folds: int, seed: int = 0) -> list[RowSplit]:
    from sklearn.model_selection import StratifiedKFold

    bads = int(labels.sum())
    if min(bads, len(labels) - bads) < max(MIN_ROWS_PER_CLASS, folds):
        raise ValidationFailed(
            f"{bads} bads and {len(labels) - bads} goods: each needs at least {max(MIN_ROWS_PER_CLASS, folds)}"
        )
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return [RowSplit(fit, held, "stratified") for fit, held in splitter.split(labels, labels)]


def parse_times(series: pd.Series, column: str) -> NDArray[np.float64]:
    """Numbers as they are; dates and timestamps as seconds since 1970 (UTC). Missing or unreadable: an error."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(values)
    else:
        stamps = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
        bad = stamps.isna().to_numpy()
        values = (stamps.dt.tz_convert(None) - pd.Timestamp(0)).dt.total_seconds().to_numpy(na_value=np.nan)
    if bad.any():
        example = series[bad].iloc[0]
        raise ValidationFailed(
            f"time column {column!r}: {int(bad.sum())} rows are missing or not a date or number (e.g. {example!r})"
        )
    return np.asarray(values, dtype=np.float64)


def find_leaks(
    matrix: NDArray[np.float64], labels: NDArray[np.int8], features: list[FeatureSpec], *, threshold: float = LEAK_AUC
) -> list[tuple[str, float]]:
    """Columns that separate goods from bads (nearly) perfectly on their own, with that AUC, worst first.

    Numbers are ranked as they are, with missing values placed first and then last (the better of the two counts);
    categories by their bad rate in the other half of the rows, so that a column of rare codes cannot look
    perfect merely by memorising its own rows.
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score

    leaks = []
    for position, spec in enumerate(features):
        column = matrix[:, position]
        if spec.kind == CATEGORICAL:
            candidates = [_cross_fitted_rate(column, labels)]
        else:
            low, high = np.nanmin(column, initial=0.0), np.nanmax(column, initial=0.0)
            candidates = [np.where(np.isnan(column), fill, column) for fill in (low - 1, high + 1)]
        auc = max(max(a, 1 - a) for a in (float(roc_auc_score(labels, c)) for c in candidates))
        if auc >= threshold:
            leaks.append((spec.name, round(auc, 4)))
    return sorted(leaks, key=lambda item: -item[1])


def leak_error(leaks: list[tuple[str, float]]) -> ValidationFailed:
    names = ", ".join(name for name, _ in leaks)
    return ValidationFailed(
        f"{names} on {'its' if len(leaks) == 1 else 'their'} own separate goods from bads almost perfectly: "
        "a column recorded after the outcome leaks the target. Remove it from the file, leave it out with "
        "--id-column, or train anyway with --allow-leaks",
        details=[ErrorDetail(name, f"AUC {auc} on its own") for name, auc in leaks],
    )


def evaluate(labels: NDArray[np.int8], probabilities: NDArray[np.float64]) -> dict[str, Any]:
    """AUC, Gini, KS, Brier, log loss, n, bad rate, and observed against predicted by decile of PD."""
    import numpy as np

    metrics = scorecard.evaluate([int(v) for v in labels], [float(p) for p in probabilities])
    order = np.argsort(probabilities, kind="stable")
    deciles = []
    for number, rows in enumerate(np.array_split(order, 10), start=1):
        if len(rows) == 0:
            continue
        predicted = probabilities[rows]
        deciles.append(
            {
                "decile": number,
                "n": len(rows),
                "pd_min": round(float(predicted.min()), 6),
                "pd_max": round(float(predicted.max()), 6),
                "mean_pd": round(float(predicted.mean()), 6),
                "bad_rate": round(float(labels[rows].mean()), 6),
                "bads": int(labels[rows].sum()),
            }
        )
    metrics["mean_pd"] = round(float(probabilities.mean()), 6)
    metrics["calibration"] = deciles
    return metrics


def _cross_fitted_rate(codes: NDArray[np.float64], labels: NDArray[np.int8]) -> NDArray[np.float64]:
    import numpy as np

    rows = np.arange(len(codes))
    halves = (rows % 2 == 0, rows % 2 == 1)
    keys = np.where(np.isnan(codes), -1, codes).astype(np.int64)
    rates = np.empty(len(codes))
    overall = float(labels.mean())
    for target_half, source_half in (halves, halves[::-1]):
        seen = keys[source_half]
        width = int(keys.max()) + 2
        bads = np.bincount(seen + 1, weights=labels[source_half], minlength=width)
        counts = np.bincount(seen + 1, minlength=width)
        rate = np.where(counts > 0, bads / np.maximum(counts, 1), overall)
        rates[target_half] = rate[keys[target_half] + 1]
    return rates
