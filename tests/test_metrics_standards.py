"""Standards in one place: comparisons, missed standards, compliance matrix, standards table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagestudy import Study, catalog
from villagestudy.metrics import compute_indicators
from villagestudy.metrics.governance import office_area_m2
from villagestudy.metrics.income import weak_village
from villagestudy.metrics.standards import (compliance_matrix, meets, missed_standards, standard_indicators,
                                            standards_table)
from villagestudy.settings import STANDARDS, Settings

COLUMNS = ["village_id", "village_name", "town_id", "indicator", "standard_key", "value", "standard",
           "comparison", "status", "missed"]


def table(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    ids = [f"v{k}" for k in range(1, n + 1)]
    base = {"village_name": [f"村{k}" for k in range(1, n + 1)], "town_id": ["t1"] * n}
    return pd.DataFrame({**base, **cols}, index=pd.Index(ids, name="village_id"))


def row(m: pd.DataFrame, village: str, indicator: str) -> pd.Series:
    sel = m[(m["village_id"] == village) & (m["indicator"] == indicator)]
    assert len(sel) == 1
    return sel.iloc[0]


# -------------------------------------------------------------- meets
def test_meets_both_comparisons_at_and_around_the_threshold():
    assert meets(pd.Series([99_999.99, 100_000.0, 100_000.01]), 100_000).tolist() == [False, True, True]
    assert meets(pd.Series([0.49, 0.5, 0.786]), 0.5, "<=").tolist() == [True, True, False]
    assert meets(pd.Series([33_333.33 + 33_333.33 + 33_333.34]), 100_000).tolist() == [True]
    assert meets(pd.Series([9 / 5001 * 10_000, 9 / 5000 * 10_000]), 18).tolist() == [False, True]


def test_meets_is_na_for_missing_value_or_unset_standard():
    got = meets(pd.Series([1.0, np.nan]), 0.5)
    assert str(got.dtype) == "boolean" and got.tolist() == [True, pd.NA]
    assert meets(pd.Series([1.0, 2.0]), None).isna().all()
    with pytest.raises(ValueError):
        meets(pd.Series([1.0]), 1.0, ">")


# ------------------------------------------------------- missed standards
def test_missed_standards_long_table_by_hand():
    t = table(income_total_yuan=[99_999.99, 100_000.0, np.nan],
              operating_income_yuan=[60_000.0, 49_999.0, 50_000.0],
              social_workers_per_10k=[18.0, 17.9, 25.0],
              grid_part_time_share=[0.786, 0.5, np.nan],
              office_area_ok=pd.array([pd.NA, pd.NA, pd.NA], dtype="boolean"))
    m = missed_standards(t, Settings())
    assert list(m.columns) == COLUMNS
    assert str(m["missed"].dtype) == "boolean"
    # office standard not set (default None): no rows for it
    assert set(m["indicator"]) == {"income_total_yuan", "operating_income_yuan", "social_workers_per_10k",
                                   "grid_part_time_share"}
    assert len(m) == 3 * 4
    r = row(m, "v1", "income_total_yuan")
    assert (r["status"], bool(r["missed"]), r["standard"], r["comparison"]) == ("missed", True, 100_000.0, ">=")
    assert r["village_name"] == "村1" and r["town_id"] == "t1" and r["standard_key"] == "weak_total_yuan"
    assert row(m, "v2", "income_total_yuan")["status"] == "met"
    assert row(m, "v2", "operating_income_yuan")["status"] == "missed"
    assert row(m, "v3", "operating_income_yuan")["status"] == "met"
    assert row(m, "v1", "social_workers_per_10k")["status"] == "met"
    assert row(m, "v2", "social_workers_per_10k")["status"] == "missed"
    assert row(m, "v1", "grid_part_time_share")["status"] == "missed"
    assert row(m, "v2", "grid_part_time_share")["status"] == "met"
    # NaN is "no data", not missed
    nodata = row(m, "v3", "income_total_yuan")
    assert nodata["status"] == "no data" and nodata["missed"] is pd.NA
    missed_villages = m.loc[m["missed"].fillna(False).astype(bool), "village_id"].unique().tolist()
    assert missed_villages == ["v1", "v2"]
    assert any("office_area_ok" in n for n in m.attrs["notes"])


def test_threshold_overrides_change_what_is_missed():
    t = table(income_total_yuan=[150_000.0, 200_000.0], operating_income_yuan=[80_000.0, 100_000.0])
    assert not missed_standards(t)["missed"].any()
    m = missed_standards(t, {"weak_total_yuan": 200_000, "weak_operating_yuan": 100_000})
    assert m.loc[m["missed"].astype(bool), "village_id"].unique().tolist() == ["v1"]
    assert set(m["standard"]) == {200_000.0, 100_000.0}


def test_settings_default_to_those_recorded_by_compute_indicators():
    t = table(income_total_yuan=[150_000.0])
    t.attrs["settings"] = Settings().replace(weak_total_yuan=200_000).as_dict()
    assert bool(missed_standards(t)["missed"].iloc[0])


def test_every_standard_in_the_catalog_is_derived_generically():
    t = table(**{ind.id: [1.0] for ind in standard_indicators()}, office_area_m2=[1.0])
    m = missed_standards(t, Settings().replace(office_area_standard_m2=300))
    assert m["indicator"].tolist() == [i.id for i in catalog.indicators_with_standard()]
    assert set(m["standard_key"]) == {i.standard for i in catalog.indicators_with_standard()}
    assert set(m["standard_key"]) <= set(STANDARDS)


def test_office_standard_through_the_raw_area_or_the_flag():
    ids = [f"c{k:02d}" for k in range(28)]
    areas = [200.0] * 19 + [300.0] * 4 + [450.0] * 5          # 19 of 28 miss (seed 001)
    villages = pd.DataFrame({"village_id": ids, "village_name": ids, "town_id": ["t1"] * 28,
                             "resident_pop": [5000.0] * 28})
    gov = pd.DataFrame({"village_id": ids, "year": [2023] * 28, "office_area_m2": areas})
    study = Study.from_frames(villages=villages, governance=gov, settings={"office_area_standard_m2": 300})
    t = compute_indicators(study)
    m = missed_standards(t, study.settings)
    office = m[m["indicator"] == "office_area_ok"]
    assert int(office["missed"].sum()) == 19 and int((office["status"] == "met").sum()) == 9
    assert office["value"].isna().all()                                  # only the flag is in the table
    # with the raw area joined, the value is reported and other standards can be tried
    t2 = t.join(office_area_m2(study.governance, year=2023))
    m2 = missed_standards(t2, study.settings)
    office2 = m2[m2["indicator"] == "office_area_ok"]
    assert office2["value"].tolist() == areas and int(office2["missed"].sum()) == 19
    m3 = missed_standards(t2, study.settings.replace(office_area_standard_m2=250))
    assert int(m3.loc[m3["indicator"] == "office_area_ok", "missed"].sum()) == 19
    m4 = missed_standards(t2, study.settings.replace(office_area_standard_m2=150))
    assert int(m4.loc[m4["indicator"] == "office_area_ok", "missed"].sum()) == 0
    # a flag computed with another standard is not trusted: no data, with a note
    stale = missed_standards(t, study.settings.replace(office_area_standard_m2=150))
    so = stale[stale["indicator"] == "office_area_ok"]
    assert (so["status"] == "no data").all() and so["missed"].isna().all()
    assert any("office_area_m2" in n for n in stale.attrs["notes"])
    # no standard set: no office rows at all
    unset = missed_standards(compute_indicators(study, office_area_standard_m2=None), Settings())
    assert "office_area_ok" not in set(unset["indicator"])


def test_pinghu_401_villages_meet_every_standard():
    n = 401
    rng = np.random.default_rng(2019)
    total = np.where(np.arange(n) % 5 == 0, 100_000.0, 100_000.0 + rng.integers(0, 5_000_000, n))
    operating = np.where(np.arange(n) % 4 == 0, 50_000.0, np.minimum(total, 50_000.0 + rng.integers(0, 50_000, n)))
    t = table(income_total_yuan=total, operating_income_yuan=operating,
              social_workers_per_10k=18.0 + rng.random(n), grid_part_time_share=0.5 * rng.random(n))
    m = missed_standards(t)
    assert len(m) == 4 * n
    assert (m["status"] == "met").all()
    assert int(m["missed"].sum()) == 0
    matrix = compliance_matrix(t)
    assert matrix.shape == (n, 4) and bool(matrix.all().all())


def test_weak_village_and_missed_income_standards_agree():
    rows = []
    for k, (tot, op) in enumerate([(99_999.99, 60_000), (100_000, 50_000), (150_000, 49_999), (300_000, 200_000)]):
        rows += [{"village_id": f"v{k}", "year": 2023, "category": "business", "amount_yuan": float(op)},
                 {"village_id": f"v{k}", "year": 2023, "category": "subsidy", "amount_yuan": float(tot - op)}]
    income = pd.DataFrame(rows)
    villages = pd.DataFrame({"village_id": [f"v{k}" for k in range(4)], "village_name": list("甲乙丙丁"),
                             "town_id": ["t1"] * 4})
    for thresholds in ({}, {"weak_total_yuan": 200_000, "weak_operating_yuan": 100_000}):
        t = compute_indicators(Study.from_frames(villages=villages, income=income), **thresholds)
        m = missed_standards(t)
        income_missed = m[m["indicator"].isin(["income_total_yuan", "operating_income_yuan"])]
        by_village = income_missed.groupby("village_id")["missed"].any()
        assert by_village.tolist() == t["weak_village"].astype(bool).tolist()


@settings(max_examples=80, deadline=None)
@given(st.floats(min_value=0, max_value=1e7, allow_nan=False), st.floats(min_value=-1e6, max_value=1e7, allow_nan=False),
       st.sampled_from([(100_000, 50_000), (200_000, 100_000)]))
def test_property_weak_iff_an_income_standard_is_missed(subsidy, operating, thresholds):
    income = pd.DataFrame({"village_id": ["v"] * 2, "year": [2023] * 2, "category": ["investment", "subsidy"],
                           "amount_yuan": [operating, subsidy]})
    s = {"weak_total_yuan": thresholds[0], "weak_operating_yuan": thresholds[1]}
    weak = weak_village(income, **s).loc["v"]
    t = table(income_total_yuan=[operating + subsidy], operating_income_yuan=[operating])
    missed = missed_standards(t, s)["missed"].any()
    assert bool(weak) is bool(missed)


def test_empty_and_partial_tables():
    m = missed_standards(table(park_count=[1.0, 2.0]))
    assert list(m.columns) == COLUMNS and len(m) == 0
    t = table(grid_part_time_share=[0.6]).reset_index()            # village_id as a column works too
    assert missed_standards(t)["village_id"].tolist() == ["v1"]


# ------------------------------------------------------ compliance matrix
def test_compliance_matrix_true_false_na():
    t = table(income_total_yuan=[100_000.0, 50.0, np.nan], grid_part_time_share=[0.5, 0.786, 0.1])
    mat = compliance_matrix(t)
    assert list(mat.index) == ["v1", "v2", "v3"]
    assert list(mat.columns) == ["income_total_yuan", "grid_part_time_share"]
    assert all(str(d) == "boolean" for d in mat.dtypes)
    assert mat["income_total_yuan"].tolist() == [True, False, pd.NA]
    assert mat["grid_part_time_share"].tolist() == [True, False, True]
    assert mat.attrs["standards"] == {"income_total_yuan": "weak_total_yuan",
                                      "grid_part_time_share": "grid_part_time_max"}
    assert mat.attrs["thresholds"]["grid_part_time_share"] == 0.5


def test_compliance_matrix_of_the_tiny_study(tiny_study_dir):
    from villagestudy.io import load_study
    study = load_study(tiny_study_dir)
    t = compute_indicators(study)
    mat = compliance_matrix(t, study.settings)
    assert list(mat.columns) == [i.id for i in catalog.indicators_with_standard()]   # office standard set: 300
    assert mat.loc["044010000102"].tolist() == [False] * 5
    assert mat.loc["044010000201"].tolist() == [True] * 5


# -------------------------------------------------------- standards table
def test_standards_table_lists_every_standard_with_value_in_force():
    t = standards_table()
    assert t["key"].tolist() == list(STANDARDS)
    assert list(t.columns) == ["key", "label", "value", "default", "unit", "comparison", "indicators", "source"]
    byk = t.set_index("key")
    assert byk.loc["weak_total_yuan", "value"] == 100_000
    assert byk.loc["weak_total_yuan", "unit"] == "元"
    assert byk.loc["weak_total_yuan", "label"] == STANDARDS["weak_total_yuan"].label_zh
    assert byk.loc["grid_part_time_max", "comparison"] == "<="
    assert np.isnan(byk.loc["office_area_standard_m2", "value"])
    assert byk.loc["office_area_standard_m2", "indicators"] == "office_area_ok"
    assert all(byk["source"].str.len() > 0)
    en = standards_table({"weak_total_yuan": 200_000, "office_area_standard_m2": 300}, lang="en").set_index("key")
    assert en.loc["weak_total_yuan", "value"] == 200_000 and en.loc["weak_total_yuan", "default"] == 100_000
    assert en.loc["office_area_standard_m2", "value"] == 300
    assert en.loc["weak_total_yuan", "label"] == STANDARDS["weak_total_yuan"].label_en
    assert en.loc["social_workers_per_10k_min", "unit"] == "per 10,000 residents"


def test_index_page_key_figures_use_missed_standards(tiny_study_dir):
    from villagestudy import Scenario, evaluate
    from villagestudy.io import load_study
    from villagestudy.reports.index_page import key_figures

    study = load_study(tiny_study_dir)
    shown = evaluate(study, Scenario(runs=0))
    kf = key_figures(shown.indicators, shown.missed, study.villages)
    assert kf["440100001"]["weak"] == 1 and kf["440100001"]["missing"] == 1
    assert kf["440100002"]["missing"] == 0
