"""riskdesk's own optimal binning for the points scorecard, in numpy.

Characteristic by characteristic:

- **Units.** A number's distinct values in order; a text's categories in order of their bad rate (ties by name, so
  the order of the rows does not matter). Goods and bads are counted per unit at once (``np.unique``,
  ``np.bincount``). A unit is never split.
- **Pre-bins.** Up to ``PREBINS`` units are each a pre-bin. More are cut as a classification tree cuts them (Gini
  impurity, grown best first to at most ``PREBINS`` leaves of at least ``MIN_PREBIN_SHARE`` of the rows each), which
  is optbinning's default pre-binning; a number is cut halfway between two distinct values.
- **Optimal bins.** A dynamic programme over the pre-bin boundaries finds, exactly, the grouping of adjacent
  pre-bins with the largest information value IV = Σᵢ (gᵢ/G − bᵢ/B)·ln((gᵢ/G)/(bᵢ/B)) such that every bin holds at
  least ``MIN_BIN_SHARE`` of the rows and at least one good and one bad, and — for a number — the bad rate follows
  a trend: rising from bin to bin, falling, falling then rising (a valley) or rising then falling (a peak). The four
  are solved in one pass of K vectorised steps for K pre-bins; the state is the last bin (its first and its end
  pre-bin) and where in its trend it is. Of the four groupings the Bayesian information criterion chooses: the
  largest log-likelihood of the bins' bad rates, a valley or a peak paying ln(N)/2 for its turn (one more
  parameter), so that a turn is kept only where the rows show it. Categories, already in order of their bad rate,
  are grouped without a trend. There are at most ``PREBINS`` bins.
- **WoE** of a bin = ln((g/G) / (b/B)), optbinning's sign: positive is better than the average row; G and B count
  every training row, missing ones too.
- **Missing values** (NaN, None, pandas' NA and the empty text) have a bin of their own with the WoE of its rows (a
  count of zero taken as half a row, so that it stays finite), WoE 0 when no training row was missing. The special
  bin, where an unseen category falls when scoring, has WoE 0.
- A characteristic that no grouping fits (one value, too few clean rows, only goods or only bads among them) has one
  bin for all its values, with the WoE of its rows.

Measured against optbinning's ``BinningProcess`` in benchmarks/bench_scorecard.py and docs/decisions/0015.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

PREBINS = 10
MIN_PREBIN_SHARE = 0.05
MIN_BIN_SHARE = 0.05
EMPTY_COUNT = 0.5  # a count of zero goods or bads where a bin must have a WoE all the same

# The dynamic programme's slots: in which direction a bin in the slot moves the bad rate, and the slot the bin before
# it may also be in (where the trend turns). A trend is its slots, and its first bin is in its first slot.
_SLOT_RISES = (True, False, False, True, True, False)
_SLOT_TURNS = {3: 2, 5: 4}  # a valley rises after falling; a peak falls after rising
TRENDS = {"ascending": (0,), "descending": (1,), "valley": (2, 3), "peak": (4, 5)}
_TURNING = ("valley", "peak")


@dataclass(frozen=True)
class Binning:
    """One characteristic binned: its regular bins in order — label, WoE, what each holds and the training rows it
    counted — and the WoE of the missing and of the special bin."""

    name: str
    dtype: str  # numerical | categorical
    labels: tuple[str, ...]
    woe: tuple[float, ...]
    uppers: tuple[float | None, ...] = ()  # numerical: bin i holds the values below uppers[i] (the last: None)
    categories: tuple[tuple[str, ...], ...] = ()  # categorical: the categories of each bin
    missing_woe: float = 0.0
    special_woe: float = 0.0
    goods: tuple[int, ...] = ()
    bads: tuple[int, ...] = ()
    trend: str = ""  # of the bad rate over the bins: ascending | descending | valley | peak | "" (none)


@dataclass(frozen=True)
class _Limits:
    prebins: int
    min_prebin_rows: int
    min_bin_rows: int
    goods: int  # of every training row, missing ones too
    bads: int

    def woe(self, goods: int, bads: int) -> float:
        if goods + bads == 0:
            return 0.0
        return math.log(max(goods, EMPTY_COUNT) / self.goods) - math.log(max(bads, EMPTY_COUNT) / self.bads)


def fit(
    frame: pd.DataFrame,
    labels: NDArray[np.integer[Any]],
    *,
    categorical: set[str],
    prebins: int = PREBINS,
    min_prebin_share: float = MIN_PREBIN_SHARE,
    min_bin_share: float = MIN_BIN_SHARE,
) -> tuple[list[Binning], NDArray[np.float64]]:
    """Bin every column of ``frame`` against ``labels`` (1 = bad, both present): the binnings, and each row's WoE
    in each column."""
    import numpy as np

    bad = np.asarray(labels, dtype=np.int64)
    rows, bads = len(bad), int(bad.sum())
    limits = _Limits(
        prebins=prebins,
        min_prebin_rows=max(1, math.ceil(min_prebin_share * rows)),
        min_bin_rows=max(1, math.ceil(min_bin_share * rows)),
        goods=rows - bads,
        bads=bads,
    )
    binnings, columns = [], []
    for name in frame.columns:
        fit_column = _fit_categorical if name in categorical else _fit_numerical
        binned, woe = fit_column(str(name), frame[name], bad, limits)
        binnings.append(binned)
        columns.append(woe)
    return binnings, np.column_stack(columns) if columns else np.zeros((rows, 0))


def _fit_numerical(
    name: str, column: pd.Series, bad: NDArray[np.int64], limits: _Limits
) -> tuple[Binning, NDArray[np.float64]]:
    import numpy as np

    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    distinct, unit = np.unique(values[~missing], return_inverse=True)
    unit_goods, unit_bads = _counts(unit, bad[~missing], len(distinct))
    cuts = _prebin_cuts(unit_goods, unit_bads, limits)
    goods, bads = _sum_runs(unit_goods, cuts), _sum_runs(unit_bads, cuts)
    groupings = _best_groupings(goods, bads, limits, TRENDS)
    trend = max(groupings, key=lambda t: _criterion(t, goods, bads, groupings[t], limits))
    bin_cuts = groupings[trend][1]
    bin_goods, bin_bads = _sum_runs(goods, bin_cuts), _sum_runs(bads, bin_cuts)
    woe = [limits.woe(g, b) for g, b in zip(bin_goods, bin_bads, strict=True)]
    first_units = [cuts[c - 1] for c in bin_cuts]  # the first distinct value of every bin but the first
    uppers = [_between(float(distinct[u - 1]), float(distinct[u])) for u in first_units]
    bounds = ["-inf", *(f"{upper:.2f}" for upper in uppers), "inf"]
    binned = Binning(
        name,
        "numerical",
        tuple(f"({low}, {high})" if low == "-inf" else f"[{low}, {high})" for low, high in itertools.pairwise(bounds)),
        tuple(woe),
        uppers=(*uppers, None),
        missing_woe=_missing_woe(bad, missing, limits),
        goods=tuple(bin_goods),
        bads=tuple(bin_bads),
        trend=trend if bin_cuts else "",
    )
    row_woe = np.full(len(values), binned.missing_woe)
    prebin_of_unit = np.searchsorted(np.asarray(cuts, dtype=np.intp), np.arange(len(distinct)), side="right")
    bin_of_prebin = np.searchsorted(np.asarray(bin_cuts, dtype=np.intp), np.arange(len(goods)), side="right")
    row_woe[~missing] = np.asarray(woe)[bin_of_prebin[prebin_of_unit]][unit]
    return binned, row_woe


def _criterion(
    trend: str, goods: list[int], bads: list[int], grouping: tuple[float, list[int]], limits: _Limits
) -> float:
    """The Bayesian information criterion's measure of a number's grouping, to be maximised: the log-likelihood of
    the bad rates of its bins, less ln(N)/2 for the turn of a valley or a peak (one more parameter)."""
    iv, cuts = grouping
    if not math.isfinite(iv):
        return -math.inf
    likelihood = 0.0
    for bin_goods, bin_bads in zip(_sum_runs(goods, cuts), _sum_runs(bads, cuts), strict=True):
        rows = bin_goods + bin_bads  # every bin of a grouping has goods and bads
        likelihood += bin_goods * math.log(bin_goods / rows) + bin_bads * math.log(bin_bads / rows)
    return likelihood - (math.log(limits.goods + limits.bads) / 2 if trend in _TURNING else 0.0)


def _fit_categorical(
    name: str, column: pd.Series, bad: NDArray[np.int64], limits: _Limits
) -> tuple[Binning, NDArray[np.float64]]:
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(column)  # pandas' missing markers get -1
    # Scoring compares str(value) with a bin's categories, so values with one text are one category; "" is missing.
    texts: dict[str, int] = {}
    text_of_code = np.array(
        [-1 if str(u) == "" else texts.setdefault(str(u), len(texts)) for u in np.asarray(uniques, dtype=object)] + [-1]
    )
    category = text_of_code[codes]
    missing = category < 0
    names = list(texts)
    category_goods, category_bads = _counts(category[~missing], bad[~missing], len(names))
    order = sorted(
        range(len(names)), key=lambda c: (category_bads[c] / (category_goods[c] + category_bads[c]), names[c])
    )
    unit_goods, unit_bads = category_goods[order], category_bads[order]
    cuts = _prebin_cuts(unit_goods, unit_bads, limits)
    goods, bads = _sum_runs(unit_goods, cuts), _sum_runs(unit_bads, cuts)
    _, bin_cuts = _best_groupings(goods, bads, limits, {"free": ()})["free"]
    bin_goods, bin_bads = _sum_runs(goods, bin_cuts), _sum_runs(bads, bin_cuts)
    woe = [limits.woe(g, b) for g, b in zip(bin_goods, bin_bads, strict=True)]
    first_units = [0, *(cuts[c - 1] for c in bin_cuts)]
    groups = [
        tuple(names[order[u]] for u in range(first, end))
        for first, end in itertools.pairwise([*first_units, len(names)])
    ]
    binned = Binning(
        name,
        "categorical",
        tuple(" / ".join(group) or "(no categories)" for group in groups),
        tuple(woe),
        categories=tuple(groups),
        missing_woe=_missing_woe(bad, missing, limits),
        goods=tuple(bin_goods),
        bads=tuple(bin_bads),
    )
    bin_of_unit = np.searchsorted(np.asarray(first_units), np.arange(len(names)), side="right") - 1
    woe_of_category = np.empty(len(names) + 1)
    woe_of_category[np.asarray(order, dtype=np.intp)] = np.asarray(woe)[bin_of_unit]
    woe_of_category[-1] = binned.missing_woe  # category -1
    return binned, woe_of_category[category]


def _counts(unit: NDArray[np.intp], bad: NDArray[np.int64], units: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    import numpy as np

    rows = np.bincount(unit, minlength=units)
    bads = np.bincount(unit, weights=bad, minlength=units).astype(np.int64)
    return rows - bads, bads


def _missing_woe(bad: NDArray[np.int64], missing: NDArray[np.bool_], limits: _Limits) -> float:
    rows, bads = int(missing.sum()), int(bad[missing].sum())
    return limits.woe(rows - bads, bads)


def _sum_runs(counts: NDArray[np.int64] | list[int], cuts: list[int]) -> list[int]:
    """Sums of ``counts`` over the runs between ``cuts`` (a cut: how many counts come before it)."""
    import numpy as np

    if len(counts) == 0:
        return [0]
    return [int(v) for v in np.add.reduceat(np.asarray(counts, dtype=np.int64), [0, *cuts])]


def _between(low: float, high: float) -> float:
    """A cut between two distinct values: halfway, unless rounding puts halfway on one of them."""
    middle = low + (high - low) / 2
    return middle if low < middle <= high and math.isfinite(middle) else high


def _prebin_cuts(goods: NDArray[np.int64], bads: NDArray[np.int64], limits: _Limits) -> list[int]:
    """Where pre-bins begin, as cuts between units (a cut: how many units come before it): after every unit when
    there are at most ``prebins``, else where a classification tree cuts them (Gini impurity, grown best first to at
    most ``prebins`` leaves of at least ``min_prebin_rows`` each), as optbinning's default pre-binning does."""
    import numpy as np

    if len(goods) <= limits.prebins:
        return list(range(1, len(goods)))
    ends_goods = np.concatenate(([0], np.cumsum(goods)))
    ends_bads = np.concatenate(([0], np.cumsum(bads)))

    def best_cut(low: int, high: int) -> tuple[float, int, int, int]:
        """(change of impurity, cut, low, high) of the best cut of units low..high-1, for a heap of the most
        negative first; the change is 0 when no cut leaves enough rows on both sides. Impurity: rows × Gini / 2."""
        left_goods, left_bads = ends_goods[low + 1 : high] - ends_goods[low], ends_bads[low + 1 : high] - ends_bads[low]
        all_goods, all_bads = int(ends_goods[high] - ends_goods[low]), int(ends_bads[high] - ends_bads[low])
        right_goods, right_bads = all_goods - left_goods, all_bads - left_bads
        left, right = left_goods + left_bads, right_goods + right_bads
        fits = (left >= limits.min_prebin_rows) & (right >= limits.min_prebin_rows)
        if not fits.any():
            return 0.0, 0, low, high
        with np.errstate(divide="ignore", invalid="ignore"):
            impurity = np.where(fits, left_goods * left_bads / left + right_goods * right_bads / right, np.inf)
        at = int(impurity.argmin())
        return float(impurity[at]) - all_goods * all_bads / (all_goods + all_bads), low + at + 1, low, high

    cuts: list[int] = []
    leaves = [best_cut(0, len(goods))]
    while leaves and len(cuts) + 1 < limits.prebins:
        change, cut, low, high = heapq.heappop(leaves)
        if change > -1e-9:  # no cut of any leaf makes it purer
            break
        cuts.append(cut)
        for part in ((low, cut), (cut, high)):
            heapq.heappush(leaves, best_cut(*part))
    return sorted(cuts)


def _best_groupings(
    goods: list[int], bads: list[int], limits: _Limits, trends: dict[str, tuple[int, ...]]
) -> dict[str, tuple[float, list[int]]]:
    """For each trend (``TRENDS``, or ``{"free": ()}`` for none), the grouping of adjacent pre-bins with the largest
    IV within the limits: that IV and the cuts between its bins (a cut: how many pre-bins come before it). When no
    grouping fits: IV -inf and one bin.

    best[s, i, j] is the largest IV of pre-bins 0..j-1 grouped with a last bin of pre-bins i..j-1 in slot s: the IV
    of that bin plus the largest best[s, h, i] — or best[s', h, i] of the slot s' it turns from — over the h whose
    bin h..i-1 has a bad rate below (slot s rises) or above (falls) that of i..j-1. A step for each i fills
    best[:, i, :] from best[:, :i, i] for every slot at once."""
    import numpy as np

    count = len(goods)
    ends_goods = np.concatenate(([0], np.cumsum(goods)))
    ends_bads = np.concatenate(([0], np.cumsum(bads)))
    g = (ends_goods[None, :] - ends_goods[:, None]).astype(np.float64)  # g[i, j]: goods of pre-bins i..j-1
    b = (ends_bads[None, :] - ends_bads[:, None]).astype(np.float64)
    fits = (g + b >= limits.min_bin_rows) & (g > 0) & (b > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        good_share, bad_share = g / limits.goods, b / limits.bads
        value = np.where(fits, (good_share - bad_share) * np.log(good_share / bad_share), -np.inf)
        rate = np.where(fits, b / (g + b), np.nan)
    free = all(not slots for slots in trends.values())
    slots = 1 if free else len(_SLOT_RISES)
    turning, turned_from = ([], []) if free else (list(_SLOT_TURNS), list(_SLOT_TURNS.values()))
    best = np.full((slots, count + 1, count + 1), -np.inf)
    back_bin = np.zeros(best.shape, dtype=np.intp)  # where the bin before begins
    back_slot = np.zeros(best.shape, dtype=np.intp)  # and its slot
    best[[s for s in range(slots) if s not in turning], 0, :] = value[0, :]
    rising = np.array(_SLOT_RISES[:slots])[:, None, None]
    every_slot = np.arange(slots)[:, None]
    for i in range(1, count):
        before = best[:, :i, i].copy()  # (slot, h): the bin before holds pre-bins h..i-1
        if not np.isfinite(before).any():
            continue
        came_from = np.repeat(every_slot, i, axis=1)
        if free:
            allowed = np.ones((1, i, count + 1), dtype=bool)
        else:
            turns = before[turned_from] > before[turning]
            before[turning] = np.where(turns, before[turned_from], before[turning])
            came_from[turning] = np.where(turns, came_from[turned_from], came_from[turning])
            up = rate[:i, i, None] < rate[None, i, :]  # (h, j): the bad rate rises from h..i-1 to i..j-1
            allowed = np.where(rising, up, rate[:i, i, None] > rate[None, i, :])
        candidates = np.where(allowed, before[:, :, None], -np.inf)  # (slot, h, j)
        chosen = candidates.argmax(axis=1)  # (slot, j)
        best[:, i, :] = candidates.max(axis=1) + value[i]
        back_bin[:, i, :] = chosen
        back_slot[:, i, :] = came_from[every_slot, chosen]
    groupings: dict[str, tuple[float, list[int]]] = {}
    for name, trend_slots in trends.items():
        in_trend = list(trend_slots) or [0]
        final = best[in_trend, :, count]  # (slot of the trend, first pre-bin of the last bin)
        at, i = (int(v) for v in np.unravel_index(int(final.argmax()), final.shape))
        iv, slot, j, cuts = float(final[at, i]), in_trend[at], count, []
        if not math.isfinite(iv):
            groupings[name] = (-math.inf, [])
            continue
        while i > 0:
            cuts.append(i)
            i, slot, j = int(back_bin[slot, i, j]), int(back_slot[slot, i, j]), i
        groupings[name] = (iv, cuts[::-1])
    return groupings


def fit_optbinning(
    frame: pd.DataFrame, labels: NDArray[np.integer[Any]], *, categorical: set[str]
) -> tuple[list[Binning], NDArray[np.float64]]:
    """optbinning's ``BinningProcess`` with ten pre-bins of at least 5 % and its solver's trends, as riskdesk's
    scorecard binned before it had its own; for those who want optbinning's solver."""
    import numpy as np
    from optbinning import BinningProcess

    features = [str(c) for c in frame.columns]
    process = BinningProcess(
        variable_names=features,
        categorical_variables=[c for c in features if c in categorical],
        min_prebin_size=0.05,
        max_n_prebins=10,
    )
    matrix = np.asarray(process.fit_transform(frame, labels, metric="woe"), dtype=np.float64)
    return [_from_optbinning(name, process.get_binned_variable(name)) for name in features], matrix


def _from_optbinning(name: str, binned: Any) -> Binning:
    rows = {str(row["Bin"]): row for index, row in binned.binning_table.build().iterrows() if index != "Totals"}
    woe = {label: float(row["WoE"]) if row["WoE"] != "" else 0.0 for label, row in rows.items()}
    regular = [label for label in rows if label not in ("Special", "Missing")]
    splits = list(binned.splits)
    common: dict[str, Any] = {
        "woe": tuple(woe[label] for label in regular),
        "missing_woe": woe["Missing"],
        "special_woe": woe["Special"],
        "goods": tuple(int(rows[label]["Non-event"]) for label in regular),
        "bads": tuple(int(rows[label]["Event"]) for label in regular),
    }
    if binned.dtype == "numerical":
        uppers = tuple(float(splits[p]) if p < len(splits) else None for p in range(len(regular)))
        return Binning(name, "numerical", tuple(regular), uppers=uppers, **common)
    groups = tuple(tuple(str(c) for c in splits[p]) if p < len(splits) else () for p in range(len(regular)))
    labels = tuple(" / ".join(group) or label for group, label in zip(groups, regular, strict=True))
    return Binning(name, "categorical", labels, categories=groups, **common)
