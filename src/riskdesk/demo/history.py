"""A synthetic history of a risk unit in the columns of the customer feature view: what a unit that has traded
for years would export with ``riskdesk credit dataset``, for the demo's PD model and for tests."""

from __future__ import annotations

from typing import Any


def unit_history(rows: int = 800, seed: int = 3) -> Any:
    """A pandas DataFrame: leverage, days past due and a weak Z score make defaults more likely."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "z_score": rng.normal(2.5, 1.2, rows),
            "current_ratio": rng.gamma(3, 0.5, rows),
            "liabilities_to_assets": rng.uniform(0.1, 1.1, rows),
            "net_margin": rng.normal(0.04, 0.05, rows),
            "years_in_business": rng.uniform(0, 30, rows),
            "registered_capital": rng.lognormal(15, 1.5, rows),
            "industry_risk": rng.integers(1, 4, rows),
            "industry": rng.choice(list("CEFGI"), rows),
            "utilisation": rng.uniform(0, 1.4, rows),
            "max_days_past_due": rng.choice([0, 0, 0, 5, 20, 45, 100], rows),
            "overdue_share": rng.uniform(0, 0.6, rows),
        }
    )
    risk = 2.5 * frame["liabilities_to_assets"] + frame["max_days_past_due"] / 40 - 0.4 * frame["z_score"]
    frame["default"] = (risk + rng.normal(0, 0.6, rows) > 1.6).astype(int)
    return frame
