"""Training a PD model from a labelled table: the scorecard, gradient boosting, or both as champion and challenger.

The steps, in order: keep the rows with a target; choose the characteristics (tabular.py); refuse columns that
leak the target; validate each kind (validation.py: out of time on the latest quarter with a time column, else
five-fold cross-validation) — the better validation AUC is the champion, a tie goes to the scorecard, the easier
to read; then train each kind once more on all the rows. The manifest's figures are the validation's, measured
only on rows the model being measured had not learned from.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskdesk.errors import ValidationFailed
from riskdesk.scoring import gbm, stability
from riskdesk.scoring.pd_model import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    GbmScorer,
    ScorecardScorer,
    Scorer,
    write_directory,
)
from riskdesk.scoring.tabular import (
    CATEGORICAL,
    FeatureSpec,
    Labels,
    clean_frame,
    feature_matrix,
    file_sha256,
    infer_features,
    target_labels,
    with_labels,
)
from riskdesk.scoring.validation import (
    LEAK_AUC,
    ValidationPlan,
    evaluate,
    find_leaks,
    leak_error,
    parse_times,
    validation_plan,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

    from riskdesk.scoring.scorecard import ScorecardModel

    Model = gbm.GbmModel | ScorecardModel

IMPORTANCE_ROWS = 20_000


@dataclass(frozen=True)
class Source:
    name: str  # the file's name, for the manifest and the default version
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Source:
        return cls(path.name, file_sha256(path))


@dataclass
class Trained:
    manifest: dict[str, Any]
    models: dict[str, Model]

    @property
    def features(self) -> list[FeatureSpec]:
        return [FeatureSpec.from_dict(f) for f in self.manifest["features"]]

    def scorer(self, kind: str | None = None) -> Scorer:
        """The champion (or the model of ``kind``) ready to score, without saving the directory first."""
        model = self.models[kind or self.manifest["champion"]]
        return GbmScorer(model) if isinstance(model, gbm.GbmModel) else ScorecardScorer(model, self.features)

    def save(self, folder: Path) -> Path:
        return write_directory(folder, self._fill)

    def _fill(self, folder: Path) -> None:
        import json

        for kind, model in self.models.items():
            entry = self.manifest["models"][kind]
            model.save(folder / entry["path"])
            files = sorted(p for p in (folder / entry["path"]).iterdir() if p.is_file())
            entry["files"] = {p.name: file_sha256(p) for p in files}
        (folder / MANIFEST).write_text(json.dumps(self.manifest, ensure_ascii=False, indent=1), encoding="utf-8")

    def summary(self) -> dict[str, Any]:
        """The validation figures of the champion, and of each kind, for the last line of ``model train``."""
        champion = self.manifest["models"][self.manifest["champion"]]["metrics"]
        return {
            "version": self.manifest["version"],
            "champion": self.manifest["champion"],
            "challenger": self.manifest["challenger"],
            "validation": self.manifest["validation"]["method"],
            **{k: v for k, v in champion.items() if k != "calibration"},
            "models": {
                kind: {k: v for k, v in entry["metrics"].items() if k != "calibration"}
                for kind, entry in self.manifest["models"].items()
            },
        }


def train_models(
    frame: pd.DataFrame,
    *,
    target: str,
    source: Source,
    kind: str = "auto",
    time_column: str | None = None,
    id_columns: tuple[str, ...] = (),
    monotone: dict[str, int] | None = None,
    calibration: str = "platt",
    allow_leaks: bool = False,
    feature_labels: Labels | None = None,
    trained_by: str = "unknown",
    version: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Trained:
    import numpy as np

    if kind not in ("auto", "scorecard", "gbm"):
        raise ValidationFailed(f"--kind must be auto, scorecard or gbm, not {kind!r}")
    trained_at = datetime.now(UTC).replace(microsecond=0)
    version = version or f"{Path(source.name).stem}-{trained_at:%Y%m%dT%H%M%SZ}-{source.sha256[:8]}"
    labels, labelled = target_labels(frame, target)
    if not labelled.all():
        progress(f"{int((~labelled).sum())} rows without a target are left out")
    table = frame.loc[labelled].reset_index(drop=True)
    features, excluded = infer_features(table, target=target, id_columns=id_columns, time_column=time_column)
    features = with_labels(features, feature_labels or {}, [str(c) for c in frame.columns])
    for name, why in excluded.items():
        progress(f"left out {name}: {why}")
    times = parse_times(table[time_column], time_column) if time_column else None
    learning = _Learning(table, labels, features, feature_matrix(table, features), times, target, version)
    plan = validation_plan(labels, times=times)
    checked = plan.folds[0].fit if times is not None else np.arange(len(labels))
    leaks = find_leaks(learning.matrix[checked], labels[checked], features)
    if leaks and not allow_leaks:
        raise leak_error(leaks)
    for name, auc in leaks:
        progress(f"warning: {name} alone separates goods from bads (AUC {auc}); trained anyway (--allow-leaks)")
    options = {"monotone": monotone or {}, "calibration": calibration}
    kinds = ["scorecard", "gbm"] if kind == "auto" else [kind]
    models, entries = {}, {}
    for which in kinds:
        progress(f"validating {which}: {plan.method}, then training it on all {len(labels)} rows")
        models[which], entries[which] = learning.validate_and_fit(which, plan, options)
    champion = max(kinds, key=lambda k: (entries[k]["metrics"]["auc"], k == "scorecard"))
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "riskdesk_version": _riskdesk_version(),
        "version": version,
        "trained_at": trained_at.isoformat(),
        "trained_by": trained_by,
        "data": {
            "file": source.name,
            "sha256": source.sha256,
            "rows": len(frame),
            "labelled_rows": len(labels),
            "bad_rate": round(float(labels.mean()), 6),
        },
        "target": target,
        "features": [spec.as_dict() for spec in features],
        "excluded_columns": excluded,
        "validation": _describe_plan(plan, table[time_column] if time_column else None, time_column),
        "leak_check": {"threshold_auc": LEAK_AUC, "leaks": dict(leaks), "allowed": allow_leaks},
        "selection": "higher validation AUC; a tie goes to the scorecard",
        "champion": champion,
        "challenger": next((k for k in kinds if k != champion), None),
        "models": entries,
    }
    result = Trained(manifest, models)
    # The population the champion learned from, binned, for the stability checks of riskdesk.scoring.health.
    manifest["population"] = stability.profile(
        clean_frame(table, features),  # numbers as numbers even where the file wrote them as text ("80,000")
        result.scorer().score(table, reasons=False).probability_of_default,
        numeric=[f.name for f in features if f.kind != CATEGORICAL],
        text=[f.name for f in features if f.kind == CATEGORICAL],
    )
    return result


@dataclass(frozen=True)
class _Learning:
    """The labelled rows, read once, that every model of a training run learns from."""

    table: pd.DataFrame
    labels: NDArray[np.int8]
    features: list[FeatureSpec]
    matrix: NDArray[np.float64]
    times: NDArray[np.float64] | None
    target: str
    version: str

    def fit(self, which: str, rows: NDArray[np.intp], options: dict[str, Any]) -> Model:
        if which == "gbm":
            return gbm.train(
                self.matrix[rows],
                self.labels[rows],
                self.features,
                times=None if self.times is None else self.times[rows],
                monotone=options["monotone"],
                calibration=options["calibration"],
            )
        from riskdesk.scoring import scorecard

        cleaned = clean_frame(self.table.iloc[rows], self.features).assign(**{self.target: self.labels[rows]})
        model = scorecard.train(cleaned, target=self.target, version=f"{self.version}/scorecard")
        named = {spec.name: spec for spec in self.features}
        for feature in model.features:  # reasons say the features' labels, as the gbm's do
            if feature.name in named:
                feature.label_en, feature.label_zh = named[feature.name].label_en, named[feature.name].label_zh
        return model

    def validate_and_fit(
        self, which: str, plan: ValidationPlan, options: dict[str, Any]
    ) -> tuple[Model, dict[str, Any]]:
        """Judge the kind on each validation fold, then train it on every row; the manifest entry with it."""
        import numpy as np

        started = time.perf_counter()
        probability = np.empty(len(self.labels))
        for fold in plan.folds:
            model = self.fit(which, fold.fit, options)
            probability[fold.validation] = _probability(model, self.table.iloc[fold.validation], self.features)
        judged = np.concatenate([fold.validation for fold in plan.folds])
        validation_seconds = time.perf_counter() - started
        started = time.perf_counter()
        model = self.fit(which, np.arange(len(self.labels)), options)
        training_seconds = time.perf_counter() - started
        return model, {
            "path": which,
            "parameters": _parameters(model, options["monotone"]),
            "metrics": evaluate(self.labels[judged], probability[judged]),
            "training_seconds": round(training_seconds, 2),
            "validation_seconds": round(validation_seconds, 2),
            "importance": _importance(model, self.matrix, self.features),
        }


def _probability(model: Model, rows: pd.DataFrame, features: list[FeatureSpec]) -> NDArray[np.float64]:
    if isinstance(model, gbm.GbmModel):
        return GbmScorer(model).score(rows, reasons=False).probability_of_default
    return ScorecardScorer(model, features).score(rows, reasons=False).probability_of_default


def _parameters(model: Model, monotone: dict[str, int] | None) -> dict[str, Any]:
    if isinstance(model, gbm.GbmModel):
        return model.parameters
    return {
        "base_score": model.base_score,
        "base_odds": model.base_odds,
        "points_to_double_odds": model.points_to_double_odds,
        "characteristics": [f.name for f in model.features],
        "binning": "riskdesk's optimal binning (binning.py): at most ten pre-bins and bins of at least 5 % each, "
        "the bad rate rising, falling, or with one turn where the BIC keeps it",
        **({"monotone": "not applied: the scorecard's binning chooses its own trends"} if monotone else {}),
    }


def _importance(model: Model, matrix: NDArray[np.float64], features: list[FeatureSpec]) -> dict[str, float]:
    """gbm: mean |TreeSHAP contribution| in log-odds over (up to 20,000 of) the rows; scorecard: the spread of
    each characteristic's points. Largest first."""
    import numpy as np

    if isinstance(model, gbm.GbmModel):
        sample = matrix[np.linspace(0, len(matrix) - 1, min(len(matrix), IMPORTANCE_ROWS)).astype(int)]
        spread = np.abs(model.tables.contributions(sample)).mean(axis=0)
        values = {spec.name: round(float(v), 4) for spec, v in zip(features, spread, strict=True)}
    else:
        values = {
            f.name: round(max(b.points for b in f.bins) - min(b.points for b in f.bins), 1) for f in model.features
        }
    return dict(sorted(values.items(), key=lambda item: -item[1]))


def _describe_plan(plan: ValidationPlan, times: pd.Series | None, column: str | None) -> dict[str, Any]:
    import pandas as pd

    described = plan.describe()
    if column and times is not None:
        split = plan.folds[0]
        described["time_column"] = column
        earlier, later = times.iloc[split.fit], times.iloc[split.validation]
        if pd.api.types.is_numeric_dtype(times):
            described["fit_until"], described["validation_from"] = float(earlier.max()), float(later.min())
        else:
            first, last = (pd.to_datetime(t, errors="coerce", utc=True, format="mixed") for t in (earlier, later))
            described["fit_until"], described["validation_from"] = first.max().isoformat(), last.min().isoformat()
    return described


def _riskdesk_version() -> str:
    from riskdesk import __version__

    return __version__
