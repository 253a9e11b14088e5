"""Exact TreeSHAP contributions of a LightGBM model from lookup tables, fast enough for a whole portfolio.

Path-dependent TreeSHAP (what LightGBM's ``pred_contrib`` computes) gives, for one tree, a vector that depends on
the row only through the decisions the row takes at the tree's split nodes — at every split, not just those on the
row's own path. A tree with k splits has at most 2^k decision patterns, so for small trees (riskdesk's gradient
boosting grows seven leaves, six splits, 64 patterns) every pattern's exact Shapley vector is computed once, when
the model is loaded, from the tree's structure and data counts. Scoring a block of rows is then: evaluate the k
split conditions (vectorised), form each row's pattern number, look its contributions up and add over the trees.
The same numbers as ``pred_contrib`` (to rounding), at about the cost of a prediction. docs/decisions/0008.

The decisions are LightGBM's own (``Tree::NumericalDecision``, ``Tree::CategoricalDecision`` in tree.h): a missing
value goes the split's default way when the split learned one (``missing_type`` NaN or Zero) and is read as 0
otherwise; a categorical value goes left when it is in the split's category set (missing and negative never).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# 2^8 patterns × 2^8 feature subsets per tree is the most precomputed; riskdesk's own trees have six splits.
MAX_SPLITS = 8
BLOCK_ROWS = 32_768  # rows per block: large enough to pay numpy's per-call cost, small enough for the cache
_ZERO = 1e-35  # LightGBM's kZeroThreshold


class TreesTooLarge(ValueError):
    """A tree has more splits than the tables cover; such a model needs LightGBM's ``pred_contrib``."""


@dataclass(frozen=True)
class Split:
    feature: int
    categorical: bool
    threshold: float  # numerical: go left when value <= threshold
    categories: tuple[int, ...]  # categorical: go left when the value is one of these
    default_left: bool
    missing_type: str  # None | Zero | NaN


@dataclass(frozen=True)
class TreeTable:
    splits: tuple[Split, ...]  # bit j of a row's pattern: the row goes left at split j
    features: tuple[int, ...]  # the features this tree splits on
    contributions: NDArray[np.float64]  # (len(features), 2^len(splits)): each feature's Shapley value per pattern
    expected_value: float  # the tree's mean output over its training data


@dataclass(frozen=True)
class TableGroup:
    """Trees looked up together: their patterns joined into one number (the first tree's bits lowest) and their
    tables added, so a feature that several trees split on is looked up once for the group, not once per tree."""

    trees: tuple[TreeTable, ...]
    features: tuple[int, ...]
    contributions: NDArray[np.float64]  # (len(features), 2^(splits of all the trees))


@dataclass(frozen=True)
class ShapTables:
    trees: tuple[TreeTable, ...]
    groups: tuple[TableGroup, ...]
    n_features: int
    expected_value: float  # summed over the trees: the raw score before any feature is known
    category_widths: dict[int, int]  # per categorical feature: 1 + the largest category a split names

    def contributions(self, matrix: NDArray[np.float64], *, threads: int | None = None) -> NDArray[np.float64]:
        """(rows, features) values → (rows, features) exact TreeSHAP contributions in raw score (log-odds).

        The raw score of a row is ``expected_value + contributions.sum(axis=1)``. Blocks of rows run on
        ``threads`` threads (default: one per core; numpy releases the GIL in the loops that matter).
        """
        import os
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np

        values = np.asarray(matrix, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} feature columns, got an array of shape {values.shape}")
        total = np.empty((values.shape[0], self.n_features))
        blocks = [(start, min(start + BLOCK_ROWS, len(values))) for start in range(0, len(values), BLOCK_ROWS)]
        workers = max(1, min(threads or os.cpu_count() or 1, len(blocks)))
        if workers == 1:
            for start, stop in blocks:
                total[start:stop] = self._block(values[start:stop])
            return total
        with ThreadPoolExecutor(workers) as pool:
            futures = [(start, stop, pool.submit(self._block, values[start:stop])) for start, stop in blocks]
            for start, stop, future in futures:
                total[start:stop] = future.result()
        return total

    def _block(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        import numpy as np

        inputs = _BlockInputs(np.ascontiguousarray(rows.T), self.category_widths)
        n = rows.shape[0]
        total = np.zeros((self.n_features, n))
        decisions = np.empty((MAX_SPLITS, n), dtype=bool)
        bits = decisions.view(np.uint8)
        pattern, weighted = np.empty(n, dtype=np.uint8), np.empty(n, dtype=np.uint8)  # bytes: vectorised, light
        index, shifted = np.empty(n, dtype=np.intp), np.empty(n, dtype=np.intp)  # numpy's own index type
        for group in self.groups:
            offset = 0
            for tree in group.trees:
                for position, split in enumerate(tree.splits):
                    inputs.decide(split, out=decisions[position])
                np.copyto(pattern, bits[0])
                for position in range(1, len(tree.splits)):
                    np.multiply(bits[position], _BIT[position], out=weighted)
                    np.bitwise_or(pattern, weighted, out=pattern)
                if offset == 0:
                    np.copyto(index, pattern)
                else:
                    np.copyto(shifted, pattern)  # widen first: shifting the bytes themselves would overflow
                    np.left_shift(shifted, offset, out=shifted)
                    index |= shifted
                offset += len(tree.splits)
            for row, feature in enumerate(group.features):
                total[feature] += group.contributions[row][index]
        return total.T


BLOCK_ROWS = 32_768  # rows per block: enough to pay numpy's cost per call, few enough for the processor's cache
GROUP_BITS = 12  # trees are looked up in groups of up to 2^12 joint patterns (32 KB per feature: level-1 cache)
GROUP_BUDGET_BYTES = 64 << 20  # past this much table memory, further trees are looked up one by one
_BIT = tuple(1 << b for b in range(8))


def build_tables(model_dump: dict[str, Any]) -> ShapTables:
    """Tables for every tree of ``Booster.dump_model()``; TreesTooLarge past MAX_SPLITS splits in a tree."""
    trees = tuple(_tree_table(info["tree_structure"]) for info in model_dump["tree_info"])
    widths: dict[int, int] = {}
    for split in (s for t in trees for s in t.splits if s.categorical):
        widths[split.feature] = max(widths.get(split.feature, 0), max(split.categories, default=0) + 1)
    return ShapTables(
        trees=trees,
        groups=_group(trees),
        n_features=int(model_dump["max_feature_idx"]) + 1,
        expected_value=math.fsum(t.expected_value for t in trees),
        category_widths=widths,
    )


def _group(trees: tuple[TreeTable, ...]) -> tuple[TableGroup, ...]:
    """Join each tree with the following ones (of the next 32) that add the fewest features, up to GROUP_BITS."""
    import numpy as np

    waiting = [t for t in trees if t.splits]
    groups, budget = [], GROUP_BUDGET_BYTES
    while waiting:
        first = waiting.pop(0)
        members = [first]
        while True:
            used = sum(len(t.splits) for t in members)
            union = set().union(*(t.features for t in members))
            fits = [
                (len(union | set(t.features)), position)
                for position, t in enumerate(waiting[:32])
                if used + len(t.splits) <= GROUP_BITS
            ]
            if not fits:
                break
            size, position = min(fits)
            cost = size * 8 << (used + len(waiting[position].splits))
            if cost > budget:
                break
            members.append(waiting.pop(position))
            budget -= cost
        features = tuple(sorted({f for t in members for f in t.features}))
        joined = np.zeros((len(features), 1))
        for tree in members:  # index = pattern₀ + pattern₁·2^k₀: the new tree's bits go on top
            rows = [
                tree.contributions[tree.features.index(f)] if f in tree.features else np.zeros(2 ** len(tree.splits))
                for f in features
            ]
            joined = (np.array(rows)[:, :, None] + joined[:, None, :]).reshape(len(features), -1)
        groups.append(TableGroup(tuple(members), features, np.ascontiguousarray(joined)))
    return tuple(groups)


class _BlockInputs:
    """A block's feature columns in the forms LightGBM's decisions need, each made once per block."""

    def __init__(self, columns: NDArray[np.float64], category_widths: dict[int, int]) -> None:
        import numpy as np

        self.columns = columns
        self.missing = np.isnan(columns)
        self.widths = category_widths
        self._forms: dict[tuple[int, str], Any] = {}

    def _form(self, feature: int, kind: str) -> Any:
        import numpy as np

        key = (feature, kind)
        if key not in self._forms:
            values, missing = self.columns[feature], self.missing[feature]
            if kind == "missing_left":  # the split sends missing values left: compare them as -inf
                self._forms[key] = np.where(missing, -np.inf, values)
            elif kind == "missing_zero":  # the split learned nothing about missing values: LightGBM reads 0.0
                self._forms[key] = np.where(missing, 0.0, values)
            else:  # one bit per category (the value truncated to int); missing, negative, unnamed: the last bit
                width = self.widths[feature]
                other = missing | (values < 0) | (values >= width)
                slots = np.where(other, width, np.trunc(np.where(other, 0, values))).astype(np.intp)
                if kind == "slots":
                    self._forms[key] = slots
                else:
                    kind_of = _mask_type(width)
                    self._forms[key] = np.left_shift(kind_of(1), slots.astype(kind_of))
        return self._forms[key]

    def decide(self, split: Split, *, out: NDArray[np.bool_]) -> None:
        """Whether each row goes left at ``split``, written into ``out``."""
        import numpy as np

        if split.categorical:
            width = self.widths[split.feature]
            if width < 64:  # the row's category bit against the split's set of bits
                kind_of = _mask_type(width)
                mask = sum(1 << c for c in split.categories)
                np.not_equal(np.bitwise_and(self._form(split.feature, "bits"), kind_of(mask)), 0, out=out)
            else:
                lookup = np.zeros(width + 1, dtype=bool)  # the last slot: any other value
                lookup[list(split.categories)] = True
                np.take(lookup, self._form(split.feature, "slots"), out=out)
        elif split.missing_type == "NaN":
            source = self._form(split.feature, "missing_left") if split.default_left else self.columns[split.feature]
            np.less_equal(source, split.threshold, out=out)  # NaN compares False: right
        elif split.missing_type == "Zero":
            values = self._form(split.feature, "missing_zero")
            zero = np.abs(values) <= _ZERO
            np.copyto(out, np.where(zero, split.default_left, values <= split.threshold))
        else:
            np.less_equal(self._form(split.feature, "missing_zero"), split.threshold, out=out)


def _mask_type(width: int) -> Any:
    """The narrowest unsigned integer with a bit for each of ``width`` categories and one for any other value."""
    import numpy as np

    return next(t for t, bits in ((np.uint8, 8), (np.uint16, 16), (np.uint32, 32), (np.uint64, 64)) if width < bits)


def _tree_table(root: dict[str, Any]) -> TreeTable:
    """Shapley values of the tree's cover-weighted conditional expectation, per decision pattern, by subsets."""
    import numpy as np

    found: dict[int, Split] = {}
    _collect_splits(root, found)
    if len(found) > MAX_SPLITS:
        raise TreesTooLarge(f"a tree has {len(found)} splits; fast reasons cover trees of up to {MAX_SPLITS}")
    splits = tuple(found[i] for i in sorted(found))
    features = tuple(sorted({s.feature for s in splits}))
    n_patterns = 2 ** len(splits)
    goes_left = ((np.arange(n_patterns)[:, None] >> np.arange(len(splits))) & 1).astype(bool)

    def expectation(node: dict[str, Any], known: frozenset[int]) -> Any:
        """E[output | the ``known`` features decide as the pattern says]: LightGBM's rule, weights = data counts."""
        if "split_index" not in node:
            return float(node["leaf_value"])
        left, right = node["left_child"], node["right_child"]
        left_value, right_value = expectation(left, known), expectation(right, known)
        if int(node["split_feature"]) in known:
            return np.where(goes_left[:, int(node["split_index"])], left_value, right_value)
        left_count, right_count = _count(left), _count(right)
        if left_count + right_count == 0:
            return (left_value + right_value) / 2
        return (left_count * left_value + right_count * right_value) / (left_count + right_count)

    d = len(features)
    by_subset = [
        np.broadcast_to(expectation(root, frozenset(f for i, f in enumerate(features) if mask >> i & 1)), n_patterns)
        for mask in range(2**d)
    ]
    weights = [math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)]
    contributions = np.zeros((d, n_patterns))
    for i in range(d):
        for mask in range(2**d):
            if not mask >> i & 1:
                contributions[i] += weights[mask.bit_count()] * (by_subset[mask | 1 << i] - by_subset[mask])
    return TreeTable(splits, features, contributions, float(by_subset[0][0]))


def _collect_splits(node: dict[str, Any], found: dict[int, Split]) -> None:
    if "split_index" not in node:
        return
    categorical = node["decision_type"] == "=="
    threshold = node["threshold"]
    found[int(node["split_index"])] = Split(
        feature=int(node["split_feature"]),
        categorical=categorical,
        threshold=0.0 if categorical else float(threshold),
        categories=tuple(int(c) for c in str(threshold).split("||")) if categorical else (),
        default_left=bool(node["default_left"]),
        missing_type=str(node["missing_type"]),
    )
    _collect_splits(node["left_child"], found)
    _collect_splits(node["right_child"], found)


def _count(node: dict[str, Any]) -> float:
    return float(node["internal_count"] if "split_index" in node else node["leaf_count"])
