"""Why this rank: contributions that add up to the gap to the town's median score."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from villagestudy.index import build_index, contributions, effective_weights
from villagestudy.ranking import rank_villages
from villagestudy.viz import contribution_chart

STRUCTURE = pd.DataFrame({"id": ["top", "P", "Q", "a", "b", "c"], "parent": [None, "top", "top", "P", "P", "Q"],
                          "weight": [1, 1, 1, 1, 3, 1], "direction": [None, None, None, 1, 1, 1]})


def test_effective_weights_by_hand_with_a_missing_indicator():
    table = pd.DataFrame({"a": [0.0, 10.0, 5.0], "b": [0.0, np.nan, 10.0], "c": [1.0, 2.0, 3.0]},
                         index=["u1", "u2", "u3"])
    res = build_index(table, STRUCTURE)
    w = effective_weights(res.normalised, res.weights_used)
    # P and Q share the top equally; within P, a:b = 1:3, but u2 lacks b so a carries all of P
    assert w.loc["u1"].tolist() == pytest.approx([0.125, 0.375, 0.5])
    assert w.loc["u2"].tolist() == pytest.approx([0.5, 0.0, 0.5])
    assert np.allclose(w.sum(axis=1), 1.0)


def test_contributions_add_up_to_the_gap_to_the_town_median():
    rng = np.random.default_rng(5)
    table = pd.DataFrame(rng.uniform(0, 10, size=(9, 3)), columns=["a", "b", "c"],
                         index=[f"u{k}" for k in range(9)])
    table.iloc[2, 1] = np.nan
    towns = pd.Series(["t1"] * 5 + ["t2"] * 4, index=table.index)
    res = build_index(table, STRUCTURE)
    c = contributions(res, groups=towns)
    score = res.scores["top"]
    median = score.groupby(towns).median()                 # computed independently of the decomposition
    ind = c[c["kind"] == "indicator"].groupby("unit")["contribution"].sum()
    assert ind.to_numpy() == pytest.approx((score - towns.map(median)).loc[ind.index].to_numpy(), abs=1e-9)
    pil = c[c["kind"] == "pillar"].groupby("unit")["contribution"].sum()
    assert pil.to_numpy() == pytest.approx(ind.loc[pil.index].to_numpy(), abs=1e-9)
    # a by-hand value: u0 in t1 (odd: the reference is the median village itself)
    ref = score[towns == "t1"].sort_values().index[2]
    w = effective_weights(res.normalised, res.weights_used)
    expect = w.at["u0", "a"] * res.normalised.at["u0", "a"] - w.at[ref, "a"] * res.normalised.at[ref, "a"]
    row = c[(c["unit"] == "u0") & (c["id"] == "a")]
    assert row["contribution"].iloc[0] == pytest.approx(expect)
    assert (c.loc[c["unit"] == ref, "contribution"].abs() < 1e-12).all()


def test_geometric_contributions_add_up_on_the_log_scale_and_harmonic_is_refused():
    table = pd.DataFrame({"a": [1.0, 4.0, 9.0, 2.0], "b": [3.0, 1.0, 2.0, 8.0], "c": [5.0, 6.0, 1.0, 2.0]},
                         index=list("wxyz"))
    towns = pd.Series("t", index=table.index)
    res = build_index(table, STRUCTURE, aggregate="geometric")
    c = contributions(res, groups=towns)
    s = res.steps["aggregation"]["shift"]
    score = res.scores["top"]
    two = score.sort_values().iloc[1:3]
    ref = np.exp(np.log(two + s).mean()) - s                # even count: geometric mean of the middle two
    gap = c[c["kind"] == "indicator"].groupby("unit")["contribution"].sum()
    assert gap.to_numpy() == pytest.approx(np.log((score[gap.index] + s) / (ref + s)).to_numpy())
    assert (c["scale"] == "log").all()
    with pytest.raises(ValueError, match="harmonic"):
        contributions(build_index(table, STRUCTURE, aggregate="harmonic"), groups=towns)


def test_village_ranking_contributions_and_chart():
    table = pd.DataFrame({
        "village_name": ["甲村", "乙村", "丙村", "丁村"], "town_id": ["t1"] * 4,
        "mean_parcel_area_mu": [4.0, 2.0, 1.0, 3.0], "operating_income_per_resident_yuan": [10.0, 40.0, 20.0, 30.0],
        "certified_share": [0.1, 0.2, 0.9, 0.5]}, index=pd.Index(["a", "b", "c", "d"], name="village_id"))
    r = rank_villages(table, uncertainty=False, winsorise=False)
    c = contributions(r.result, groups=table["town_id"])
    fig = contribution_chart(c, "c", name="丙村")
    gap = r.table.at["c", "score"] - r.table["score"].median()
    assert fig.layout.meta["gap"] == pytest.approx(gap)
    assert sum(fig.data[0].x) == pytest.approx(gap)
    assert "丙村" in fig.layout.title.text and "中位数" in fig.layout.title.text
    assert "median" in contribution_chart(c, "c", lang="en").layout.title.text
    with pytest.raises(KeyError):
        contribution_chart(c, "nope")


def test_contributions_keep_each_towns_units_in_order_and_leave_out_units_without_a_town_or_score():
    table = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan], "b": [6.0, 5.0, 4.0, 3.0, 2.0, 1.0, np.nan],
                          "c": [2.0, 2.0, 2.0, 8.0, 8.0, 5.0, np.nan]}, index=list("pqrstuv"))
    towns = pd.Series(["t2", "t1", "t2", None, "t1", "t2", "t1"], index=table.index)
    res = build_index(table, STRUCTURE)
    score = res.scores["top"]
    assert np.isnan(score["v"])                          # no indicator at all: no score
    c = contributions(res, groups=towns)
    assert list(dict.fromkeys(c["unit"])) == ["p", "r", "u", "q", "t"]   # t2 first (seen first), units in order
    refs = c.drop_duplicates("group").set_index("group")["reference_score"]
    assert refs["t2"] == pytest.approx(score[["p", "r", "u"]].median())
    assert refs["t1"] == pytest.approx(score[["q", "t"]].mean())      # even: the mean of the middle two


def test_contributions_of_units_without_any_town_are_empty():
    table = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0], "c": [1.0, 3.0]}, index=["p", "q"])
    c = contributions(build_index(table, STRUCTURE), groups=pd.Series([None, None], index=table.index))
    assert len(c) == 0
