"""A PD model directory: the manifest, the champion and the challenger, scoring with grades and reasons.

Layout (format version 1)::

    DIR/model.json               manifest: version, data fingerprint, features, split, metrics, champion …
    DIR/gbm/booster.txt          LightGBM's text format
    DIR/gbm/gbm.json             calibration, monotone constraints, parameters
    DIR/scorecard/scorecard.json the points table (riskdesk.scoring.scorecard)

A directory is written whole or not at all: everything goes into a temporary folder next to it, renamed into
place at the end; an existing model directory is never overwritten (a version, once written, stays as it was).
The manifest lists the SHA-256 of every file, so a changed file is refused when the model is loaded.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from riskdesk.errors import ValidationFailed
from riskdesk.scoring.tabular import FeatureSpec, clean_frame, feature_matrix, file_sha256

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

    from riskdesk.scoring.gbm import GbmModel
    from riskdesk.scoring.scorecard import ScorecardModel

FORMAT = "riskdesk-pd-model"
FORMAT_VERSION = 1
MANIFEST = "model.json"
KINDS = ("scorecard", "gbm")
PART_ROWS = 65_536  # rows per thread's part when explaining a batch


@dataclass
class Scored:
    """Per row: PD, and for each of the top three reasons the feature and the sentence in English and Chinese."""

    probability_of_default: NDArray[np.float64]
    reasons: dict[str, Any] = field(default_factory=dict)  # column name → strings, one per row


class Scorer(Protocol):
    @property
    def kind(self) -> str: ...

    def score(self, frame: pd.DataFrame, *, reasons: bool = True) -> Scored: ...


@dataclass
class GbmScorer:
    model: GbmModel
    kind: ClassVar[str] = "gbm"

    def score(self, frame: pd.DataFrame, *, reasons: bool = True, threads: int | None = None) -> Scored:
        from riskdesk.scoring.reasons import reason_columns

        if not reasons:
            return Scored(self.model.probability(feature_matrix(frame, self.model.features)))
        matrix, probability, indices = self.explain(frame, threads=threads)
        return Scored(probability, reason_columns(indices, matrix, self.model.features))

    def explain(
        self, frame: pd.DataFrame, *, threads: int | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
        """The feature matrix, the PD and the top reasons' feature indices of every row.

        Parts of the rows go through the whole path (reading, contributions, top three) on ``threads`` threads
        (default: one per core): numpy and pandas release the GIL, so every core works on every step.
        """
        import os
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np

        self.model.tables  # noqa: B018  (built once, before the threads share it)
        parts = [frame.iloc[start : start + PART_ROWS] for start in range(0, len(frame), PART_ROWS)] or [frame]
        with ThreadPoolExecutor(max(1, min(threads or os.cpu_count() or 1, len(parts)))) as pool:
            done = list(pool.map(self._explain_part, parts))
        return (
            np.concatenate([d[0] for d in done]),
            np.concatenate([d[1] for d in done]),
            np.concatenate([d[2] for d in done]),
        )

    def _explain_part(self, part: pd.DataFrame) -> tuple[Any, Any, Any]:
        from riskdesk.scoring.reasons import top_reasons

        matrix = feature_matrix(part, self.model.features)
        probability, contributions = self.model.explain(matrix, threads=1)
        indices, _ = top_reasons(contributions)
        return matrix, probability, indices


@dataclass
class ScorecardScorer:
    model: ScorecardModel
    features: list[FeatureSpec]
    kind: ClassVar[str] = "scorecard"

    def score(self, frame: pd.DataFrame, *, reasons: bool = True) -> Scored:
        import numpy as np
        import pandas as pd

        scored = self.model.score_frame(clean_frame(frame, self.features))
        probability = scored["probability_of_default"].to_numpy(dtype=np.float64)
        if not reasons:
            return Scored(probability)
        columns: dict[str, Any] = {}
        for rank in range(1, 4):
            for suffix in ("", "_en", "_zh"):
                reason = scored[f"reason_{rank}{suffix}"]
                if isinstance(reason.dtype, pd.CategoricalDtype) and "" not in reason.cat.categories:
                    reason = reason.cat.add_categories([""])
                columns[f"reason_{rank}{suffix}"] = reason.fillna("").array  # no index: rows stay in order
        return Scored(probability, columns)


@dataclass
class Recalibrated:
    """A champion recalibrated on recent outcomes (Platt on its log-odds): PD' = 1 / (1 + exp(−(a·logit(PD) + b))).
    The ranking, and so the reasons, stay the model's own; only the level of the PD moves."""

    inner: Scorer
    slope: float
    intercept: float

    @property
    def kind(self) -> str:
        return self.inner.kind

    def score(self, frame: pd.DataFrame, *, reasons: bool = True) -> Scored:
        scored = self.inner.score(frame, reasons=reasons)
        scored.probability_of_default = recalibrate(scored.probability_of_default, self.slope, self.intercept)
        return scored


def recalibrate(probabilities: NDArray[np.float64], slope: float, intercept: float) -> NDArray[np.float64]:
    import numpy as np

    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    result: NDArray[np.float64] = 1 / (1 + np.exp(-(slope * np.log(clipped / (1 - clipped)) + intercept)))
    return result


@dataclass
class PdModel:
    folder: Path
    manifest: dict[str, Any]
    features: list[FeatureSpec]
    _scorers: dict[str, Scorer] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def champion_kind(self) -> str:
        return str(self.manifest["champion"])

    @property
    def challenger_kind(self) -> str | None:
        challenger = self.manifest.get("challenger")
        return str(challenger) if challenger else None

    @property
    def id_columns(self) -> list[str]:
        return [name for name, why in self.manifest.get("excluded_columns", {}).items() if why.startswith("identifier")]

    def scorer(self, kind: str) -> Scorer:
        if kind not in self._scorers:
            entry = self.manifest["models"].get(kind)
            if entry is None:
                raise ValidationFailed(f"model {self.version} has no {kind} model")
            where = self.folder / entry["path"]
            if kind == "gbm":
                from riskdesk.scoring.gbm import GbmModel

                self._scorers[kind] = GbmScorer(GbmModel.load(where))
            else:
                from riskdesk.scoring.scorecard import ScorecardModel

                self._scorers[kind] = ScorecardScorer(ScorecardModel.load(where), self.features)
            recalibration = self.manifest.get("recalibration")
            if recalibration and kind == self.champion_kind:
                self._scorers[kind] = Recalibrated(
                    self._scorers[kind], recalibration["slope"], recalibration["intercept"]
                )
        return self._scorers[kind]

    @property
    def champion(self) -> Scorer:
        return self.scorer(self.champion_kind)


def load(folder: Path) -> PdModel:
    """Read and check a model directory: its format version, its manifest and the fingerprints of its files."""
    path = folder / MANIFEST
    if not path.is_file():
        hint = ""
        if (folder / "scorecard.json").is_file():
            hint = " (a folder from `riskdesk scorecard train` is scored with `riskdesk scorecard score`)"
        raise ValidationFailed(f"{folder} is not a riskdesk model directory: it has no {MANIFEST}{hint}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"{path} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValidationFailed(f"{path} is not a riskdesk PD model manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValidationFailed(
            f"{folder} was written in model format {manifest.get('format_version')!r} "
            f"(riskdesk {manifest.get('riskdesk_version', 'unknown')}); this riskdesk reads format {FORMAT_VERSION}. "
            "Retrain the model with this version, or score with the riskdesk that wrote it"
        )
    try:
        for kind, entry in manifest["models"].items():
            for name, digest in entry["files"].items():
                file = folder / entry["path"] / name
                if not file.is_file() or file_sha256(file) != digest:
                    raise ValidationFailed(f"{file} is missing or was changed after training (SHA-256 differs)")
            if kind not in KINDS:
                raise ValidationFailed(f"{path}: unknown model kind {kind!r}")
        features = [FeatureSpec.from_dict(f) for f in manifest["features"]]
        if manifest["champion"] not in manifest["models"]:
            raise ValidationFailed(f"{path}: the champion {manifest['champion']!r} is not among the models")
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValidationFailed(f"{path} is incomplete: {exc!r} is missing or malformed") from None
    return PdModel(folder, manifest, features)


def check_target(folder: Path) -> None:
    """Refuse before any work when ``folder`` exists and is not empty: versions are never overwritten."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValidationFailed(f"{folder} already exists; give a new --out (a model version is never overwritten)")


def write_directory(folder: Path, fill: Callable[[Path], None]) -> Path:
    """Let ``fill`` write into a temporary folder beside ``folder``, then rename it into place; on any failure
    nothing is left behind."""
    check_target(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.parent / f".{folder.name}.partial-{uuid.uuid4().hex[:8]}"
    partial.mkdir()
    try:
        fill(partial)
        if folder.exists():
            folder.rmdir()  # empty, checked above
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder


def grades_for(probabilities: NDArray[np.float64], scale: Sequence[tuple[str, float]]) -> NDArray[np.object_]:
    """The master scale's grade of each PD: the first grade, best to worst, whose ``pd_max`` is not below it."""
    import numpy as np

    names = np.array([name for name, _ in scale], dtype=object)
    caps = np.array([cap for _, cap in scale], dtype=np.float64)
    if len(caps) == 0 or np.any(np.diff(caps) <= 0) or caps[-1] < 1:
        raise ValidationFailed("the master scale must go from best to worst with increasing pd_max, the last at 1")
    positions = np.searchsorted(caps, probabilities, side="left")
    result: NDArray[np.object_] = names[np.minimum(positions, len(caps) - 1)]
    return result


def score_frame(
    model: PdModel,
    frame: pd.DataFrame,
    *,
    scale: Sequence[tuple[str, float]],
    shadow: bool = False,
    first_row: int = 1,
) -> pd.DataFrame:
    """One output row per input row: identifiers, PD, grade, reasons by the champion (and the challenger's PD)."""
    import pandas as pd

    scored = model.champion.score(frame)
    columns: dict[str, Any] = {"row": range(first_row, first_row + len(frame))}
    for name in model.id_columns:
        if name in frame.columns:
            columns[name] = frame[name].to_numpy()
    columns["probability_of_default"] = scored.probability_of_default.round(6)
    columns["grade"] = grades_for(scored.probability_of_default, scale)
    columns["model_version"] = model.version
    columns["model_kind"] = model.champion_kind
    columns.update(scored.reasons)
    if shadow and model.challenger_kind:
        challenger = model.scorer(model.challenger_kind).score(frame, reasons=False)
        columns["challenger_probability_of_default"] = challenger.probability_of_default.round(6)
    return pd.DataFrame(columns)
