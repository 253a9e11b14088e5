"""Population stability (PSI/CSI) against a training profile."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskdesk.scoring import stability


def frame(rng: np.random.Generator, rows: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"leverage": rng.normal(0.5 + shift, 0.1, rows), "industry": rng.choice(["C", "E", "I"], rows)})


def test_the_same_population_is_stable_and_a_shifted_one_needs_a_review() -> None:
    rng = np.random.default_rng(1)
    train = frame(rng, 5000)
    profile = stability.profile(train, rng.uniform(0, 0.2, 5000), numeric=["leverage"], text=["industry"])
    same = stability.compare(profile, frame(rng, 5000), rng.uniform(0, 0.2, 5000))
    assert same["psi"] < 0.01 and max(same["csi"].values()) < 0.01
    assert (same["psi_reading"], same["review_needed"]) == ("stable", False)
    moved = stability.compare(profile, frame(rng, 5000, shift=0.15), rng.uniform(0.1, 0.5, 5000))
    assert moved["psi"] > 0.25 and moved["csi"]["leverage"] > 0.25
    assert moved["review_needed"] is True
    assert list(moved["csi"]) == ["leverage", "industry"]  # the largest shift first


def test_missing_values_and_new_categories_count_as_shifts() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 50, "kind": ["a", "b"] * 100})
    profile = stability.profile(train, np.linspace(0, 1, 200), numeric=["x"], text=["kind"])
    later = pd.DataFrame({"x": [np.nan] * 100 + [1.0] * 100, "kind": ["c"] * 200})
    result = stability.compare(profile, later, np.linspace(0, 1, 200))
    assert result["csi"]["x"] > 0.25
    assert result["csi"]["kind"] > 0.25
    assert result["psi"] == 0.0


def test_psi_by_hand() -> None:
    # 0.5 → 0.25 and 0.5 → 0.75: (0.25−0.5)·ln(0.5) + (0.75−0.5)·ln(1.5) = 0.2747
    assert stability.psi([0.5, 0.5], [0.25, 0.75]) == 0.2747
    assert (
        stability.reading(0.05) == "stable" and stability.reading(0.2) == "watch" and stability.reading(0.3) == "review"
    )
