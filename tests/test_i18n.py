"""One translation mechanism: every label in zh and en; Chinese labels without English words."""
from __future__ import annotations

import re

import pytest

from villagestudy import i18n
from villagestudy.reports.provenance import PARAMETER_ORDER
from villagestudy.reports.town import RANK_COLUMNS, column_label

#: Latin letters allowed inside Chinese labels: abbreviations and symbols
ALLOWED = {"HHI", "PDF", "P", "p", "t", "Z", "UTC",  # p: the p-value (p 值)
           # names of statistical methods, written so in Chinese papers too
           "CR", "Webb", "Rademacher", "Moran", "I", "s", "LISA"}


def test_every_string_has_both_languages():
    missing = [k for k, v in i18n.STRINGS.items() if not v.get("zh") or not v.get("en")]
    assert not missing, missing


@pytest.mark.parametrize("prefix", ["rep_", "prov_", "idx_", "step_", "method_"])
def test_chinese_report_labels_have_no_english_words(prefix):
    for key, texts in i18n.STRINGS.items():
        if key.startswith(prefix):
            words = set(re.findall(r"[A-Za-z]+", re.sub(r"\{[a-z_]+\}", "", texts["zh"])))
            assert words <= ALLOWED, (key, words - ALLOWED)


def test_table_headers_and_provenance_labels_are_translated():
    for col in (*RANK_COLUMNS, "estimate", "std_error", "p_value", "term", "statistic"):
        zh, en = column_label(col, "zh"), column_label(col, "en")
        assert zh != col and not re.search(r"[A-Za-z]{2,}", zh), (col, zh)
        assert en != col
    for key in PARAMETER_ORDER:
        assert i18n.has(f"prov_{key}")


def test_register_refuses_a_different_text_for_a_key():
    with pytest.raises(ValueError):
        i18n.register({"no_data": {"zh": "没有"}})
