"""Governance indicators: published figures (DOMAIN.md, seeds 000 and 001), flags, gaps."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagestudy import Study, catalog
from villagestudy.metrics import Notes, compute_indicators
from villagestudy.metrics import governance as gov_mod
from villagestudy.metrics.governance import (FLAG_INDICATORS, GOVERNANCE_INDICATORS, budget_per_resident_yuan,
                                             certified_share, dispute_resolution_rate, experienced_share,
                                             former_cadre_present, governance_indicators, governance_rows,
                                             grid_count, grid_part_time_ok, grid_part_time_share,
                                             households_per_grid, micro_grid_count, micro_grid_party_coverage,
                                             office_area_m2, office_area_ok, party_volunteer_rate,
                                             registration_separation_rate, social_org_event_share,
                                             social_workers_ok, social_workers_per_10k)


def gov(rows: list[dict], year: int = 2023) -> pd.DataFrame:
    return pd.DataFrame([{"year": year, **r} for r in rows])


def villages_frame(ids, resident=None, registered=None):
    n = len(ids)
    return pd.DataFrame({"village_id": list(ids), "village_name": list(ids), "town_id": ["t1"] * n,
                         "kind": ["community"] * n,
                         "registered_pop": [10_000.0] * n if registered is None else [float(x) for x in registered],
                         "resident_pop": [10_000.0] * n if resident is None else [float(x) for x in resident],
                         "households": [3000.0] * n})


def messages(notes: Notes, indicator: str, village: str | None = None) -> list[str]:
    return [m for i, v, m in notes.items if i == indicator and (village is None or v == village)]


# ------------------------------------------------------ published figures
def test_longquan_party_members_volunteering_54_3_percent():
    g = gov([{"village_id": "longquan", "party_members_registered": 4569, "party_members_volunteering": 2479}])
    rate = party_volunteer_rate(g).loc["longquan"]
    assert rate == pytest.approx(2479 / 4569)
    assert rate == pytest.approx(0.5426, abs=5e-5)
    assert round(rate * 100, 1) == 54.3


def test_qingciyuan_one_of_eight_events_with_social_organisations():
    g = gov([{"village_id": "qingciyuan", "volunteer_events": 8, "volunteer_events_with_social_orgs": 1}])
    assert social_org_event_share(g).loc["qingciyuan"] == 0.125


def test_shuinan_registration_separation_53_6_percent():
    v = villages_frame(["shuinan"], registered=[4597], resident=[4597 - 2463])
    assert v.loc[0, "resident_pop"] == 2134
    rate = registration_separation_rate(v).loc["shuinan"]
    assert rate == pytest.approx(2463 / 4597)
    assert round(rate * 100, 1) == 53.6


def test_registration_separation_counts_people_moving_in_too_and_zero_registered_is_nan():
    v = villages_frame(["in", "zero", "none"], registered=[1000, 0, float("nan")], resident=[1500, 10, 10])
    notes = Notes()
    s = registration_separation_rate(v, notes)
    assert s.loc["in"] == 0.5
    assert np.isnan(s.loc["zero"]) and np.isnan(s.loc["none"])
    assert messages(notes, "registration_separation_rate", "zero")
    assert messages(notes, "registration_separation_rate", "none")


def dongkeng_grids(n_grids=12, per_grid=11, party=None):
    rows = []
    k = 0
    for g in range(n_grids):
        rows.append({"grid_id": f"G{g}", "village_id": "dongkeng", "level": "grid", "parent_grid_id": None,
                     "households": None, "has_party_group": True})
        for m in range(per_grid):
            rows.append({"grid_id": f"G{g}-{m}", "village_id": "dongkeng", "level": "micro",
                         "parent_grid_id": f"G{g}", "households": 40.0,
                         "has_party_group": True if party is None else party(k)})
            k += 1
    return pd.DataFrame(rows)


def test_dongkeng_party_group_on_each_of_132_micro_grids():
    grids = dongkeng_grids()
    assert micro_grid_count(grids).loc["dongkeng"] == 132
    assert grid_count(grids).loc["dongkeng"] == 12
    assert micro_grid_party_coverage(grids).loc["dongkeng"] == 1.0
    assert households_per_grid(grids).loc["dongkeng"] == 11 * 40.0        # from the micro-grids
    half = dongkeng_grids(party=lambda k: k % 2 == 0)
    assert micro_grid_party_coverage(half).loc["dongkeng"] == 0.5


def test_published_shares_of_social_workers():
    g = gov([{"village_id": "c", "social_workers": 10_000, "social_workers_certified": 2956,
              "social_workers_experienced": 4780}])
    assert certified_share(g).loc["c"] == pytest.approx(0.2956)      # 29.56%
    assert experienced_share(g).loc["c"] == pytest.approx(0.478)     # 47.8%


# -------------------------------------------------------------- standards
def test_social_workers_per_10k_both_sides_of_18():
    g = gov([{"village_id": "at", "social_workers": 9}, {"village_id": "below", "social_workers": 9},
             {"village_id": "above", "social_workers": 10}])
    v = villages_frame(["at", "below", "above"], resident=[5000, 5001, 5000])
    rate = social_workers_per_10k(g, v)
    assert rate.loc["at"] == pytest.approx(18.0)
    assert rate.loc["below"] == pytest.approx(9 / 5001 * 10_000)
    ok = social_workers_ok(g, v)
    assert str(ok.dtype) == "boolean"
    assert ok.tolist() == [True, False, True]          # 18 exactly meets the standard
    assert social_workers_ok(g, v, minimum=20).tolist() == [False, False, True]


def test_grid_part_time_share_78_6_percent_misses_the_recommendation():
    g = gov([{"village_id": "longquan", "grid_posts": 1000, "grid_posts_part_time": 786},
             {"village_id": "half", "grid_posts": 10, "grid_posts_part_time": 5},
             {"village_id": "third", "grid_posts": 9, "grid_posts_part_time": 3}])
    share = grid_part_time_share(g)
    assert share.loc["longquan"] == pytest.approx(0.786)
    ok = grid_part_time_ok(g)
    assert ok.loc["longquan"] == False  # noqa: E712
    assert ok.loc["half"] == True       # noqa: E712  exactly at 1/2 meets it
    assert ok.loc["third"] == True      # noqa: E712
    assert grid_part_time_ok(g, maximum=0.8).loc["longquan"] == True  # noqa: E712


def test_settings_overrides_reach_the_flags():
    v = villages_frame(["a"], resident=[5000])
    g = gov([{"village_id": "a", "social_workers": 9, "grid_posts": 1000, "grid_posts_part_time": 786,
              "office_area_m2": 250.0}])
    base = Study.from_frames(villages=v, governance=g)
    t0 = governance_indicators(base)
    assert t0.loc["a", "social_workers_ok"] == True and t0.loc["a", "grid_part_time_ok"] == False  # noqa: E712
    assert t0.loc["a", "office_area_ok"] is pd.NA
    t1 = compute_indicators(base, social_workers_per_10k_min=20, grid_part_time_max=0.8, office_area_standard_m2=200)
    assert t1.loc["a", "social_workers_ok"] == False  # noqa: E712
    assert t1.loc["a", "grid_part_time_ok"] == True   # noqa: E712
    assert t1.loc["a", "office_area_ok"] == True      # noqa: E712


def test_office_area_ok_na_with_note_when_no_standard_and_both_sides_when_set():
    g = gov([{"village_id": "a", "office_area_m2": 350.0}, {"village_id": "b", "office_area_m2": 300.0},
             {"village_id": "c", "office_area_m2": 299.9}, {"village_id": "d", "office_area_m2": None}])
    notes = Notes()
    unset = office_area_ok(g, notes=notes)
    assert str(unset.dtype) == "boolean" and unset.isna().all()
    assert any("office_area_standard_m2" in m for m in messages(notes, "office_area_ok"))
    got = office_area_ok(g, standard_m2=300)
    assert got.loc["a"] == True and got.loc["b"] == True and got.loc["c"] == False  # noqa: E712
    assert got.loc["d"] is pd.NA
    assert office_area_m2(g).loc["c"] == 299.9


def test_twenty_eight_communities_nineteen_miss_the_office_standard():
    """Seed 001: 19 of 28 communities miss the provincial office-space standard."""
    ids = [f"c{k:02d}" for k in range(28)]
    areas = [200.0] * 19 + [300.0] * 4 + [450.0] * 5
    g = gov([{"village_id": v, "office_area_m2": a} for v, a in zip(ids, areas)])
    study = Study.from_frames(villages=villages_frame(ids), governance=g, settings={"office_area_standard_m2": 300})
    flags = governance_indicators(study)["office_area_ok"]
    assert int((~flags).sum()) == 19 and int(flags.sum()) == 9


def test_former_cadre_present_flag():
    g = gov([{"village_id": "a", "former_cadres_on_staff": 0}, {"village_id": "b", "former_cadres_on_staff": 1},
             {"village_id": "c", "former_cadres_on_staff": 3}, {"village_id": "d", "former_cadres_on_staff": None}])
    f = former_cadre_present(g)
    assert str(f.dtype) == "boolean"
    assert f.tolist()[:3] == [False, True, True]
    assert f.loc["d"] is pd.NA


# -------------------------------------------------------- zero denominators
def test_zero_denominators_give_nan_with_note_never_inf():
    g = gov([{"village_id": "z", "social_workers": 0, "social_workers_certified": 0, "social_workers_experienced": 0,
              "former_cadres_on_staff": 0, "grid_posts": 0, "grid_posts_part_time": 0,
              "party_members_registered": 0, "party_members_volunteering": 0, "volunteer_events": 0,
              "volunteer_events_with_social_orgs": 0, "office_area_m2": 0.0, "budget_yuan": 200_000.0,
              "disputes_reported": 0, "disputes_resolved": 0}])
    v = villages_frame(["z"], resident=[0], registered=[0])
    notes = Notes()
    table = governance_indicators(Study.from_frames(villages=v, governance=g), notes=notes)
    numeric = table.drop(columns=list(FLAG_INDICATORS)).to_numpy(dtype=float)
    assert not np.isinf(numeric).any()
    for ind in ("social_workers_per_10k", "certified_share", "experienced_share", "grid_part_time_share",
                "party_volunteer_rate", "social_org_event_share", "dispute_resolution_rate",
                "budget_per_resident_yuan", "registration_separation_rate"):
        assert np.isnan(table.loc["z", ind]), ind
        assert any("zero" in m for m in messages(notes, ind, "z")), ind
    assert table.loc["z", "social_workers_ok"] is pd.NA
    assert table.loc["z", "grid_part_time_ok"] is pd.NA
    assert table.loc["z", "former_cadre_present"] == False  # noqa: E712


def test_dispute_rate_and_budget_by_hand():
    g = gov([{"village_id": "a", "disputes_reported": 20, "disputes_resolved": 18, "budget_yuan": 200_000.0}])
    v = villages_frame(["a"], resident=[4000])
    assert dispute_resolution_rate(g).loc["a"] == 0.9
    assert budget_per_resident_yuan(g, v).loc["a"] == 50.0


# ----------------------------------------------------------- years, gaps
def test_rows_of_the_chosen_year_only_and_missing_year_is_nan_with_note():
    g = pd.concat([gov([{"village_id": "a", "volunteer_events": 8, "volunteer_events_with_social_orgs": 1}], 2022),
                   gov([{"village_id": "a", "volunteer_events": 10, "volunteer_events_with_social_orgs": 5},
                        {"village_id": "b", "volunteer_events": 4, "volunteer_events_with_social_orgs": 1}], 2023)])
    notes = Notes()
    assert social_org_event_share(g).tolist() == [0.5, 0.25]                    # latest year by default
    s22 = social_org_event_share(g, year=2022, notes=notes)
    assert s22.loc["a"] == 0.125 and np.isnan(s22.loc["b"])
    assert any("2022" in m for m in messages(notes, "social_org_event_share", "b"))


def test_duplicate_rows_first_used_with_note_and_missing_column_noted():
    g = gov([{"village_id": "a", "volunteer_events": 8, "volunteer_events_with_social_orgs": 1},
             {"village_id": "a", "volunteer_events": 2, "volunteer_events_with_social_orgs": 2}])
    notes = Notes()
    assert governance_rows(g, notes=notes, indicator="x").loc["a", "volunteer_events"] == 8
    assert messages(notes, "x", "a")
    assert np.isnan(dispute_resolution_rate(g, notes=notes).loc["a"])
    assert any("no disputes_resolved column" in m for m in messages(notes, "dispute_resolution_rate"))


def test_grids_missing_households_and_unknown_party_group():
    grids = pd.DataFrame({
        "grid_id": ["G1", "G2", "G3", "m1", "m2", "m3", "m4"],
        "village_id": ["a"] * 7,
        "level": ["grid", "grid", "grid", "micro", "micro", "micro", "micro"],
        "parent_grid_id": [None, None, None, "G2", "G2", "G1", "G1"],
        "households": [500.0, None, None, 100.0, 200.0, 250.0, 250.0],
        "has_party_group": pd.array([True, True, True, True, None, "yes", "否"], dtype="object"),
    })
    notes = Notes()
    hh = households_per_grid(grids, villages=["a", "b"], notes=notes)
    assert hh.loc["a"] == (500 + 300) / 2            # G1 has its own count; G2 from micro-grids; G3 unknown
    assert np.isnan(hh.loc["b"])
    assert any("left out" in m for m in messages(notes, "households_per_grid", "a"))
    assert any("no grids" in m for m in messages(notes, "households_per_grid", "b"))
    cov = micro_grid_party_coverage(grids, villages=["a", "b"], notes=notes)
    assert cov.loc["a"] == pytest.approx(2 / 3)        # True, "yes" of three known
    assert np.isnan(cov.loc["b"])
    assert grid_count(grids, villages=["a", "b"]).tolist() == [3.0, 0.0]


# ----------------------------------------------------------- study level
def test_governance_indicators_columns_dtypes_and_missing_tables():
    v = villages_frame(["a", "b"], registered=[4597, 1000], resident=[2134, 1000])
    notes = Notes()
    table = governance_indicators(Study.from_frames(villages=v), notes=notes)
    assert list(table.columns) == list(GOVERNANCE_INDICATORS)
    assert set(GOVERNANCE_INDICATORS) == set(catalog.ids("governance"))
    for f in FLAG_INDICATORS:
        assert str(table[f].dtype) == "boolean" and table[f].isna().all()
    assert table["registration_separation_rate"].round(3).tolist() == [0.536, 0.0]   # villages table only
    assert table[["grid_count", "social_workers_per_10k"]].isna().all().all()
    assert any("no governance table" in m for m in messages(notes, "party_volunteer_rate"))
    assert any("no grid table" in m for m in messages(notes, "grid_count"))


def test_compute_indicators_keeps_governance_flags_boolean(tiny_study_dir):
    from villagestudy.io import load_study
    study = load_study(tiny_study_dir)
    table = compute_indicators(study)
    for f in FLAG_INDICATORS:
        assert str(table[f].dtype) == "boolean", f
    community = "044010000201"
    assert table.loc[community, "party_volunteer_rate"] == pytest.approx(2479 / 4569)
    assert table.loc[community, "registration_separation_rate"] == pytest.approx(2463 / 4597)
    assert table.loc[community, "social_org_event_share"] == 0.125
    assert table.loc[community, "micro_grid_party_coverage"] == 0.5
    assert table.loc[community, "office_area_ok"] == True  # noqa: E712  300 m2 at the study's 300 m2 standard
    assert table.loc["044010000102", "office_area_ok"] == False  # noqa: E712
    assert np.isnan(table.loc["044010000102", "dispute_resolution_rate"])   # no disputes reported


# ------------------------------------------------------------ properties
@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=10_000))
def test_rates_are_shares_or_nan(a, b):
    part, whole = min(a, b), max(a, b)
    g = gov([{"village_id": "v", "grid_posts": whole, "grid_posts_part_time": part}])
    s = grid_part_time_share(g).loc["v"]
    if whole == 0:
        assert np.isnan(s)
    else:
        assert 0.0 <= s <= 1.0 and s == pytest.approx(part / whole)
        assert bool(grid_part_time_ok(g).loc["v"]) is (part / whole <= 0.5 + 1e-12)


def test_docstrings_state_formula_and_example():
    for name in gov_mod.__all__:
        fn = getattr(gov_mod, name)
        if callable(fn):
            assert fn.__doc__ and "Examples" in fn.__doc__, name
            assert "{params" not in fn.__doc__, name
