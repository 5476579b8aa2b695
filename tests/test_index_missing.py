"""Missing-aware normalisation: indicators of partial coverage share the common 0-100 range."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from villagestudy.index.normalise import normalise_array
from villagestudy.ranking import DEFAULT_UNCERTAINTY, rank_villages


def test_percentile_rank_spans_the_same_range_whatever_the_coverage():
    full = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    partial = np.array([np.nan, 10.0, np.nan, 30.0, 20.0, np.nan])   # three villages with parks
    x = np.column_stack([full, partial])
    p = normalise_array(x, np.array([1.0, 1.0]), "prank")
    assert p[:, 0].tolist() == [0, 20, 40, 60, 80, 100]
    assert np.isnan(p[[0, 2, 5], 1]).all() and p[[1, 4, 3], 1].tolist() == [0, 50, 100]
    r = normalise_array(x, np.array([1.0, 1.0]), "rank")   # raw ranks do not: 1..6 against 1..3
    assert np.nanmax(r[:, 0]) == 6 and np.nanmax(r[:, 1]) == 3


def test_monte_carlo_never_uses_raw_ranks():
    assert "rank" not in DEFAULT_UNCERTAINTY["normalise"]


def test_a_village_without_parks_is_scored_on_the_land_indicators_it_has():
    # structural zero = missing: v3 has no park, its land score is its parcel indicator alone
    table = pd.DataFrame({
        "village_name": ["a", "b", "c"], "town_id": ["t"] * 3,
        "mean_parcel_area_mu": [1.0, 2.0, 3.0], "park_tax_per_mu_yuan": [100.0, 300.0, np.nan],
        "certified_share": [0.2, 0.4, 0.6]}, index=pd.Index(["v1", "v2", "v3"], name="village_id"))
    land = rank_villages(table, uncertainty=False, winsorise=False).table["land"]
    assert land.tolist() == pytest.approx([0.0, 75.0, 100.0])   # v2: (50 + 100) / 2; v3: 100 alone
