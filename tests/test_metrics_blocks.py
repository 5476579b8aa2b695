"""Contiguous blocks and the geometric land indicators, checked by hand."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from villagestudy.metrics import Notes
from villagestudy.metrics.blocks import adjacent_pairs, block_table, check_projected, distinct_count, find_blocks
from villagestudy.metrics.land import (block_count, contiguous_share, effective_mesh_ratio, effective_mesh_size_mu,
                                       farmland_area_mu, owner_mesh_ratio, owners_per_block_am, shape_index_am)

CRS = "EPSG:4547"
X0, Y0 = 500_000.0, 2_500_000.0


def frame(geoms, areas=None, villages=None, uses=None, owners=None, crs=CRS):
    n = len(geoms)
    d = {
        "parcel_id": [f"p{i}" for i in range(n)],
        "village_id": villages or ["v1"] * n,
        "land_use": uses or ["arable"] * n,
        "area_mu": [float(a) for a in areas] if areas is not None else [1.0] * n,
    }
    if owners is not None:
        d["owner_id"] = owners
    return gpd.GeoDataFrame(d, geometry=list(geoms), crs=crs)


def sq(x, y, side=10.0):
    return shapely.box(X0 + x, Y0 + y, X0 + x + side, Y0 + y + side)


# ------------------------------------------------------------- find_blocks
@pytest.mark.parametrize("method", ["auto", "envelope", "strtree"])
@pytest.mark.parametrize("gap, tol, expected", [
    (0.0, 1.0, [0, 0]),     # touching
    (0.5, 1.0, [0, 0]),     # nearly touching, within tolerance
    (1.0, 1.0, [0, 0]),     # exactly at the tolerance joins
    (3.0, 1.0, [0, 1]),     # apart
    (0.0, 0.0, [0, 0]),     # touching with zero tolerance
    (0.5, 0.0, [0, 1]),
])
def test_touching_near_and_apart(method, gap, tol, expected):
    p = frame([sq(0, 0), sq(10 + gap, 0)])
    assert find_blocks(p, tol, method=method).tolist() == expected


@pytest.mark.parametrize("method", ["auto", "envelope", "strtree"])
def test_diagonal_gap_is_euclidean(method):
    # corner to corner: dx = dy = 0.8 -> 1.13 m apart; dx = dy = 0.7 -> 0.99 m
    far = frame([sq(0, 0), sq(10.8, 10.8)])
    near = frame([sq(0, 0), sq(10.7, 10.7)])
    assert find_blocks(far, 1.0, method=method).tolist() == [0, 1]
    assert find_blocks(near, 1.0, method=method).tolist() == [0, 0]


@pytest.mark.parametrize("method", ["auto", "envelope", "strtree"])
def test_non_rectangles_use_exact_distance(method):
    # two triangles whose envelopes overlap but which are 5 m apart along the diagonal
    t1 = shapely.Polygon([(X0, Y0), (X0 + 100, Y0), (X0, Y0 + 100)])
    off = 5 / math.sqrt(2)
    t2 = shapely.Polygon([(X0 + 100 + off, Y0 + off), (X0 + 100 + off, Y0 + 100 + off), (X0 + off, Y0 + 100 + off)])
    assert shapely.distance(t1, t2) == pytest.approx(5.0)
    assert find_blocks(frame([t1, t2]), 1.0, method=method).tolist() == [0, 1]
    assert find_blocks(frame([t1, t2]), 5.5, method=method).tolist() == [0, 0]


def test_chain_makes_one_block_and_blocks_never_cross_villages():
    geoms = [sq(0, 0), sq(10, 0), sq(20.5, 0), sq(100, 0), sq(30.5, 0)]
    p = frame(geoms, villages=["v1", "v1", "v1", "v1", "v2"])
    lab = find_blocks(p, 1.0)
    # v1: chain 0-1-2 is one block, 3 is apart; parcel 4 touches 2 but is in v2
    assert lab.tolist() == [0, 0, 0, 1, 2]
    assert lab.name == "block_id" and str(lab.dtype) == "Int64"
    assert block_count(p).to_dict() == {"v1": 2.0, "v2": 1.0}


def test_labels_follow_village_order_and_parcels_order():
    p = frame([sq(0, 0), sq(50, 0), sq(0, 0), sq(10, 0)], villages=["v2", "v2", "v1", "v1"])
    assert find_blocks(p).tolist() == [1, 2, 0, 0]


def test_left_out_parcels_get_na():
    geoms = [sq(0, 0), sq(10, 0), None, sq(20, 0), shapely.Polygon(), sq(30, 0)]
    p = frame(geoms, areas=[1, 1, 1, 0, 1, 1], uses=["arable", "forest", "arable", "arable", "arable", "arable"])
    lab = find_blocks(p, 1.0, farmland_uses=["arable"])
    # forest (1), missing (2), zero area (3) and empty (4) geometries get no block; so 0 and 5 are apart
    assert lab.isna().tolist() == [False, True, True, True, True, False]
    assert lab.dropna().tolist() == [0, 1]
    # without the land-use filter, the forest parcel joins 0 but 3 (zero area) still does not bridge to 5
    lab2 = find_blocks(p, 1.0)
    assert lab2.tolist()[:2] == [0, 0] and lab2.iloc[5] == 1


def test_index_is_kept():
    p = frame([sq(0, 0), sq(10, 0)]).set_index(pd.Index(["a", "b"]))
    assert find_blocks(p).index.tolist() == ["a", "b"]


def test_geographic_crs_and_missing_geometry_raise():
    g = frame([shapely.box(113, 23, 113.001, 23.001)], crs="EPSG:4326")
    with pytest.raises(ValueError, match="EPSG:4326"):
        find_blocks(g)
    with pytest.raises(ValueError, match="EPSG:4326"):
        effective_mesh_size_mu(g)
    with pytest.raises(ValueError, match="geographic"):
        shape_index_am(g)
    with pytest.raises(ValueError, match="EPSG:4326"):
        check_projected(g)
    with pytest.raises(ValueError, match="no geometry"):
        find_blocks(pd.DataFrame({"village_id": ["v1"], "area_mu": [1.0]}))


def test_adjacent_pairs():
    g = shapely.box([0, 10, 10.5, 50], 0, [10, 10.4, 20, 60], 10)
    i, j = adjacent_pairs(g, 1.0)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 1), (0, 2), (1, 2)]
    i, j = adjacent_pairs(g, 1.0, groups=[0, 1, 1, 1])
    assert list(zip(i.tolist(), j.tolist())) == [(1, 2)]
    with pytest.raises(ValueError):
        adjacent_pairs(g, -1.0)
    with pytest.raises(ValueError):
        adjacent_pairs(g, 1.0, method="nope")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 60), st.floats(0, 60), st.floats(0.5, 15), st.floats(0.5, 15),
                          st.floats(0, 90), st.integers(0, 1)), min_size=1, max_size=25),
       st.sampled_from([0.0, 0.5, 1.0, 2.5]))
def test_methods_agree(specs, tol):
    geoms = []
    for x, y, w, h, angle, rot in specs:
        g = shapely.box(x, y, x + w, y + h)
        if rot:
            g = shapely.affinity.rotate(g, angle)
        geoms.append(g)
    geoms = np.array(geoms, dtype=object)
    groups = np.arange(len(geoms)) % 2
    got = {m: adjacent_pairs(geoms, tol, groups=groups, method=m) for m in ("auto", "envelope", "strtree")}
    ref = set(zip(*[a.tolist() for a in got["strtree"]]))
    for m in ("auto", "envelope"):
        assert set(zip(*[a.tolist() for a in got[m]])) == ref
    for a, b in ref:
        assert groups[a] == groups[b]
        assert shapely.distance(geoms[a], geoms[b]) <= tol + 1e-9


# ------------------------------------------------------------- block_table
def test_block_table_by_hand():
    geoms = [sq(0, 0), sq(10, 0), sq(20.5, 0), sq(100, 0), sq(0, 0)]
    p = frame(geoms, areas=[10, 5, 15, 10, 7], villages=["v1", "v1", "v1", "v1", "v2"],
              owners=["A", "B", "A", None, "C"])
    t = block_table(p)
    assert list(t.columns) == ["village_id", "block_id", "parcels", "area_mu", "owners"]
    assert t["village_id"].tolist() == ["v1", "v1", "v2"]
    assert t["block_id"].tolist() == [0, 1, 2]
    assert t["parcels"].tolist() == [3, 1, 1]
    assert t["area_mu"].tolist() == [30.0, 10.0, 7.0]
    assert t["owners"].tolist() == [2, pd.NA, 1]


# ----------------------------------------------------- geometric indicators
def two_blocks(areas=(4, 6, 30), owners=None):
    # block 1: parcels 0 and 1 touching (area 10 mu); block 2: parcel 2 alone (30 mu)
    return frame([sq(0, 0), sq(10, 0), sq(50, 0)], areas=list(areas), owners=owners)


def test_effective_mesh_size_by_hand():
    p = two_blocks()
    assert effective_mesh_size_mu(p).loc["v1"] == pytest.approx((10 ** 2 + 30 ** 2) / 40)  # 25
    assert effective_mesh_size_mu(p, tolerance_m=50).loc["v1"] == pytest.approx(40)


def test_effective_mesh_ratio_by_hand():
    p = two_blocks()                              # blocks of 10 and 30 mu
    assert effective_mesh_ratio(p).loc["v1"] == pytest.approx((10 ** 2 + 30 ** 2) / 40 ** 2)  # 0.625
    assert effective_mesh_ratio(p, tolerance_m=50).loc["v1"] == pytest.approx(1.0)
    # the same layout at twice the scale (areas x 4) has the same ratio: it does not measure size
    assert effective_mesh_ratio(two_blocks(areas=(16, 24, 120))).loc["v1"] == pytest.approx(0.625)


def test_owner_mesh_ratio_by_hand():
    p = two_blocks(owners=["A", "B", "A"])        # pieces 4 (A), 6 (B), 30 (A)
    assert owner_mesh_ratio(p).loc["v1"] == pytest.approx((4 ** 2 + 6 ** 2 + 30 ** 2) / 40 ** 2)
    p = two_blocks(owners=["A", "A", "A"])        # one owner: same as the mesh ratio
    assert owner_mesh_ratio(p).loc["v1"] == pytest.approx(0.625)
    notes = Notes()
    p = two_blocks(owners=["A", "A", None])       # the 30-mu parcel has no owner: left out
    assert owner_mesh_ratio(p, notes=notes).loc["v1"] == pytest.approx(1.0)
    assert any("without owner_id" in m for m in notes.for_indicator("owner_mesh_ratio"))
    notes = Notes()
    assert np.isnan(owner_mesh_ratio(two_blocks(), notes=notes).loc["v1"])
    assert notes.for_indicator("owner_mesh_ratio") == ["the parcels have no owner_id column"]


def test_splitting_a_block_lowers_owners_per_block_but_not_owner_mesh():
    # the defect that took owners_per_block_am out of the index: pulling a two-owner
    # block apart "improves" it, while the monotone owner_mesh_ratio gets worse
    joined = frame([sq(0, 0), sq(10, 0)], areas=[10, 10], owners=["A", "B"])
    apart = frame([sq(0, 0), sq(14, 0)], areas=[10, 10], owners=["A", "B"])
    assert owners_per_block_am(joined).loc["v1"] == 2.0 and owners_per_block_am(apart).loc["v1"] == 1.0
    assert owner_mesh_ratio(joined).loc["v1"] == owner_mesh_ratio(apart).loc["v1"] == pytest.approx(0.5)
    same = frame([sq(0, 0), sq(10, 0)], areas=[10, 10], owners=["A", "A"])
    assert effective_mesh_ratio(same).loc["v1"] == 1.0 and effective_mesh_ratio(apart).loc["v1"] == 0.5


def test_contiguous_share_by_hand():
    p = two_blocks(areas=(20, 30, 40))  # blocks of 50 and 40 mu
    assert contiguous_share(p).loc["v1"] == pytest.approx(50 / 90)      # a 50-mu block counts
    assert contiguous_share(p, min_block_mu=40).loc["v1"] == pytest.approx(1.0)
    assert contiguous_share(p, min_block_mu=60).loc["v1"] == 0.0


def test_owners_per_block_by_hand():
    p = two_blocks(owners=["A", "B", "A"])        # block 10 mu: 2 owners; 30 mu: 1
    assert owners_per_block_am(p).loc["v1"] == pytest.approx((10 * 2 + 30 * 1) / 40)
    p = two_blocks(owners=["A", "A", None])       # the 30-mu block has no owner: left out
    notes = Notes()
    assert owners_per_block_am(p, notes=notes).loc["v1"] == pytest.approx(1.0)
    assert any("without any owner_id" in m for m in notes.for_indicator("owners_per_block_am"))
    notes = Notes()
    assert np.isnan(owners_per_block_am(two_blocks(), notes=notes).loc["v1"])
    assert notes.for_indicator("owners_per_block_am") == ["the parcels have no owner_id column"]


def test_shape_index_by_hand():
    square = shapely.box(X0, Y0, X0 + 4, Y0 + 4)           # A = 16, SHAPE = 1
    rect = shapely.box(X0 + 10, Y0, X0 + 11, Y0 + 4)        # A = 4, SHAPE = 0.25 * 10 / 2 = 1.25
    assert shape_index_am(frame([square])).loc["v1"] == pytest.approx(1.0)
    assert shape_index_am(frame([rect])).loc["v1"] == pytest.approx(1.25)
    mu = 10000 / 15
    assert shape_index_am(frame([square, rect], areas=[16 / mu, 4 / mu])).loc["v1"] == pytest.approx(
        (16 * 1 + 4 * 1.25) / 20)
    # the weights are the parcels' area_mu (registered or drawn, settings.area_source), like every land indicator
    assert shape_index_am(frame([square, rect], areas=[1, 3])).loc["v1"] == pytest.approx((1 * 1 + 3 * 1.25) / 4)
    big = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    assert shape_index_am(frame([big])).loc["v1"] == pytest.approx(1.0)


def test_geometric_indicators_without_geometry_are_nan_with_note():
    p = pd.DataFrame({"parcel_id": ["a"], "village_id": ["v1"], "land_use": ["arable"], "area_mu": [1.0],
                      "owner_id": ["A"]})
    for fn, ind in [(block_count, "block_count"), (effective_mesh_size_mu, "effective_mesh_size_mu"),
                    (contiguous_share, "contiguous_share"), (owners_per_block_am, "owners_per_block_am"),
                    (shape_index_am, "shape_index_am")]:
        notes = Notes()
        s = fn(p, notes=notes)
        assert s.isna().all() and s.name == ind
        assert any("no geometry" in m for m in notes.for_indicator(ind))


def test_some_parcels_without_geometry_are_left_out_with_note():
    p = frame([sq(0, 0), sq(10, 0), None], areas=[10, 30, 5])
    notes = Notes()
    assert effective_mesh_size_mu(p, notes=notes).loc["v1"] == pytest.approx(40)
    assert any("1 farmland parcel(s) with no geometry" in m for m in notes.for_indicator("effective_mesh_size_mu"))
    notes = Notes()
    assert shape_index_am(p, notes=notes).loc["v1"] == pytest.approx(1.0)
    assert notes.for_indicator("shape_index_am")


def test_village_without_farmland_is_nan_not_inf():
    p = frame([sq(0, 0), sq(100, 0), sq(300, 0)], areas=[10, 5, 0], villages=["v1", "v2", "v3"],
              uses=["arable", "forest", "arable"], owners=["A", "B", "C"])
    notes = Notes()
    assert block_count(p, notes=notes).to_dict() == {"v1": 1.0, "v2": 0.0, "v3": 0.0}
    for fn in (effective_mesh_size_mu, contiguous_share, owners_per_block_am, shape_index_am):
        s = fn(p, notes=notes)
        assert np.isfinite(s.loc["v1"])
        assert np.isnan(s.loc["v2"]) and np.isnan(s.loc["v3"])
    assert any(v == "v2" and "no farmland" in m for i, v, m in notes.items if i == "effective_mesh_size_mu")
    assert any(v == "v3" and "area_mu" in m for i, v, m in notes.items if i == "contiguous_share")


def test_given_blocks_need_no_geometry():
    p = pd.DataFrame({"village_id": ["v1"] * 3 + ["v2"], "land_use": ["arable"] * 4,
                      "area_mu": [10.0, 20.0, 10.0, 5.0], "owner_id": ["A", "B", "A", "A"]})
    blocks = pd.Series([0, 0, 1, 0])  # label 0 in two villages: two blocks
    assert effective_mesh_size_mu(p, blocks=blocks).to_dict() == {"v1": 25.0, "v2": 5.0}
    assert block_count(p, blocks=blocks).to_dict() == {"v1": 2.0, "v2": 1.0}
    assert owners_per_block_am(p, blocks=blocks).loc["v1"] == pytest.approx(1.75)


# ------------------------------------------------------------------ properties
grid_cells = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.floats(0.1, 100)),
                      min_size=1, max_size=30, unique_by=lambda t: (t[0], t[1]))


@settings(max_examples=40, deadline=None)
@given(grid_cells, st.sampled_from([0.0, 1.0, 3.0]))
def test_mesh_size_at_most_farmland_area(cells, gap):
    # unit cells of a grid with a gap: some touch, some not
    step = 10 + gap
    p = frame([sq(i * step, j * step) for i, j, _ in cells], areas=[a for *_, a in cells])
    mesh = effective_mesh_size_mu(p).loc["v1"]
    area = farmland_area_mu(p).loc["v1"]
    assert 0 < mesh <= area * (1 + 1e-12)
    assert mesh >= area / block_count(p).loc["v1"] * (1 - 1e-12)  # Cauchy-Schwarz: sum B^2 >= (sum B)^2 / k
    share = contiguous_share(p).loc["v1"]
    assert 0 <= share <= 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.1, 100), min_size=1, max_size=30))
def test_one_block_mesh_equals_farmland_area(areas):
    n = len(areas)
    # a row of touching squares is one block
    p = frame([sq(10 * k, 0) for k in range(n)], areas=areas)
    total = farmland_area_mu(p).loc["v1"]
    assert block_count(p).loc["v1"] == 1
    assert effective_mesh_size_mu(p).loc["v1"] == pytest.approx(total, rel=1e-12)
    # the same with every parcel merged into one given block (no geometry needed)
    q = pd.DataFrame(p.drop(columns="geometry"))
    assert effective_mesh_size_mu(q, blocks=pd.Series([7] * n)).loc["v1"] == pytest.approx(total, rel=1e-12)


def test_vectorised_on_a_larger_grid():
    # 200 x 200 touching boxes in 4 villages: one block per village
    k = 200
    ix, iy = np.divmod(np.arange(k * k), k)
    geoms = shapely.box(X0 + ix * 10.0, Y0 + iy * 10.0, X0 + ix * 10.0 + 10, Y0 + iy * 10.0 + 10)
    vil = np.where(ix < k // 2, "a", "b").astype(object) + np.where(iy < k // 2, "1", "2").astype(object)
    p = gpd.GeoDataFrame({"village_id": vil, "land_use": "arable", "area_mu": 0.15}, geometry=geoms, crs=CRS)
    assert block_count(p).tolist() == [1.0] * 4
    assert effective_mesh_size_mu(p).tolist() == pytest.approx([0.15 * k * k / 4] * 4)


def test_public_functions_have_examples():
    from villagestudy.metrics import blocks as mod

    for name in mod.__all__:
        fn = getattr(mod, name)
        if callable(fn):
            assert fn.__doc__ and "Examples" in fn.__doc__, name
            assert "{params}" not in fn.__doc__, name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 6), st.integers(-1, 9)), max_size=60))
def test_distinct_count_counts_each_item_once_per_group(pairs):
    """Against a count of distinct (group, item) pairs written out by hand; missing codes (-1) left out."""
    group = np.array([g for g, _ in pairs], dtype=np.int64)
    item = np.array([i for _, i in pairs], dtype=np.int64)
    expected = [len({i for g, i in pairs if g == k and i >= 0}) for k in range(7)]
    assert distinct_count(group, item, 7).tolist() == expected
