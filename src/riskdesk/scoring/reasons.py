"""Reasons for a probability of default: the features that push it up most, in Chinese and English.

Pure numpy: contributions (rows × features, in log-odds) in, the top three positive ones per row out, then the
sentences a customer or a credit officer reads. A feature whose contribution is zero or negative lowered the risk
or did nothing, so it is never a reason; a row may have fewer than three.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskdesk.scoring.tabular import NUMERIC, FeatureSpec

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

TOP = 3
_EN = "raises the default risk"
_ZH = "推高违约风险"


def top_reasons(contributions: NDArray[np.float64], k: int = TOP) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Per row, the indices of the k largest positive contributions, largest first (−1: no further reason).

    k rounds of argmax, each masking the winner: for a handful of reasons, twice as fast as a partial sort.
    """
    import numpy as np

    rows, width = contributions.shape
    remaining = np.array(contributions, dtype=np.float64, copy=True)
    every_row = np.arange(rows)
    indices = np.full((rows, k), -1, dtype=np.intp)
    strengths = np.zeros((rows, k))
    for rank in range(min(k, width)):
        best = remaining.argmax(axis=1)
        value = remaining[every_row, best]
        positive = value > 0
        indices[positive, rank] = best[positive]
        strengths[positive, rank] = value[positive]
        remaining[every_row, best] = -np.inf
    return indices, strengths


def reason_columns(
    indices: NDArray[np.intp], matrix: NDArray[np.float64], features: list[FeatureSpec]
) -> dict[str, Any]:
    """``reason_1`` (the feature), ``reason_1_en``, ``reason_1_zh`` … per rank, one entry per row ("" for none).

    Each column is a pandas Categorical: a sentence is written once per distinct (feature, value), and each row
    holds a small code — a million rows cost a million codes, not three million strings.
    """
    import numpy as np
    import pandas as pd

    rows = indices.shape[0]
    columns: dict[str, Any] = {}
    for rank in range(indices.shape[1]):
        named = np.zeros(rows, dtype=np.int32)  # 0: no reason at this rank
        said = {"en": np.zeros(rows, dtype=np.int32), "zh": np.zeros(rows, dtype=np.int32)}
        sentences: dict[str, dict[str, int]] = {"en": {"": 0}, "zh": {"": 0}}
        for position, spec in enumerate(features):
            chosen = np.flatnonzero(indices[:, rank] == position)
            if chosen.size == 0:
                continue
            named[chosen] = position + 1
            distinct_codes, distinct = pd.factorize(matrix[chosen, position], use_na_sentinel=False)
            shown = display_values(np.asarray(distinct, dtype=np.float64), spec)
            for language, write in (("en", _english), ("zh", _chinese)):
                known = sentences[language]
                codes = [known.setdefault(write(spec.label(language), v), len(known)) for v in shown]
                said[language][chosen] = np.array(codes, dtype=np.int32)[distinct_codes]
        columns[f"reason_{rank + 1}"] = pd.Categorical.from_codes(named, ["", *(f.name for f in features)])
        for language in ("en", "zh"):
            columns[f"reason_{rank + 1}_{language}"] = pd.Categorical.from_codes(
                said[language], list(sentences[language])
            )
    return columns


def _english(name: str, shown: str) -> str:
    return f"{name} is {shown}: {_EN}" if shown else f"{name} is missing: {_EN}"


def _chinese(name: str, shown: str) -> str:
    return f"{name} 为 {shown}，{_ZH}" if shown else f"{name} 缺失，{_ZH}"


def display_values(values: NDArray[np.float64], spec: FeatureSpec) -> NDArray[np.object_]:
    """Values as a person reads them: the category's name, or the number (thousands separated); "" when missing."""
    import numpy as np

    unique, inverse = np.unique(values, return_inverse=True)  # NaN sorts last
    shown = np.empty(len(unique), dtype=object)
    for position, value in enumerate(unique.tolist()):
        if np.isnan(value):
            shown[position] = ""
        elif spec.kind != NUMERIC:
            shown[position] = spec.categories[int(value)]
        elif float(value).is_integer() and abs(value) < 1e15:
            shown[position] = f"{value:,.0f}"
        else:
            shown[position] = f"{value:,.4g}"
    result: NDArray[np.object_] = shown[inverse.reshape(-1)]
    return result
