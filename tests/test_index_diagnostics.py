"""Tidy audit tables of the index: redundancy, Cronbach's alpha, indicator-pillar correlation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagestudy import catalog, compute_indicators, load_study
from villagestudy.datasets import get_path
from villagestudy.index import alpha_table, build_index, indicator_pillar_table, redundant_pairs
from villagestudy.index.diagnostics import pairwise_correlation


def test_redundant_pairs_by_hand():
    v = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6.0], "b": [10, 9, 8, 7, 6, 5.0], "c": [1, 3, 2, 5, 4, 6.0],
                      "d": [1, 2, np.nan, 4, 5, 6.0], "e": [1, np.nan, np.nan, 4, 5, 6.0]})
    out = redundant_pairs(v, pillar_of={"a": "land", "b": "land", "c": "income"})
    # a-b: rho = -1 (same dimension, opposite direction); a-d: 1 over the 5 shared units;
    # c-a: 0.89, not flagged; e shares only 4 units with anyone: no correlation computed
    assert out[["id", "other"]].values.tolist() == [["a", "b"], ["a", "d"], ["b", "d"]]
    assert out["rho"].tolist() == pytest.approx([-1.0, 1.0, -1.0])
    assert out["n_units"].tolist() == [6, 5, 5]
    assert out["same_pillar"].tolist() == [True, False, False]
    assert redundant_pairs(v[["a", "c"]]).empty


def test_alpha_and_indicator_pillar_tables():
    table = pd.DataFrame({"x1": [1, 2, 3, 4, 5.0], "x2": [1, 2, 3, 5, 4.0], "y1": [5, 4, 3, 2, 1.0],
                          "y2": [3, 1, 5, 2, 4.0]}, index=list("abcde"))
    structure = pd.DataFrame({"id": ["top", "X", "Y", "x1", "x2", "y1", "y2"],
                              "parent": [None, "top", "top", "X", "X", "Y", "Y"],
                              "direction": [None, None, None, 1, 1, 1, 1]})
    res = build_index(table, structure)
    alpha = alpha_table(res.diagnostics).set_index("aggregate")
    # X: min-max items 0, 25, ..., 100 with variances 1562.5 and covariance 1406.25
    assert alpha.loc["X", "alpha"] == pytest.approx(2 * (1 - 3125 / (3125 + 2 * 1406.25)))
    assert alpha.loc["X", "reading"] == "consistent"
    # Y: covariance -468.75: y1 and y2 pull apart
    assert alpha.loc["Y", "alpha"] == pytest.approx(2 * (1 - 3125 / (3125 - 2 * 468.75)))
    assert alpha.loc["Y", "reading"] == "low"
    ip = indicator_pillar_table(res.diagnostics, ["x1", "x2", "y1", "y2"]).set_index("id")
    assert ip.loc["x1", "pillar"] == "X" and ip.loc["x1", "r"] == pytest.approx(np.corrcoef(
        res.normalised["x1"], res.scores["X"])[0, 1])
    assert ip.loc["x2", "flag"] == ""


def test_default_structure_counts_no_dimension_twice_on_the_sample():
    table = compute_indicators(load_study(get_path("sample")))
    pillar_of = {i: catalog.get(i).pillar for i in catalog.ids()}
    scored = [i for i in catalog.ids() if catalog.get(i).in_index]
    assert redundant_pairs(table[scored], pillar_of=pillar_of).empty
    # while the candidates the structure left out do repeat each other
    pairs = redundant_pairs(table[[i for i in catalog.ids() if catalog.get(i).direction != 0
                                   and catalog.get(i).kind != "flag"]], pillar_of=pillar_of)
    named = {frozenset(p) for p in pairs[["id", "other"]].values.tolist()}
    assert frozenset({"simpson_index", "januszewski_index"}) in named
    assert frozenset({"income_per_resident_yuan", "operating_income_per_resident_yuan"}) in named


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 6), st.sampled_from([0.0, 0.2, 0.6]))
def test_pairwise_correlation_is_pandas_spearman(seed, n_units, n_columns, gaps):
    """Over each pair's shared units, ties averaged, too few units or a constant column NaN: as pandas."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 4, size=(n_units, n_columns)).astype(float)  # small integers: many ties
    values[rng.random(values.shape) < gaps] = np.nan
    if n_columns > 2:
        values[:, 2] = 1.0  # constant
        values[: n_units // 2, 1] = np.nan  # a block of gaps shared by no other column
    frame = pd.DataFrame(values, columns=[f"i{k}" for k in range(n_columns)])
    expected = frame.corr(method="spearman", min_periods=5)
    got = pairwise_correlation(frame, min_periods=5)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, atol=1e-12, rtol=0)
