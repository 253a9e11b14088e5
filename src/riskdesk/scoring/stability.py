"""Population stability: is the population a model scores today still the one it learned from? Pure.

At training the model keeps a *population profile*: for the PD and for each feature, the bins of the training rows
(deciles for numbers — edges at the reference's quantiles, missing values in a bin of their own — and categories
for text) with the share of rows in each. Later, the rows scored are put into the same bins and compared:

    PSI = Σ (actual − expected) × ln(actual / expected)   over the bins (shares floored at 0.0001)

The PSI of the PD is the population stability index, that of a feature its characteristic stability index (CSI).
Reading, as is usual in credit practice: below 0.1 stable, 0.1–0.25 a shift to watch, above 0.25 a shift that
needs the model reviewed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

FLOOR = 1e-4
WATCH, REVIEW = 0.10, 0.25


def numeric_profile(values: NDArray[np.float64], bins: int = 10) -> dict[str, Any]:
    import numpy as np

    present = values[~np.isnan(values)]
    edges = (
        sorted(set(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]).round(10).tolist())) if len(present) else []
    )
    return {"kind": "numeric", "edges": edges, "shares": _numeric_shares(values, edges)}


def _numeric_shares(values: NDArray[np.float64], edges: list[float]) -> list[float]:
    """Shares of the bins (−∞, e1), [e1, e2) … [ek, ∞) and, last, missing."""
    import numpy as np

    if len(values) == 0:
        return [0.0] * (len(edges) + 2)
    missing = np.isnan(values)
    positions = np.searchsorted(np.array(edges, dtype=np.float64), values[~missing], side="right")
    counts = [*np.bincount(positions, minlength=len(edges) + 1).tolist(), int(missing.sum())]
    return [count / len(values) for count in counts]


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    shares = values.fillna("(missing)").astype(str).value_counts(normalize=True)
    return {"kind": "categorical", "categories": {str(k): float(v) for k, v in shares.items()}}


def profile(
    frame: pd.DataFrame, probabilities: NDArray[np.float64], numeric: list[str], text: list[str]
) -> dict[str, Any]:
    """The population profile a model keeps from its training rows."""
    return {
        "rows": len(frame),
        "probability_of_default": numeric_profile(probabilities),
        "features": {
            **{name: numeric_profile(frame[name].to_numpy(dtype=float, na_value=math.nan)) for name in numeric},
            **{name: categorical_profile(frame[name]) for name in text},
        },
    }


def psi(expected: list[float], actual: list[float]) -> float:
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, FLOOR), max(a, FLOOR)
        total += (a - e) * math.log(a / e)
    return round(total, 4)


def shift(reference: dict[str, Any], values: Any) -> float:
    """The PSI of ``values`` (an array of numbers, or a pandas Series of text) against a reference profile."""
    if reference["kind"] == "numeric":
        import numpy as np

        actual = _numeric_shares(np.asarray(values, dtype=np.float64), reference["edges"])
        return psi(reference["shares"], actual)
    shares = values.fillna("(missing)").astype(str).value_counts(normalize=True)
    categories = sorted(set(reference["categories"]) | set(map(str, shares.index)))
    return psi(
        [reference["categories"].get(c, 0.0) for c in categories], [float(shares.get(c, 0.0)) for c in categories]
    )


def reading(value: float) -> str:
    return "review" if value > REVIEW else "watch" if value > WATCH else "stable"


def compare(population: dict[str, Any], frame: pd.DataFrame, probabilities: NDArray[np.float64]) -> dict[str, Any]:
    """PSI of the PD and CSI of every profiled feature present in ``frame``, each with its reading."""
    score = shift(population["probability_of_default"], probabilities)
    features = {
        name: shift(
            reference,
            frame[name] if reference["kind"] == "categorical" else frame[name].to_numpy(dtype=float, na_value=math.nan),
        )
        for name, reference in population["features"].items()
        if name in frame.columns
    }
    return {
        "rows": len(frame),
        "psi": score,
        "psi_reading": reading(score),
        "csi": dict(sorted(features.items(), key=lambda item: -item[1])),
        "review_needed": score > REVIEW or any(v > REVIEW for v in features.values()),
    }
