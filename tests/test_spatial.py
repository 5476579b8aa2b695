"""Moran's I and LISA over village polygons, checked by hand and against esda on a lattice."""
from __future__ import annotations

import re
import warnings

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from libpysal.weights import lat2W

from villagestudy.spatial import contiguity_weights, global_moran, local_moran, village_neighbours


def lattice(k: int = 4) -> gpd.GeoDataFrame:
    # row-major cells, the order of libpysal's lat2W
    cells = [shapely.box(i * 100, j * 100, (i + 1) * 100, (j + 1) * 100) for j in range(k) for i in range(k)]
    return gpd.GeoDataFrame({"village_id": [f"v{n:02d}" for n in range(k * k)]}, geometry=cells, crs="EPSG:4547")


def values(g: gpd.GeoDataFrame, x) -> pd.Series:
    return pd.Series(np.asarray(x, dtype=float), index=g["village_id"])


def test_checkerboard_with_rook_weights_is_minus_one_by_hand():
    # every rook pair differs: z = +-0.5, each of the 48 directed pairs gives z_i z_j = -0.25 with
    # row-standardised weights; I = (n / S0) sum w z z / sum z^2 = (16/16) * (-0.25 * 16) / (16 * 0.25) = -1
    g = lattice(4)
    board = values(g, [(i + j) % 2 for j in range(4) for i in range(4)])
    out = global_moran(g, board, contiguity="rook")
    assert out.loc[0, "moran_i"] == pytest.approx(-1.0)
    assert out.loc[0, "expected_i"] == pytest.approx(-1 / 15)
    assert out.loc[0, "n_villages"] == 16 and out.loc[0, "p_value"] < 0.01


def test_global_moran_equals_esda_on_a_lattice():
    g = lattice(5)
    x = np.random.default_rng(3).normal(size=25).cumsum()
    mine = global_moran(g, values(g, x), contiguity="rook", permutations=99)
    ref = esda.Moran(x, lat2W(5, 5, rook=True), permutations=0)
    assert mine.loc[0, "moran_i"] == pytest.approx(ref.I)
    assert mine.loc[0, "p_normal"] == pytest.approx(ref.p_norm)
    queen = global_moran(g, values(g, x), permutations=99)
    assert queen.loc[0, "moran_i"] == pytest.approx(esda.Moran(x, lat2W(5, 5, rook=False), permutations=0).I)
    # seeded: the same permutation p-value twice, and the global generator is left alone
    state = np.random.get_state()[1].copy()
    assert global_moran(g, values(g, x), seed=7).loc[0, "p_value"] == global_moran(g, values(g, x), seed=7).loc[0, "p_value"]
    assert (np.random.get_state()[1] == state).all()


def test_a_rare_flag_gives_no_bare_warning_about_a_statistic_not_shown():
    # a ring of eight villages (3 x 3 cells without the centre), one of them flagged: so kurtotic
    # that esda's randomisation variance is negative and its square root warns; a report shows
    # the normal approximation and the permutation p-value, not that statistic
    ring = [(i, j) for j in range(3) for i in range(3) if (i, j) != (1, 1)]
    g = gpd.GeoDataFrame({"village_id": [f"v{n}" for n in range(8)]}, crs="EPSG:4547",
                         geometry=[shapely.box(i * 100, j * 100, (i + 1) * 100, (j + 1) * 100) for i, j in ring])
    flag = values(g, [1, 0, 0, 0, 0, 0, 0, 0])
    with pytest.warns(RuntimeWarning):
        esda.Moran(flag.to_numpy(), contiguity_weights(g, contiguity="rook"), permutations=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = global_moran(g, flag, contiguity="rook", permutations=99)
    # one flag among eight on a ring: I = -1/7 = E[I] by hand, so z = 0
    assert out.loc[0, "moran_i"] == pytest.approx(-1 / 7) and out.loc[0, "z"] == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(out.loc[0, ["p_normal", "p_value"]].astype(float)).all()


def test_local_moran_labels_a_hot_spot_and_equals_esda():
    g = lattice(5)
    x = np.zeros(25)
    x[[0, 1, 5, 6]] = 10.0                       # a 2x2 block of high values in one corner
    x += np.arange(25) * 0.01                     # no ties
    out = local_moran(g, values(g, x), permutations=999, seed=1)
    ref = esda.Moran_Local(x, lat2W(5, 5, rook=False), permutations=0)   # the statistic, no simulation
    assert out["local_i"].to_numpy() == pytest.approx(ref.Is)
    assert out["quadrant"].tolist() == [{1: "HH", 2: "LH", 3: "LL", 4: "HL"}[q] for q in ref.q]
    assert out.loc["v00", "cluster"] == "HH" and out.loc["v06", "cluster"] == "HH"
    assert set(out["cluster"]) <= {"HH", "LL", "HL", "LH", "ns"}
    assert (out.loc[out["p_value"] >= 0.05, "cluster"] == "ns").all()


def test_local_moran_p_value_approaches_the_exact_conditional_permutation_p_value():
    # five villages in a row: village 1 has neighbours 0 and 2. Exactly: place every pair of the
    # other four values around it (6 pairs) and count how many local I are >= the observed one
    g = gpd.GeoDataFrame({"village_id": [f"r{k}" for k in range(5)]},
                         geometry=[shapely.box(k, 0, k + 1, 1) for k in range(5)])
    x = np.array([9.0, 7.0, 8.0, 1.0, 2.0])
    out = local_moran(g, values(g, x), contiguity="rook", permutations=20000, seed=0)
    z = x - x.mean()
    den = (z ** 2).sum()
    obs = 4 * z[1] * (z[0] + z[2]) / 2 / den
    others = np.delete(z, 1)
    sims = [4 * z[1] * (others[a] + others[b]) / 2 / den for a in range(4) for b in range(a + 1, 4)]
    larger = np.mean(np.asarray(sims) >= obs - 1e-12)
    exact = min(larger, 1 - larger)
    assert out.loc["r1", "local_i"] == pytest.approx(obs)
    assert out.loc["r1", "p_value"] == pytest.approx(exact, abs=0.01)


def test_missing_values_islands_and_refusals_are_reported():
    g = lattice(3)
    far = gpd.GeoDataFrame({"village_id": ["island"]}, geometry=[shapely.box(5000, 5000, 5100, 5100)],
                           crs="EPSG:4547")
    g2 = pd.concat([g, far], ignore_index=True)
    x = values(g2, [1, 2, 3, 4, 5, 6, 7, 8, np.nan, 3])
    out = global_moran(g2, x)
    assert out.attrs["left_out"] == ["v08"] and out.attrs["islands"] == ["island"]
    assert out.loc[0, "n_villages"] == 8
    with pytest.raises(ValueError, match="same for every village"):
        global_moran(g, values(g, [1.0] * 9))
    with pytest.raises(ValueError, match="at least 5"):
        global_moran(g, values(g, [1, 2, 3, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan]))
    weak = pd.Series([True, False] * 4 + [True], index=g["village_id"])
    assert np.isfinite(global_moran(g, weak).loc[0, "moran_i"])    # a yes/no indicator enters as 0/1
    assert sorted(contiguity_weights(g).neighbors["v04"]) == [f"v0{k}" for k in (0, 1, 2, 3, 5, 6, 7, 8)]


def test_lisa_map_colours_each_cluster_and_greys_the_left_out():
    from villagestudy import Study
    from villagestudy.viz import lisa_map
    from villagestudy.viz.lisa import LISA_COLORS

    g = lattice(5)
    villages = pd.DataFrame({"village_id": g["village_id"], "village_name": [f"村{k}" for k in range(25)],
                             "town_id": ["t1"] * 25})
    study = Study.from_frames(villages=villages, boundaries=g)
    x = np.zeros(25)
    x[[0, 1, 5, 6]] = 10.0
    x += np.arange(25) * 0.01
    series = values(g, x)
    series["v24"] = np.nan
    lisa = local_moran(g, series, seed=1)
    fig = lisa_map(study, lisa, "simpson_index", moran=global_moran(g, series))
    clusters = fig.layout.meta["clusters"]
    assert clusters["v00"] == "HH" and "v24" not in clusters and fig.layout.meta["left_out"] == ["v24"]
    fills = {tr.name: tr.fillcolor for tr in fig.data if tr.fill == "toself"}
    assert fills["高-高集聚"] == LISA_COLORS["HH"] and fills["不显著"] == LISA_COLORS["ns"]
    assert "Moran's I" in fig.layout.annotations[0].text
    assert "High-high cluster" in {tr.name for tr in lisa_map(study, lisa, "simpson_index", lang="en").data}


@settings(max_examples=25, deadline=None)
@given(k=st.integers(3, 6), contiguity=st.sampled_from(["queen", "rook"]), island=st.booleans(),
       seed=st.integers(0, 10_000), missing=st.floats(0, 0.4))
def test_neighbours_found_once_give_the_same_results_as_each_test_finding_them(k, contiguity, island, seed, missing):
    g = lattice(k)
    if island:
        far = gpd.GeoDataFrame({"village_id": ["island"]}, geometry=[shapely.box(9000, 9000, 9100, 9100)],
                               crs="EPSG:4547")
        g = pd.concat([g, far], ignore_index=True)
    rng = np.random.default_rng(seed)
    x = values(g, np.where(rng.random(len(g)) < missing, np.nan, rng.normal(size=len(g))))
    shared = village_neighbours(g, contiguity=contiguity)
    for test in (global_moran, local_moran):
        try:
            alone = test(g, x, contiguity=contiguity)
        except ValueError as e:  # too few villages left: refused alike
            with pytest.raises(ValueError, match=re.escape(str(e))):
                test(g, x, contiguity=contiguity, neighbours=shared)
            continue
        reused = test(g, x, contiguity=contiguity, neighbours=shared)
        pd.testing.assert_frame_equal(reused, alone, check_exact=False, rtol=1e-12)
        assert reused.attrs == alone.attrs


def test_neighbours_of_other_boundaries_are_refused():
    g = lattice(3)
    other = village_neighbours(lattice(2))
    with pytest.raises(ValueError, match="not made from these boundaries: no village v04"):
        global_moran(g, values(g, range(9)), neighbours=other)
