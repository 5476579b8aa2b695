"""The one number formatter: formats from the catalog, never scientific notation."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villagestudy import catalog, formatting
from villagestudy.formatting import MISSING, excel_format, fmt_number, fmt_value, is_missing

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d|inf|nan", re.IGNORECASE)
KINDS = ["money", "percent", "count", "index", "number", "stat", "pvalue", "score"]


@pytest.mark.parametrize("value, indicator, zh, en", [
    (16_905_432, "income_total_yuan", "1,690.5万", "16.91 million"),
    (134_000, "park_tax_per_mu_yuan", "13.4万", "134.0 thousand"),
    (99_999, "income_total_yuan", "99,999", "99,999"),
    (3060.4, "income_per_resident_yuan", "3,060", "3,060"),
    (0.00571, "share_subsidy", "0.6%", "0.6%"),
    (-0.104, "income_growth", "-10.4%", "-10.4%"),
    (0.5, "grid_part_time_share", "50.0%", "50.0%"),
    (0.73456, "simpson_index", "0.735", "0.735"),
    (12.0, "parcel_count", "12", "12"),
    (23.456, "social_workers_per_10k", "23.5", "23.5"),
    (True, "weak_village", "是", "Yes"),
    (False, "office_area_ok", "否", "No"),
])
def test_values_by_catalog_format(value, indicator, zh, en):
    assert fmt_value(value, indicator) == zh
    assert fmt_value(value, indicator, "en") == en


def test_wan_threshold_is_the_catalogs():
    assert formatting.wan_from_yuan() == catalog.display_setting("wan_from_yuan") == 100_000


def test_missing_is_a_dash_or_words_never_zero():
    for v in (None, float("nan"), pd.NA, np.nan, float("inf"), -math.inf):
        assert is_missing(v)
        assert fmt_number(v) == MISSING
        assert fmt_value(v, "income_total_yuan", missing=MISSING) == MISSING
        assert fmt_value(v) == "无数据" and fmt_value(v, lang="en") == "No data"
    assert not is_missing(0) and fmt_value(0, "income_total_yuan") == "0"


def test_columns_outside_the_catalog():
    assert fmt_value(3.0, "rank_p05") == "3"
    assert fmt_value(33.3894, "score") == "33.4"
    assert fmt_value(0.0004, "p_value") == "<0.001"
    assert fmt_value(0.18556, "p_value") == "0.186"
    assert fmt_value(-158.2028, "estimate") == "-158"
    assert fmt_value(0.000012345, "std_error") == "0.0000123"
    assert fmt_value(14479.65, "estimate") == "14,500"


def test_every_catalog_indicator_has_a_known_format_and_an_excel_format():
    for i in catalog.ids():
        ind = catalog.get(i)
        assert ind.fmt in catalog.FORMATS
        assert excel_format(i) != ""
    assert excel_format("income_total_yuan") == "#,##0" and excel_format("share_subsidy") == "0.0%"


@settings(max_examples=400, deadline=None)
@given(v=st.one_of(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e13, max_value=1e13),
                   st.floats(min_value=1e-9, max_value=1e-3), st.floats(min_value=-1e-3, max_value=-1e-9),
                   st.integers(min_value=-10**13, max_value=10**13)),
       kind=st.sampled_from(KINDS), lang=st.sampled_from(["zh", "en"]))
def test_never_scientific_notation(v, kind, lang):
    text = fmt_number(v, kind=kind, lang=lang)
    assert not SCIENTIFIC.search(text), text
    assert text and text != "-0"


@settings(max_examples=200, deadline=None)
@given(v=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_money_reads_back_within_rounding(v):
    text = fmt_number(v, kind="money")
    if text.endswith("万"):
        back = float(text[:-1].replace(",", "")) * 1e4
        assert abs(back - v) <= 500 + 1e-9 * abs(v)
    else:
        assert abs(float(text.replace(",", "")) - v) <= 0.5 + 1e-9 * abs(v)


@settings(max_examples=200, deadline=None)
@given(v=st.floats(min_value=-10, max_value=10, allow_nan=False))
def test_percent_reads_back(v):
    text = fmt_number(v, kind="percent")
    assert text.endswith("%")
    assert abs(float(text[:-1].replace(",", "")) / 100 - v) <= 0.0005 + 1e-12
