"""Labelled tables as the PD models read them: files, targets, which columns are characteristics, and the matrix.

Real files are messy. Numbers may arrive as text ("1,250", blanks); a text column whose values are nearly all
numbers is read as a number and the rest as missing. Identifier columns are left out — those named with
``--id-column``, text with a different value in (nearly) every row, and whole numbers that are all distinct and
either consecutive or named like an identifier (``id``, ``customer_no``, ``account_key``…). Columns with a single
value tell nothing and are left out too, and so are dates (a date says when, not who: give it as ``--time-column``).
Every exclusion is recorded with its reason in the model's manifest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskdesk.errors import ValidationFailed
from riskdesk.scoring.scorecard import target_vector

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

NUMERIC = "numeric"
CATEGORICAL = "categorical"
_IDENTIFIER_NAME = re.compile(r"(^|[_\s\-.])(id|no|nr|num|number|key|uuid|guid)$|^id[_\s\-.]", re.IGNORECASE)
_NUMBER_SHARE = 0.95  # a text column is numeric when this share of its non-blank values reads as a number


@dataclass(frozen=True)
class FeatureSpec:
    """One characteristic: its column, how it is read, and for text the categories seen in training (their
    position is the code the gradient boosting sees; an unseen category scores as missing)."""

    name: str
    kind: str  # numeric | categorical
    categories: tuple[str, ...] = ()
    label_en: str = ""  # how a person calls it, in reasons ("": the column's name)
    label_zh: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == CATEGORICAL:
            out["categories"] = list(self.categories)
        if self.label_en or self.label_zh:
            out["label_en"], out["label_zh"] = self.label_en, self.label_zh
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            str(data["name"]),
            str(data["kind"]),
            tuple(str(c) for c in data.get("categories", ())),
            str(data.get("label_en", "")),
            str(data.get("label_zh", "")),
        )

    def label(self, language: str) -> str:
        """The feature's name in a reason: its label in the language, else the English one, else the column."""
        if language == "zh":
            return self.label_zh or self.label_en or self.name
        return self.label_en or self.name


Labels = dict[str, tuple[str, str]]  # column → (English, Chinese)


def read_labels(path: Path) -> Labels:
    """Feature labels from a CSV (``column,en,zh``) or JSON file (``{"column": {"en": …, "zh": …}}``)."""
    import csv
    import io
    import json

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"cannot read the labels {path}: {exc}") from None
    found: Labels = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationFailed(f"{path.name} is not JSON: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValidationFailed(f'{path.name}: give {{"column": {{"en": "…", "zh": "…"}}, …}}')
        for column, given in data.items():
            found[str(column)] = (str(given.get("en", "")).strip(), str(given.get("zh", "")).strip())
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or not {"column", "en", "zh"} <= set(reader.fieldnames):
            raise ValidationFailed(f"{path.name}: give a header column,en,zh")
        for row in reader:
            found[(row["column"] or "").strip()] = ((row["en"] or "").strip(), (row["zh"] or "").strip())
    else:
        raise ValidationFailed(f"{path.name}: give the labels as .csv (column,en,zh) or .json")
    wrong = [column for column, (en, zh) in found.items() if not column or len(en) > 80 or len(zh) > 80]
    if wrong:
        raise ValidationFailed(f"{path.name}: a label without a column, or longer than 80 characters: {wrong[:3]}")
    return found


def with_labels(features: list[FeatureSpec], labels: Labels, columns: list[str]) -> list[FeatureSpec]:
    """The features with their labels. A label for a column the data does not have is an error (a typo); one for a
    column left out of the features (an identifier, a constant) is not used."""
    from dataclasses import replace

    unknown = sorted(set(labels) - set(columns))
    if unknown:
        raise ValidationFailed(
            f"labels for columns the data does not have: {', '.join(unknown[:5])}; its columns are"
            f" {', '.join(columns[:30])}"
        )
    return [
        replace(f, label_en=labels[f.name][0], label_zh=labels[f.name][1]) if f.name in labels else f for f in features
    ]


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (UTF-8, or GB18030 as Chinese spreadsheets save it) or Parquet file; a clear error otherwise."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ValidationFailed(f"{path.name}: give a .csv or .parquet file")
    if not path.is_file():
        raise ValidationFailed(f"{path} does not exist or is not a file")
    try:
        if suffix == ".csv":
            try:
                frame = pd.read_csv(path, low_memory=False)
            except UnicodeDecodeError:
                frame = pd.read_csv(path, low_memory=False, encoding="gb18030")
        else:
            frame = pd.read_parquet(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise ValidationFailed(f"cannot read {path.name}: {str(exc).strip() or type(exc).__name__}") from None
    if frame.empty:
        raise ValidationFailed(f"{path.name} has no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def target_labels(frame: pd.DataFrame, target: str) -> tuple[NDArray[np.int8], NDArray[np.bool_]]:
    """0/1 labels (bad = 1) of the rows whose target is filled in, and which rows those are.

    Rows without a target are unlabelled, not bad data: they are left out (the caller reports how many).
    """
    import numpy as np

    if target not in frame.columns:
        raise ValidationFailed(
            f"there is no target column {target!r}; the columns are {', '.join(map(str, frame.columns[:30]))}"
        )
    column = frame[target]
    text = column.astype("string").str.strip()
    labelled = (~column.isna() & (text != "")).to_numpy(dtype=bool, na_value=False)
    if not labelled.any():
        raise ValidationFailed(f"target {target!r} is empty in every row")
    distinct = set(text[labelled].str.lower())
    if len(distinct) < 2:
        raise ValidationFailed(
            f"target {target!r} has one value ({next(iter(distinct))}) in all {labelled.sum()} labelled rows; "
            "a model needs both goods and bads"
        )
    labels = np.array(target_vector(list(column[labelled]), target), dtype=np.int8)
    return labels, labelled


def infer_features(
    frame: pd.DataFrame, *, target: str, id_columns: tuple[str, ...] = (), time_column: str | None = None
) -> tuple[list[FeatureSpec], dict[str, str]]:
    """The characteristics to learn from, and every other column with the reason it is left out."""
    missing = [c for c in (*id_columns, *([time_column] if time_column else [])) if c not in frame.columns]
    if missing:
        raise ValidationFailed(f"no column {', '.join(map(repr, missing))} in the data")
    excluded: dict[str, str] = dict.fromkeys(id_columns, "identifier (given with --id-column)")
    if time_column:
        excluded[time_column] = "time column (used to split, not to score)"
    features = []
    for name in frame.columns:
        if name == target or name in excluded:
            continue
        series = frame[name]
        numbers = as_numbers(series)
        values = numbers if numbers is not None else _as_text(series)
        present = values.dropna()
        reason = _exclusion_reason(name, present, numeric=numbers is not None, rows=len(series))
        if reason:
            excluded[name] = reason
        elif numbers is not None:
            features.append(FeatureSpec(name, NUMERIC))
        else:
            counts = present.value_counts()
            order = sorted(counts.index, key=lambda c: (-int(counts[c]), str(c)))
            features.append(FeatureSpec(name, CATEGORICAL, tuple(str(c) for c in order)))
    if not features:
        raise ValidationFailed("no columns are left to learn from after leaving out the target and identifiers")
    return features, excluded


def feature_matrix(frame: pd.DataFrame, features: list[FeatureSpec]) -> NDArray[np.float64]:
    """(rows, features) as float64: numbers as read, categories as their training position, missing as NaN."""
    import numpy as np
    import pandas as pd

    _require_columns(frame, features)
    matrix = np.empty((len(frame), len(features)), dtype=np.float64)
    for position, spec in enumerate(features):
        series = frame[spec.name]
        if spec.kind == NUMERIC and pd.api.types.is_numeric_dtype(series):
            matrix[:, position] = series.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        # Text is cleaned once per distinct value, not once per row: a million rows hold few distinct values.
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if spec.kind == NUMERIC:
            numbers = as_numbers(pd.Series(uniques, dtype=object), strict=False)
            assert numbers is not None
            lookup = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            place = {category: float(i) for i, category in enumerate(spec.categories)}
            cleaned = _as_text(pd.Series(uniques, dtype=object))
            lookup = np.array([place.get(v, np.nan) if isinstance(v, str) else np.nan for v in cleaned])
        matrix[:, position] = np.append(lookup, np.nan)[codes]  # code -1 (missing) takes the appended NaN
    return matrix


def clean_frame(frame: pd.DataFrame, features: list[FeatureSpec]) -> pd.DataFrame:
    """The features as the scorecard reads them: numbers as floats, text stripped, blanks as missing."""
    import pandas as pd

    _require_columns(frame, features)
    cleaned: dict[str, Any] = {}
    for spec in features:
        if spec.kind == NUMERIC:
            cleaned[spec.name] = as_numbers(frame[spec.name], strict=False)
        else:
            cleaned[spec.name] = _as_text(frame[spec.name]).astype(object).where(lambda s: s.notna(), None)
    return pd.DataFrame(cleaned, index=frame.index)


def as_numbers(series: pd.Series, *, strict: bool = True) -> pd.Series | None:
    """The column as floats, or None when it is text (strict: fewer than 95 % of its non-blank values are numbers)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    text = _as_text(series)
    numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype("float64")
    filled = int(text.notna().sum())
    if strict and (filled == 0 or numbers.notna().sum() < _NUMBER_SHARE * filled):
        return None
    return numbers


def _as_text(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    return text.where(text != "")


def _exclusion_reason(name: str, present: pd.Series, *, numeric: bool, rows: int) -> str | None:
    if present.empty:
        return "empty"
    distinct = present.nunique()
    if distinct == 1 and len(present) == rows:  # one value and blanks still tells blank from filled
        return "constant (one value)"
    if not numeric and len(present) >= 20 and distinct > 0.9 * len(present):
        return "identifier (detected: text with a different value in nearly every row)"
    if not numeric and _looks_like_dates(present):
        return "dates (give the column as --time-column to validate out of time)"
    if numeric and distinct == len(present) and len(present) >= 20 and bool((present == present.round()).all()):
        consecutive = float(present.max() - present.min()) + 1 == len(present)
        if consecutive or _IDENTIFIER_NAME.search(name):
            return "identifier (detected: whole numbers, a different one in every row)"
    return None


def _looks_like_dates(present: pd.Series) -> bool:
    """Nearly every value (of up to 200 looked at) reads as a date with a year, month and day."""
    import warnings

    import pandas as pd

    sample = present.iloc[:: max(1, len(present) // 200)].astype(str)
    if not sample.str.contains(r"\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}", regex=True).mean() >= _NUMBER_SHARE:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": the answer is the same
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= _NUMBER_SHARE)


def _require_columns(frame: pd.DataFrame, features: list[FeatureSpec]) -> None:
    absent = [spec.name for spec in features if spec.name not in frame.columns]
    if absent:
        raise ValidationFailed(f"the data lacks the model's features: {', '.join(absent)}")
