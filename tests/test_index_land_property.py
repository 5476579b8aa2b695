"""Property: a village made strictly more fragmented never gains on the land pillar.

"More fragmented" is one of: a parcel split in two (same household, same
owner, the halves touching); two neighbouring parcels pulled apart (beyond the
block tolerance); a parcel of a block given to an economic society (owner)
that held none of it. None may improve any land indicator the index scores,
nor the village's land score, whatever the other villages look like.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from villagestudy import Study, catalog
from villagestudy.metrics.land import land_indicators
from villagestudy.ranking import rank_villages

MU = 10000 / 15  # m2 per mu
DEPTH = 40.0     # every parcel is a DEPTH-metre-deep strip of the given width
GAP = 5.0        # > the 1 m block tolerance: a gap that separates blocks
LAND_SCORED = [i for i in catalog.ids("land") if catalog.get(i).in_index and not i.startswith("park_")]

parcel = st.tuples(st.integers(5, 60),            # width (m)
                   st.integers(0, 2),             # household
                   st.integers(0, 2),             # owner
                   st.booleans())                 # a gap before this parcel
village = st.lists(parcel, min_size=2, max_size=6)


def layout(vid: str, spec, y0: float) -> list[dict]:
    rows, x = [], 0.0
    for k, (width, hh, owner, gap) in enumerate(spec):
        if gap and k:
            x += GAP
        geom = shapely.box(x, y0, x + width, y0 + DEPTH)
        rows.append({"parcel_id": f"{vid}-{k}", "village_id": vid, "land_use": "arable",
                     "household_id": f"{vid}-h{hh}", "owner_id": f"{vid}-o{owner}", "geometry": geom})
        x += width
    return rows


def study_of(rows: list[dict]) -> Study:
    p = gpd.GeoDataFrame(rows, crs="EPSG:4547")
    p["area_mu"] = p.geometry.area / MU
    ids = sorted(p["village_id"].unique())
    v = pd.DataFrame({"village_id": ids, "village_name": ids, "town_id": ["t1"] * len(ids),
                      "resident_pop": [1000] * len(ids)})
    return Study.from_frames(villages=v, parcels=p)


def split(rows, k):
    r = dict(rows[k])
    x0, y0, x1, y1 = r["geometry"].bounds
    mid = (x0 + x1) / 2
    left = {**r, "geometry": shapely.box(x0, y0, mid, y1)}
    right = {**r, "parcel_id": r["parcel_id"] + "b", "geometry": shapely.box(mid, y0, x1, y1)}
    return rows[:k] + [left, right] + rows[k + 1:]


def pull_apart(rows, k):
    out = list(rows[:k])
    for r in rows[k:]:  # every parcel from k on moves right by GAP
        out.append({**r, "geometry": shapely.affinity.translate(r["geometry"], GAP)})
    return out


def new_owner(rows, k):
    return rows[:k] + [{**rows[k], "owner_id": rows[k]["village_id"] + "-o-new"}] + rows[k + 1:]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=village, others=st.lists(village, min_size=2, max_size=3),
       how=st.sampled_from(["split", "pull_apart", "new_owner"]), which=st.integers(0, 10),
       winsorise=st.booleans())
def test_more_fragmentation_never_improves_land_indicators_or_score(target, others, how, which, winsorise):
    base = layout("v0", target, 0.0)
    rest = [r for j, spec in enumerate(others) for r in layout(f"v{j + 1}", spec, 100.0 * (j + 1))]
    k = which % len(base)
    if how == "pull_apart":
        k = max(k, 1)
    changed = {"split": split, "pull_apart": pull_apart, "new_owner": new_owner}[how](base, k)

    before_t = land_indicators(study_of(base + rest))
    after_t = land_indicators(study_of(changed + rest))
    for ind in LAND_SCORED:
        d = catalog.get(ind).direction
        b, a = before_t.at["v0", ind], after_t.at["v0", ind]
        assert not (np.isnan(b) ^ np.isnan(a)), ind
        if not np.isnan(b):
            assert d * a <= d * b + 1e-12, (ind, how, b, a)

    def score(table):
        table = table.assign(town_id="t1", village_name=table.index)
        return rank_villages(table, uncertainty=False, winsorise=winsorise).table.at["v0", "land"]

    sb, sa = score(before_t), score(after_t)
    assume(not np.isnan(sb))
    assert sa <= sb + 1e-9, (how, sb, sa)


def test_the_index_scores_only_land_indicators_that_this_property_covers():
    # the property above is about every scored land indicator except the parks' (which parcels do not touch)
    assert set(LAND_SCORED) == {"mean_parcel_area_mu", "simpson_index", "effective_mesh_ratio", "owner_mesh_ratio"}
