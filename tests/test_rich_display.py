"""Rich display of a study in JupyterLab: what it holds, names escaped."""
from __future__ import annotations

import pandas as pd

import villagestudy as vs
from conftest import write_tiny_study


def test_study_repr_html_lists_towns_tables_years_and_escapes(tmp_path):
    folder = write_tiny_study(tmp_path / "s")
    towns = pd.read_csv(folder / "towns.csv", dtype=str)
    towns.loc[0, "town_name"] = "<b>东镇</b>"
    towns.to_csv(folder / "towns.csv", index=False)
    study = vs.load_study(folder)
    html = study._repr_html_()
    assert "&lt;b&gt;东镇&lt;/b&gt;" in html and "<b>东镇</b>" not in html
    assert "440100001, 2)" in html and "西街道 (440100002, 1)" in html  # villages per town
    assert "parcels: 12" in html and study.fingerprint in html
    for y in study.years:
        assert str(y) in html
    assert "读取时的提示" in html
