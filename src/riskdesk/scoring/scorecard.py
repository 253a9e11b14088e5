"""A points scorecard trained on labelled data: optimal binning (riskdesk's own, binning.py — monotonic, or with one
turn where the rows show it; special and missing values in bins of their own — or optbinning's on request), WoE,
logistic regression, points scaled by base score, base odds and points to double the odds, and reason codes for
every score.

The trained model is a readable table (feature, bin, WoE, points) saved as JSON — never a pickle — so scoring
needs neither optbinning nor scikit-learn, and a credit officer can read what each answer is worth.

Points: with logit(P(bad)) = b0 + Σ bj·WoEj from the regression, factor = PDO / ln 2 and
offset = base score − factor·ln(base odds), the points of bin i of feature j are
−factor·(bj·WoEij + b0/n) + offset/n; the score is the sum and PD = 1 / (1 + exp((score − offset) / factor)).

``score_row`` scores one row; ``score_frame`` scores a pandas DataFrame with numpy, column by column, and gives the
same numbers and reasons for every row (tests/unit/test_scorecard_batch.py checks it row for row).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskdesk.errors import ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

TARGET_VALUES = {"1": 1, "0": 0, "true": 1, "false": 0, "bad": 1, "good": 0, "yes": 1, "no": 0}
REASONS_PER_SCORE = 3
REASON_MIN_POINTS_LOST = 0.5  # a characteristic less than half a point below its best is no reason


def _is_missing(value: Any) -> bool:
    """None, NaN, NaT, pandas' NA and the empty cell: everything pandas counts as missing, plus ``""``."""
    try:
        return value is None or bool(value != value) or value == ""
    except TypeError:  # pandas.NA refuses to be a truth value; it is missing by definition
        return True


@dataclass(frozen=True)
class Bin:
    label: str
    points: float
    woe: float
    upper: float | None = None  # numerical: this bin holds values below ``upper`` (the last: None)
    categories: tuple[str, ...] = ()  # categorical: the categories in this bin
    kind: str = "regular"  # regular | missing | special


@dataclass
class Feature:
    name: str
    dtype: str  # numerical | categorical
    bins: list[Bin]
    label_en: str = ""  # how reasons name it ("": the column's name)
    label_zh: str = ""

    def bin_index(self, value: Any) -> int:
        """Where ``value`` falls in ``bins``: a missing value or a number that is not one in the missing bin, a
        number in the first bin whose ``upper`` it is below, an unknown category in the special bin."""
        kinds = [b.kind for b in self.bins]
        if _is_missing(value):
            return kinds.index("missing")
        regular = [i for i, kind in enumerate(kinds) if kind == "regular"]
        if self.dtype == "numerical":
            try:
                number = float(value)
            except (TypeError, ValueError):
                return kinds.index("missing")
            return next((i for i in regular if (upper := self.bins[i].upper) is None or number < upper), regular[-1])
        text = str(value)
        return next((i for i in regular if text in self.bins[i].categories), kinds.index("special"))

    def bin_for(self, value: Any) -> Bin:
        return self.bins[self.bin_index(value)]

    @property
    def best_points(self) -> float:
        return max(b.points for b in self.bins if b.kind == "regular")


@dataclass
class ScorecardModel:
    version: str
    target: str
    base_score: float
    base_odds: float
    points_to_double_odds: float
    features: list[Feature]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def factor(self) -> float:
        return self.points_to_double_odds / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def probability_of_default(self, score: float) -> float:
        return 1 / (1 + math.exp((score - self.offset) / self.factor))

    def score_row(self, row: dict[str, Any]) -> dict[str, Any]:
        chosen = [(feature, feature.bin_for(row.get(feature.name))) for feature in self.features]
        # Added one by one in feature order, not with sum() (compensated from Python 3.12 on): score_frame adds the
        # same floats column by column in the same order, so both round to the same tenth.
        score = 0.0
        for _, chosen_bin in chosen:
            score += chosen_bin.points
        lost = sorted(
            ((f.best_points - b.points, f, b) for f, b in chosen if f.best_points - b.points > REASON_MIN_POINTS_LOST),
            key=lambda item: -item[0],
        )
        return {
            "score": round(score, 1),
            "probability_of_default": round(self.probability_of_default(score), 6),
            "reasons": [_reason(f, b, loss) for loss, f, b in lost[:REASONS_PER_SCORE]],
        }

    def score_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``score_row`` for every row of ``frame`` at once, with the same numbers: ``score``,
        ``probability_of_default`` and, for k = 1 to 3, the characteristic that cost the k-th most points
        (``reason_k``), its bin (``reason_k_bin``), ``points_lost_k`` and the reason in words (``reason_k_en``,
        ``reason_k_zh``) — empty (NaN) where a row has fewer reasons. The reasons are categoricals over the model's
        (characteristic, bin) table, so their texts cost no more than a small integer a row. The index is
        ``frame``'s."""
        import numpy as np
        import pandas as pd

        rows = len(frame)
        table = _ReasonTable.of(self.features)
        score = np.zeros(rows)
        top = [np.full(rows, table.none, dtype=table.rank_dtype) for _ in range(REASONS_PER_SCORE)]
        for feature, bin_ranks in zip(self.features, table.ranks, strict=True):
            column = frame[feature.name] if feature.name in frame.columns else None
            codes, bin_of_code = _bin_codes(feature, column, rows)
            points = np.array([b.points for b in feature.bins])[bin_of_code]
            score += points[codes]
            _keep_smallest(top, np.array(bin_ranks, dtype=table.rank_dtype)[bin_of_code][codes])
        probability = 1 / (1 + np.exp((score - self.offset) / self.factor))
        columns: dict[str, Any] = {
            "score": _round_as_python(score, 1, score, lambda s: round(s, 1)),
            "probability_of_default": _round_as_python(
                probability, 6, score, lambda s: round(self.probability_of_default(s), 6)
            ),
        }
        for k, ranks in enumerate(top, start=1):
            columns[f"reason_{k}"] = table.categorical("feature", ranks)
            columns[f"reason_{k}_bin"] = table.categorical("bin", ranks)
            columns[f"points_lost_{k}"] = table.points_lost[ranks]
            columns[f"reason_{k}_en"] = table.categorical("en", ranks)
            columns[f"reason_{k}_zh"] = table.categorical("zh", ranks)
        return pd.DataFrame(columns, index=frame.index)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "scorecard.json"
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: Path) -> ScorecardModel:
        path = folder / "scorecard.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            features = [
                Feature(
                    f["name"],
                    f["dtype"],
                    [Bin(**{**b, "categories": tuple(b["categories"])}) for b in f["bins"]],
                    f.get("label_en", ""),
                    f.get("label_zh", ""),
                )
                for f in data.pop("features")
            ]
            return cls(features=features, **data)
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValidationFailed(f"{path} is not a riskdesk scorecard: {exc}") from None


def _reason(feature: Feature, chosen: Bin, points_lost: float) -> dict[str, Any]:
    english = feature.label_en or feature.name
    chinese = feature.label_zh or english
    return {
        "feature": feature.name,
        "bin": chosen.label,
        "points_lost": round(points_lost, 1),
        "en": f"{english} is {chosen.label}: {points_lost:.0f} points below its best",
        "zh": f"{chinese} 为 {chosen.label}，比最佳少 {points_lost:.0f} 分",
    }


@dataclass(frozen=True)
class _ReasonTable:
    """Every (characteristic, bin) that can be a reason, ranked as ``score_row`` orders reasons: most points lost
    first, ties in the order of the characteristics. A row's reasons are then its three smallest ranks."""

    reasons: list[dict[str, Any]]
    ranks: list[list[int]]  # per feature, per bin: its rank, or ``none`` when the bin is no reason
    rank_dtype: type[np.unsignedinteger[Any]]
    points_lost: NDArray[np.float64]  # per rank, NaN at ``none``

    @property
    def none(self) -> int:
        return len(self.reasons)

    @classmethod
    def of(cls, features: list[Feature]) -> _ReasonTable:
        import numpy as np

        candidates = sorted(
            (-(f.best_points - b.points), j, i)
            for j, f in enumerate(features)
            for i, b in enumerate(f.bins)
            if f.best_points - b.points > REASON_MIN_POINTS_LOST
        )
        ranks = [[len(candidates)] * len(f.bins) for f in features]
        for rank, (_, j, i) in enumerate(candidates):
            ranks[j][i] = rank
        reasons = [_reason(features[j], features[j].bins[i], -negative) for negative, j, i in candidates]
        dtype = next(t for t in (np.uint8, np.uint16, np.uint32) if len(candidates) <= np.iinfo(t).max)
        lost = np.array([r["points_lost"] for r in reasons] + [math.nan])
        return cls(reasons, ranks, dtype, lost)

    def categorical(self, key: str, ranks: NDArray[np.unsignedinteger[Any]]) -> pd.Categorical:
        import numpy as np
        import pandas as pd

        categories = list(dict.fromkeys(r[key] for r in self.reasons))
        position = {category: code for code, category in enumerate(categories)}
        # The smallest integer type pandas would choose for the codes itself, which spares it a copy.
        dtype = next(t for t in (np.int8, np.int16, np.int32, np.int64) if len(categories) < np.iinfo(t).max)
        codes = np.array([position[r[key]] for r in self.reasons] + [-1], dtype=dtype)
        return pd.Categorical.from_codes(codes[ranks], categories=categories, validate=False)


def _bin_codes(
    feature: Feature, column: pd.Series | None, rows: int
) -> tuple[NDArray[np.signedinteger[Any]], NDArray[np.intp]]:
    """Bins of a whole column, as ``bin_index`` finds them one by one: a code per row and, per code, the position of
    the bin in ``feature.bins``. Code -1 (missing) picks the last position, which is always the missing bin."""
    import numpy as np
    import pandas as pd

    missing = [b.kind for b in feature.bins].index("missing")
    if column is None:
        return np.full(rows, -1, dtype=np.int8), np.array([missing], dtype=np.intp)
    if feature.dtype == "numerical" and column.dtype.kind in "biuf":
        regular = [i for i, b in enumerate(feature.bins) if b.kind == "regular"]
        uppers = [feature.bins[i].upper for i in regular]
        # A value's bin is the first whose upper it is below. With a running maximum the uppers are sorted, and that
        # bin is the count of uppers at or below the value — never past a bin without an upper, or past the last.
        last = uppers.index(None) if None in uppers else len(regular) - 1
        bounds = np.maximum.accumulate([math.inf if upper is None else upper for upper in uppers])[:last]
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        codes: NDArray[Any] = np.zeros(rows, dtype=np.int8 if len(regular) < 127 else np.intp)
        for bound in bounds:  # a few comparisons of the whole column beat a binary search per value
            codes += values >= bound
        codes[np.isnan(values)] = -1
        return codes, np.array([*regular, missing], dtype=np.intp)
    if isinstance(column.dtype, pd.CategoricalDtype):
        values, codes = column.cat.categories, column.cat.codes.to_numpy()
    elif column.dtype == object or getattr(column.dtype, "storage", None) == "python":
        objects = np.ascontiguousarray(column.to_numpy(dtype=object))  # the column's own objects, not copies
        codes, values = _factorize_objects(objects, exact_text=feature.dtype == "categorical")
    else:  # text held by pyarrow, dates and the like: pandas factorises them without making Python objects
        codes, values = pd.factorize(column)  # pandas' missing markers get -1, binned as missing
    return codes, np.array([*(feature.bin_index(value) for value in values), missing], dtype=np.intp)


def _factorize_objects(
    objects: NDArray[np.object_], *, exact_text: bool
) -> tuple[NDArray[np.signedinteger[Any]], Iterable[Any]]:
    """Codes and distinct values of an array of Python objects, as ``pandas.factorize`` gives them — but with
    ``exact_text`` value by value where pandas would hold unlike texts equal (1, 1.0 and True)."""
    import numpy as np
    import pandas as pd

    codes, values = pd.factorize(objects)  # pandas' missing markers get -1, binned as missing
    if exact_text and any(type(value) is not str for value in values):
        cache: dict[tuple[type, str], int] = {}
        codes = np.array([cache.setdefault((type(value), str(value)), len(cache)) for value in objects])
        values = objects[np.unique(codes, return_index=True)[1]]
    return codes, values


def _keep_smallest(top: list[NDArray[np.unsignedinteger[Any]]], ranks: NDArray[np.unsignedinteger[Any]]) -> None:
    """Insert ``ranks`` into the per-row sorted smallest ranks ``top`` (smallest first), in place."""
    import numpy as np

    for slot in top[:-1]:
        larger = np.maximum(slot, ranks)
        np.minimum(slot, ranks, out=slot)
        ranks = larger
    np.minimum(top[-1], ranks, out=top[-1])


def _round_as_python(
    approximate: NDArray[np.float64], digits: int, source: NDArray[np.float64], exact: Callable[[float], float]
) -> NDArray[np.float64]:
    """``round(x, digits)`` as Python rounds ``x``. numpy's multiply-and-rint agrees except within a hair of a half
    (0.15 is stored as 0.1499…, which Python rounds down and rint(1.5) up), and scores, sums of points in
    hundredths, often end in a half; those rows get ``exact`` of their ``source`` value, once per distinct value."""
    import numpy as np

    scale = 10.0**digits
    scaled = approximate * scale
    rounded: NDArray[np.float64] = np.rint(scaled) / scale
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    if near_half.any():
        distinct, inverse = np.unique(source[near_half], return_inverse=True)
        rounded[near_half] = np.array([exact(float(value)) for value in distinct])[inverse]
    return rounded


def target_vector(values: list[Any], target: str) -> list[int]:
    """0/1, true/false, good/bad (bad = 1), yes/no; anything else is a clear error naming it."""
    result, unknown = [], set()
    for value in values:
        key = str(value).strip().lower()
        if key.endswith(".0"):
            key = key[:-2]
        if key not in TARGET_VALUES:
            unknown.add(str(value))
            continue
        result.append(TARGET_VALUES[key])
    if unknown:
        raise ValidationFailed(
            f"target {target!r} must be 0/1, true/false, good/bad or yes/no; found " + ", ".join(sorted(unknown)[:5])
        )
    if len(set(result)) < 2:
        raise ValidationFailed(f"target {target!r} has only one class; a scorecard needs goods and bads")
    return result


BINNINGS = ("riskdesk", "optbinning")


def train(
    frame: Any,
    *,
    target: str,
    exclude: tuple[str, ...] = (),
    base_score: float = 600,
    base_odds: float = 50,
    points_to_double_odds: float = 20,
    version: str = "scorecard-1",
    binning: str = "riskdesk",
) -> ScorecardModel:
    """Fit binning and regression on ``frame`` (a pandas DataFrame); identifier-like columns are excluded.

    ``binning`` is riskdesk's own optimal binning (binning.py; the default) or ``"optbinning"``, optbinning's
    ``BinningProcess`` with ten pre-bins of at least 5 %, for those who want its solver."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from riskdesk.scoring import binning as binnings

    if binning not in BINNINGS:
        raise ValidationFailed(f"binning must be {' or '.join(BINNINGS)}, not {binning!r}")
    if target not in frame.columns:
        raise ValidationFailed(f"there is no column {target!r}; the columns are {', '.join(map(str, frame.columns))}")
    codes, values = pd.factorize(frame[target], use_na_sentinel=False)
    y = np.array(target_vector(list(values), target))[codes]  # each distinct value read once
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    text = np.dtype(object)
    candidates = [c for c in frame.columns if c != target and c not in exclude]
    # A column with a different value in (almost) every row is an identifier, not a characteristic.
    features = [c for c in candidates if not (dtypes[c] == text and frame[c].nunique() > 0.9 * len(frame))]
    if not features:
        raise ValidationFailed("no columns left to score on after excluding the target and identifiers")
    categorical = {c for c in features if dtypes[c] == text or str(dtypes[c]) in ("string", "category", "str")}
    fit = binnings.fit if binning == "riskdesk" else binnings.fit_optbinning
    binned, woe = fit(frame[features], y, categorical=categorical)
    regression = LogisticRegression(max_iter=2000)
    regression.fit(woe, y)
    factor = points_to_double_odds / math.log(2)
    offset = base_score - factor * math.log(base_odds)
    intercept = float(regression.intercept_[0])
    share = len(features)

    def points(coefficient: float, woe_value: float) -> float:
        return round(-factor * (coefficient * woe_value + intercept / share) + offset / share, 2)

    model_features = []
    for characteristic, coefficient in zip(binned, regression.coef_[0].tolist(), strict=True):
        bins = [
            Bin(
                label,
                points(coefficient, woe_value),
                round(woe_value, 6),
                upper=characteristic.uppers[position] if characteristic.dtype == "numerical" else None,
                categories=characteristic.categories[position] if characteristic.dtype == "categorical" else (),
            )
            for position, (label, woe_value) in enumerate(zip(characteristic.labels, characteristic.woe, strict=True))
        ]
        for label, woe_value in (("Special", characteristic.special_woe), ("Missing", characteristic.missing_woe)):
            bins.append(Bin(label, points(coefficient, woe_value), round(woe_value, 6), kind=label.lower()))
        model_features.append(Feature(characteristic.name, characteristic.dtype, bins))
    return ScorecardModel(version, target, base_score, base_odds, points_to_double_odds, model_features)


def evaluate(labels: list[int], probabilities: list[float]) -> dict[str, Any]:
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

    auc = float(roc_auc_score(labels, probabilities))
    fpr, tpr, _ = roc_curve(labels, probabilities)
    return {
        "auc": round(auc, 4),
        "gini": round(2 * auc - 1, 4),
        "ks": round(float(max(tpr - fpr)), 4),
        "brier": round(float(brier_score_loss(labels, probabilities)), 4),
        "log_loss": round(float(log_loss(labels, probabilities)), 4),
        "n": len(labels),
        "bad_rate": round(sum(labels) / len(labels), 4),
    }
