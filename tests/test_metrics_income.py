"""Income indicators: published figures (DOMAIN.md), thresholds, losses, gaps, properties."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagestudy import Study, catalog
from villagestudy.metrics import Notes, compute_indicators
from villagestudy.metrics import income as inc_mod
from villagestudy.metrics.income import (INCOME_INDICATORS, category_amounts, income_by_year, income_cagr,
                                         income_growth, income_hhi, income_indicators, income_panel,
                                         income_per_resident_yuan, income_share, income_total_yuan,
                                         operating_income_per_resident_yuan, operating_income_yuan,
                                         share_investment, share_subsidy, weak_village)
from villagestudy.schema import INCOME_CATEGORIES

CATS = list(INCOME_CATEGORIES)


# ----------------------------------------------------------------- builders
def income_rows(data: dict, year: int = 2023) -> pd.DataFrame:
    """{village: {category: amount}} -> long income table of one year."""
    rows = [{"village_id": v, "year": year, "category": c, "amount_yuan": float(a)}
            for v, amounts in data.items() for c, a in amounts.items()]
    return pd.DataFrame(rows, columns=["village_id", "year", "category", "amount_yuan"])


def villages_frame(ids, resident=None, town="t1"):
    n = len(ids)
    return pd.DataFrame({"village_id": list(ids), "village_name": [f"村{i}" for i in ids], "town_id": [town] * n,
                         "registered_pop": [1000.0] * n,
                         "resident_pop": [1000.0] * n if resident is None else [float(r) for r in resident],
                         "households": [300.0] * n})


def make_study(income: pd.DataFrame | None, ids=None, resident=None, **settings) -> Study:
    if ids is None:
        ids = sorted(set(income["village_id"])) if income is not None else ["v1"]
    return Study.from_frames(villages=villages_frame(ids, resident), income=income, settings=settings or None)


def split(total: float, operating: float) -> dict:
    """Categories with the given operating income and total (subsidy carries the rest)."""
    return {"business": operating, "contracting": 0.0, "investment": 0.0, "subsidy": total - operating, "other": 0.0}


def messages(notes: Notes, indicator: str, village: str | None = None) -> list[str]:
    return [m for i, v, m in notes.items if i == indicator and (village is None or v == village)]


# ------------------------------------------------------- totals and shares
def test_total_operating_and_shares_by_hand():
    income = income_rows({"v1": {"business": 60_000, "contracting": 30_000, "investment": 12_000,
                                 "subsidy": 24_000, "other": 6_000}})
    assert income_total_yuan(income).loc["v1"] == 132_000
    assert operating_income_yuan(income).loc["v1"] == 102_000
    assert income_share(income, "business").loc["v1"] == pytest.approx(60_000 / 132_000)
    assert share_subsidy(income).loc["v1"] == pytest.approx(24_000 / 132_000)
    shares = [income_share(income, c).loc["v1"] for c in CATS]
    assert sum(shares) == pytest.approx(1.0)
    hhi = sum((x / 132_000) ** 2 for x in (60_000, 30_000, 12_000, 24_000, 6_000))
    assert income_hhi(income).loc["v1"] == pytest.approx(hhi)


def test_series_are_named_and_indexed_by_village_id():
    income = income_rows({"v2": {"business": 1.0}, "v1": {"business": 2.0}})
    for fn in (income_total_yuan, operating_income_yuan, income_hhi, weak_village, income_growth, income_cagr,
               share_investment):
        s = fn(income)
        assert s.index.name == "village_id"
        assert list(s.index) == ["v1", "v2"]
        assert s.name == fn.__name__


def test_hhi_extremes_one_source_and_even_spread():
    one = income_rows({"v1": {"subsidy": 500_000}})
    even = income_rows({"v1": {c: 20_000 for c in CATS}})
    assert income_hhi(one).loc["v1"] == pytest.approx(1.0)
    assert income_hhi(even).loc["v1"] == pytest.approx(0.2)


# ----------------------------------------------------------- losses
def test_investment_loss_gives_negative_share_and_hhi_counts_it_as_zero():
    income = income_rows({"v1": {"business": 80_000, "contracting": 30_000, "investment": -20_000,
                                 "subsidy": 10_000, "other": 0}})
    assert income_total_yuan(income).loc["v1"] == 100_000          # the loss lowers the total
    assert operating_income_yuan(income).loc["v1"] == 90_000
    assert share_investment(income).loc["v1"] == pytest.approx(-0.2)
    assert sum(income_share(income, c).loc["v1"] for c in CATS) == pytest.approx(1.0)
    # HHI by hand, the loss as zero: positives 80k, 30k, 10k of 120k
    assert income_hhi(income).loc["v1"] == pytest.approx((80**2 + 30**2 + 10**2) / 120**2)
    assert income_hhi(income).loc["v1"] == pytest.approx(0.513889, abs=1e-6)
    # 100,000 total and 90,000 operating: exactly at the total threshold, not weak
    assert weak_village(income).loc["v1"] == False  # noqa: E712


def test_losses_larger_than_income_give_nan_shares_with_note():
    income = income_rows({"v1": {"business": 10_000, "investment": -30_000}})
    notes = Notes()
    assert income_total_yuan(income).loc["v1"] == -20_000
    assert np.isnan(income_share(income, "business", notes=notes).loc["v1"])
    assert any("zero or negative" in m for m in messages(notes, "share_business", "v1"))
    assert income_hhi(income).loc["v1"] == pytest.approx(1.0)     # only business is positive
    assert weak_village(income).loc["v1"] == True  # noqa: E712


# ------------------------------------------------------------ thresholds
@pytest.mark.parametrize("total, operating, weak", [
    (99_999.99, 60_000, True),       # total one fen below 100,000
    (100_000, 60_000, False),        # exactly at the total threshold
    (150_000, 49_999, True),         # operating below 50,000
    (150_000, 50_000, False),        # exactly at the operating threshold
    (100_000, 50_000, False),        # exactly at both
    (99_999.99, 49_999, True),
    (0, 0, True),
])
def test_weak_village_both_sides_of_each_threshold(total, operating, weak):
    income = income_rows({"v1": split(total, operating)})
    got = weak_village(income).loc["v1"]
    assert got is not pd.NA and bool(got) is weak
    table = income_indicators(make_study(income))
    assert bool(table.loc["v1", "weak_village"]) is weak


def test_exact_threshold_survives_floating_point_sums():
    # 33,333.33 + 33,333.33 + 33,333.34 is 100,000 yuan; floats must not make it weak
    income = income_rows({"v1": {"business": 33_333.33, "contracting": 33_333.33, "subsidy": 33_333.34}})
    assert weak_village(income).loc["v1"] == False  # noqa: E712


def test_threshold_overrides_via_settings():
    income = income_rows({"a": split(150_000, 80_000), "b": split(200_000, 100_000),
                          "c": split(199_999.99, 150_000), "d": split(300_000, 99_999)})
    default = income_indicators(make_study(income))["weak_village"]
    assert default.tolist() == [False, False, False, False]
    raised = income_indicators(make_study(income, weak_total_yuan=200_000, weak_operating_yuan=100_000))
    assert raised["weak_village"].tolist() == [True, False, True, True]
    # the same through compute_indicators(**settings)
    table = compute_indicators(make_study(income), weak_total_yuan=200_000, weak_operating_yuan=100_000)
    assert table["weak_village"].tolist() == [True, False, True, True]
    assert table.attrs["settings"]["weak_total_yuan"] == 200_000
    # and the pure function's arguments
    assert weak_village(income, weak_total_yuan=200_000, weak_operating_yuan=100_000).tolist() == [
        True, False, True, True]


def test_weak_village_is_nullable_boolean_and_na_without_income():
    income = income_rows({"v1": split(120_000, 60_000)})
    table = income_indicators(make_study(income, ids=["v1", "v2"]))
    assert str(table["weak_village"].dtype) == "boolean"
    assert table.loc["v1", "weak_village"] == False  # noqa: E712
    assert table.loc["v2", "weak_village"] is pd.NA


@pytest.mark.parametrize("n, county", [(401, "Pinghu"), (168, "Yunhe")])
def test_all_villages_at_or_above_the_standard_are_not_weak(n, county):
    """Pinghu: 401 of 401 villages met the 消薄 standard; Yunhe: 168 of 168 (seed 002)."""
    rng = np.random.default_rng(n)
    ids = [f"{county}{k:03d}" for k in range(n)]
    data = {}
    for k, v in enumerate(ids):
        # integer yuan; every 10th village exactly at the operating threshold, every 7th exactly at the total
        operating = 50_000 if k % 10 == 0 else 50_000 + int(rng.integers(0, 2_000_000))
        non_operating = max(100_000 - operating, 0) + (0 if k % 7 == 0 else int(rng.integers(0, 300_000)))
        loss = int(rng.integers(0, 20_000)) if k % 3 == 0 else 0
        business = operating // 2 + loss
        data[v] = {"business": business, "contracting": operating - operating // 2, "investment": -loss,
                   "subsidy": non_operating // 2, "other": non_operating - non_operating // 2}
    income = income_rows(data, year=2019)
    table = income_indicators(make_study(income), year=2019)
    assert len(table) == n
    assert table["weak_village"].notna().all()
    assert int(table["weak_village"].sum()) == 0                      # n of n not weak
    assert (table["income_total_yuan"] >= 100_000).all()
    assert (table["operating_income_yuan"] >= 50_000).all()
    assert (table["operating_income_yuan"] == 50_000).sum() >= n // 10   # some exactly at the threshold
    assert (table["income_total_yuan"] == 100_000).sum() >= 2
    # one fen less in one village at the threshold makes exactly that one weak
    at = ids[0]
    income.loc[(income["village_id"] == at) & (income["category"] == "business"), "amount_yuan"] -= 0.01
    again = income_indicators(make_study(income), year=2019)["weak_village"]
    assert int(again.sum()) == 1 and bool(again.loc[at])


# --------------------------------------------------- pooled projects (飞地抱团)
def test_pooled_warehouse_project_pays_about_60000_yuan_per_village():
    """26 villages put 25 million yuan into a warehouse at 6% a year: about 60,000 yuan each (seed 002)."""
    per_village = 25_000_000 * 0.06 / 26
    ids = [f"r{k:02d}" for k in range(26)]
    income = income_rows({v: {"investment": per_village} for v in ids})
    table = income_indicators(make_study(income))
    assert table["operating_income_yuan"].tolist() == pytest.approx([57_692.31] * 26, abs=0.01)
    assert round(table["operating_income_yuan"].sum()) == 1_500_000           # 6% of 25 million
    assert round(per_village, -4) == 60_000                                   # "about 60,000"
    assert (table["share_investment"] == 1.0).all()
    # the return clears the operating threshold but not the total one on its own
    assert table["weak_village"].all()
    with_subsidy = income_rows({v: {"investment": per_village, "subsidy": 50_000} for v in ids})
    assert not income_indicators(make_study(with_subsidy))["weak_village"].any()


def test_cooperative_shares_paying_8_percent_are_below_operating_threshold_alone():
    """23 co-operatives hold 9 million yuan of shares paying 720,000 yuan a year (8%)."""
    assert 9_000_000 * 0.08 == pytest.approx(720_000)
    ids = [f"c{k:02d}" for k in range(23)]
    income = income_rows({v: {"investment": 720_000 / 23, "subsidy": 200_000} for v in ids})
    table = income_indicators(make_study(income))
    assert table["operating_income_yuan"].iloc[0] == pytest.approx(31_304.35, abs=0.01)
    assert table["weak_village"].all()            # 输血 without enough 造血


# -------------------------------------------------------------- growth
def test_gaohu_cagr_by_hand():
    """Gaohu: 300,000 yuan (1999) to 7,317,700 yuan; the later year is not given, 2019 is assumed here."""
    income = pd.concat([income_rows({"gaohu": {"business": 300_000}}, year=1999),
                        income_rows({"gaohu": {"business": 2_000_000}}, year=2010),
                        income_rows({"gaohu": {"business": 7_317_700}}, year=2019)])
    by_hand = (7_317_700 / 300_000) ** (1 / (2019 - 1999)) - 1
    got = income_cagr(income, year=2019).loc["gaohu"]
    assert got == pytest.approx(by_hand)
    assert got == pytest.approx(0.1732, abs=1e-4)         # about 17.3% a year
    # later years are ignored when a year is chosen
    assert income_cagr(income, year=2010).loc["gaohu"] == pytest.approx((2_000_000 / 300_000) ** (1 / 11) - 1)


def test_growth_by_hand_and_nan_with_note_when_the_year_before_is_missing():
    income = pd.concat([
        income_rows({"a": {"business": 100_000}, "b": {"business": 100_000}, "c": {"investment": 0.0}}, year=2021),
        income_rows({"a": {"business": 110_000}, "c": {"business": 50_000}}, year=2022),
        income_rows({"a": {"business": 121_000}, "b": {"business": 150_000}, "c": {"business": 60_000}}, year=2023),
    ])
    notes = Notes()
    g = income_growth(income, year=2023, notes=notes)
    assert g.loc["a"] == pytest.approx(0.1)
    assert np.isnan(g.loc["b"])                                   # no 2022 rows
    assert any("2022" in m for m in messages(notes, "income_growth", "b"))
    assert g.loc["c"] == pytest.approx(0.2)
    g22 = income_growth(income, year=2022, notes=notes)
    assert np.isnan(g22.loc["c"])                                 # 2021 total is 0: no growth, never inf
    assert any("zero or negative" in m for m in messages(notes, "income_growth", "c"))
    assert np.isnan(g22.loc["b"])                                 # no 2022 rows at all
    assert income_cagr(income, year=2023).loc["a"] == pytest.approx(0.1)
    assert income_cagr(income, year=2023).loc["b"] == pytest.approx(1.5 ** 0.5 - 1)   # gap allowed


def test_cagr_nan_with_note_for_one_year_or_non_positive_first_year():
    income = pd.concat([
        income_rows({"one": {"business": 1.0}, "zero": {"investment": -5.0}}, year=2022),
        income_rows({"zero": {"business": 100.0}}, year=2023),
    ])
    notes = Notes()
    c = income_cagr(income, year=2023, notes=notes)
    assert np.isnan(c.loc["one"]) and np.isnan(c.loc["zero"])
    assert any("fewer than two" in m for m in messages(notes, "income_cagr", "one"))
    assert any("zero or negative" in m for m in messages(notes, "income_cagr", "zero"))


# ------------------------------------------------------ missing categories
def test_missing_categories_count_as_zero_with_note_and_absent_year_is_nan():
    income = pd.concat([income_rows({"v1": {"business": 120_000}, "v2": {"business": 1.0}}, year=2023),
                        income_rows({"v3": {"business": 1.0}}, year=2022)])
    notes = Notes()
    amounts = category_amounts(income, 2023, villages=["v1", "v2", "v3"], notes=notes)
    assert amounts.loc["v1"].tolist() == [120_000.0, 0.0, 0.0, 0.0, 0.0]
    assert amounts.loc["v3"].isna().all()
    assert any("counted as 0" in m and "subsidy" in m for m in messages(notes, "income_total_yuan", "v1"))
    assert any("no income rows in 2023" in m for m in messages(notes, "income_total_yuan", "v3"))
    table = income_indicators(make_study(income, ids=["v1", "v2", "v3"]), year=2023)
    assert table.loc["v1", "income_total_yuan"] == 120_000
    assert table.loc["v1", "share_business"] == 1.0
    assert table.loc["v1", "share_subsidy"] == 0.0
    assert table.loc["v3", ["income_total_yuan", "operating_income_yuan", "income_hhi"]].isna().all()
    assert table.loc["v3", "weak_village"] is pd.NA


def test_rows_without_amount_unknown_categories_and_duplicates():
    income = pd.DataFrame({"village_id": ["v1"] * 5, "year": [2023] * 5,
                           "category": ["business", "business", "subsidy", "lottery", "other"],
                           "amount_yuan": [40_000.0, 20_000.0, 50_000.0, 1e9, float("nan")]})
    notes = Notes()
    assert income_total_yuan(income, notes=notes).loc["v1"] == 110_000     # duplicates summed, lottery and NaN out
    got = " | ".join(messages(notes, "income_total_yuan"))
    assert "unknown category" in got and "without amount" in got and "duplicate" in got


# -------------------------------------------------------- zero denominators
def test_zero_denominators_give_nan_with_note_never_inf():
    income = income_rows({"zero_total": {c: 0.0 for c in CATS}, "no_people": {"business": 200_000}})
    study = make_study(income, ids=["no_people", "zero_total"], resident=[0, 1000])
    notes = Notes()
    table = income_indicators(study, notes=notes)
    numeric = table.drop(columns=["weak_village"]).to_numpy(dtype=float)
    assert not np.isinf(numeric).any()
    assert np.isnan(table.loc["no_people", "income_per_resident_yuan"])
    assert np.isnan(table.loc["no_people", "operating_income_per_resident_yuan"])
    assert table.loc["zero_total", "income_per_resident_yuan"] == 0.0
    assert table.loc["zero_total", [f"share_{c}" for c in CATS] + ["income_hhi"]].isna().all()
    assert table.loc["zero_total", "weak_village"] == True  # noqa: E712
    assert any("resident population" in m for m in messages(notes, "income_per_resident_yuan", "no_people"))
    assert messages(notes, "share_business", "zero_total")
    assert messages(notes, "income_hhi", "zero_total")


def test_per_resident_by_hand():
    income = income_rows({"v1": {"business": 50_000, "subsidy": 70_000}})
    vil = villages_frame(["v1"], resident=[2_000])
    assert income_per_resident_yuan(income, vil).loc["v1"] == 60.0
    assert operating_income_per_resident_yuan(income, vil).loc["v1"] == 25.0


# ----------------------------------------------------------- study level
def test_income_indicators_columns_are_catalog_ids_and_default_year_is_latest():
    income = pd.concat([income_rows({"v1": split(200_000, 60_000)}, year=2022),
                        income_rows({"v1": split(80_000, 60_000)}, year=2023)])
    study = make_study(income, ids=["v1", "v2"])
    table = income_indicators(study)
    assert list(table.columns) == list(INCOME_INDICATORS)
    assert set(INCOME_INDICATORS) == set(catalog.ids("income"))
    assert table.loc["v1", "income_total_yuan"] == 80_000
    assert table.loc["v1", "income_growth"] == pytest.approx(-0.6)
    assert income_indicators(study, year=2022).loc["v1", "income_total_yuan"] == 200_000
    assert list(table.index) == ["v1", "v2"]
    full = compute_indicators(study)
    assert str(full["weak_village"].dtype) == "boolean"
    assert full.loc["v1", "weak_village"] == True  # noqa: E712
    assert full.attrs["year"] == 2023


def test_no_income_table_gives_nan_and_notes():
    study = make_study(None, ids=["v1", "v2"])
    notes = Notes()
    table = income_indicators(study, notes=notes)
    assert list(table.columns) == list(INCOME_INDICATORS)
    assert table.drop(columns=["weak_village"]).isna().all().all()
    assert str(table["weak_village"].dtype) == "boolean" and table["weak_village"].isna().all()
    assert all(messages(notes, ind) for ind in INCOME_INDICATORS)


def test_study_year_setting_is_used():
    income = pd.concat([income_rows({"v1": split(200_000, 60_000)}, year=2022),
                        income_rows({"v1": split(80_000, 60_000)}, year=2023)])
    table = compute_indicators(make_study(income, year=2022))
    assert table.loc["v1", "income_total_yuan"] == 200_000


# ---------------------------------------------------------------- panel
def test_income_panel_wide_and_long():
    income = pd.concat([income_rows({"v2": {"business": 10.0, "investment": -2.0}}, year=2022),
                        income_rows({"v1": {"subsidy": 5.0}}, year=2023),
                        income_rows({"v1": {"business": 1.0}}, year=2022)])
    study = make_study(income, ids=["v1", "v2"])
    wide = income_panel(study)
    assert list(wide.columns) == ["village_id", "town_id", "village_name", "year", *CATS, "total", "operating"]
    assert wide[["village_id", "year"]].values.tolist() == [["v1", 2022], ["v1", 2023], ["v2", 2022]]
    assert wide["total"].tolist() == [1.0, 5.0, 8.0]
    assert wide["operating"].tolist() == [1.0, 0.0, 8.0]
    assert wide.loc[1, "business"] == 0.0                        # missing category counted as 0
    assert wide["village_name"].tolist() == ["村v1", "村v1", "村v2"]
    long = income_panel(study, long=True)
    assert list(long.columns) == ["village_id", "town_id", "village_name", "year", "category", "amount_yuan"]
    assert len(long) == 3 * 7
    row = long[(long.village_id == "v2") & (long.category == "investment")]
    assert row["amount_yuan"].tolist() == [-2.0]
    assert income_by_year(income).loc["v1"].tolist() == [1.0, 5.0]


def test_income_panel_without_income_is_empty():
    wide = income_panel(make_study(None))
    assert len(wide) == 0 and "total" in wide.columns


# ------------------------------------------------------------ properties
amount = st.floats(min_value=0.01, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(amount, min_size=5, max_size=5))
def test_shares_sum_to_one_when_all_amounts_positive(amounts):
    income = income_rows({"v1": dict(zip(CATS, amounts))})
    total = sum(income_share(income, c).loc["v1"] for c in CATS)
    assert total == pytest.approx(1.0, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e9, allow_nan=False), min_size=5, max_size=5)
       .filter(lambda xs: sum(xs) > 0))
def test_hhi_between_one_fifth_and_one_for_nonnegative_amounts(amounts):
    income = income_rows({"v1": dict(zip(CATS, amounts))})
    hhi = income_hhi(income).loc["v1"]
    assert 0.2 - 1e-12 <= hhi <= 1.0
    assert hhi == pytest.approx(sum((a / sum(amounts)) ** 2 for a in amounts))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=300_000), min_size=5, max_size=5),
       st.integers(min_value=-100_000, max_value=0),
       st.sampled_from([(100_000, 50_000), (200_000, 100_000)]))
def test_weak_village_matches_its_definition_on_whole_yuan(amounts, loss, thresholds):
    x = dict(zip(CATS, map(float, amounts)))
    x["investment"] = float(loss)
    income = income_rows({"v1": x})
    total = sum(x.values())
    operating = x["business"] + x["contracting"] + x["investment"]
    expected = total < thresholds[0] or operating < thresholds[1]
    got = weak_village(income, weak_total_yuan=thresholds[0], weak_operating_yuan=thresholds[1]).loc["v1"]
    assert bool(got) is expected


def test_docstrings_state_formula_and_example():
    for name in inc_mod.__all__:
        fn = getattr(inc_mod, name)
        if callable(fn):
            assert fn.__doc__ and "Examples" in fn.__doc__, name
            assert "{params}" not in fn.__doc__, name


def test_study_level_table_equals_the_pure_functions_and_notes_reach_every_indicator():
    income = pd.concat([
        income_rows({"a": {"business": 70_000, "investment": -5_000}, "b": {"subsidy": 120_000}}, year=2022),
        income_rows({"a": {"business": 90_000, "contracting": 20_000}, "b": {"business": 40_000,
                     "other": 70_000}, "c": {"business": 1.0}}, year=2023),
    ])
    income.loc[len(income)] = ["a", 2023, "lottery", 5.0]
    study = make_study(income, ids=["a", "b", "c", "d"], resident=[1000, 0, 500, 800])
    notes = Notes()
    table = income_indicators(study, year=2023, notes=notes)
    vil = study.villages
    expected = {
        "income_total_yuan": income_total_yuan(income, 2023, vil),
        "operating_income_yuan": operating_income_yuan(income, 2023, vil),
        "share_investment": share_investment(income, 2023, vil),
        "income_hhi": income_hhi(income, 2023, vil),
        "income_per_resident_yuan": income_per_resident_yuan(income, vil, 2023),
        "income_growth": income_growth(income, 2023, vil),
        "income_cagr": income_cagr(income, 2023, vil),
    }
    for ind, s in expected.items():
        pd.testing.assert_series_equal(table[ind], s, check_names=False)
    assert table["weak_village"].tolist() == [False, True, True, pd.NA]   # b: operating 40,000
    for ind in ("income_total_yuan", "share_business", "income_hhi", "weak_village", "income_per_resident_yuan"):
        assert any("counted as 0" in m for m in messages(notes, ind, "a")), ind
        assert any("unknown category" in m for m in messages(notes, ind)), ind
        assert any("no income rows in 2023" in m for m in messages(notes, ind, "d")), ind
