"""The village index on a study's indicator table."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from villagestudy.ranking import rank_villages, village_structure


def _table() -> pd.DataFrame:
    # four villages, two towns; one land, one income and one governance indicator in the index
    return pd.DataFrame({
        "village_name": ["A", "B", "C", "D"], "town_id": ["t1", "t1", "t2", "t2"],
        "mean_parcel_area_mu": [4.0, 2.0, 1.0, 3.0],          # land, direction +1
        "operating_income_per_resident_yuan": [10.0, 40.0, 20.0, 30.0],  # income, +1
        "share_subsidy": [0.5, 0.5, 0.5, 0.5],                # constant: leaves the index
        "certified_share": [0.1, 0.2, 0.9, 0.5],              # governance, +1
        "simpson_index": [np.nan] * 4,                        # no data: leaves the index
    }, index=pd.Index(["a", "b", "c", "d"], name="village_id"))


def test_structure_is_pruned_to_informative_indicators():
    structure, notes = village_structure(_table())
    assert set(structure["id"]) == {"score", "land", "income", "governance", "mean_parcel_area_mu",
                                    "operating_income_per_resident_yuan", "certified_share"}
    assert any("share_subsidy" in n for n in notes) and any("simpson_index" in n for n in notes)


def test_scores_by_hand_minmax_arithmetic():
    r = rank_villages(_table(), winsorise=False, uncertainty=False)
    t = r.table
    # min-max 0-100 per indicator, one indicator per pillar: pillar score = that indicator's scaled value
    assert t["land"].tolist() == pytest.approx([100, 100 / 3, 0, 200 / 3])
    assert t["income"].tolist() == pytest.approx([0, 100, 100 / 3, 200 / 3])
    assert t["governance"].tolist() == pytest.approx([0, 12.5, 100, 50])
    expected = (t["land"] + t["income"] + t["governance"]) / 3
    assert t["score"].tolist() == pytest.approx(expected.tolist())
    # by hand: A 33.3, B 48.6, C 44.4, D 61.1
    assert t["rank"].tolist() == [4, 2, 3, 1]
    assert t["rank_in_town"].tolist() == [2, 1, 2, 1]


def test_weights_change_the_order():
    base = rank_villages(_table(), winsorise=False, uncertainty=False).table
    gov = rank_villages(_table(), weights={"governance": 10}, winsorise=False, uncertainty=False).table
    assert base["rank"].idxmin() != gov["rank"].idxmin() or base["rank"].tolist() != gov["rank"].tolist()
    assert gov.loc["c", "rank"] == 1  # C leads governance


def test_uncertainty_columns_reproducible():
    a = rank_villages(_table(), uncertainty={"n": 100, "seed": 3}).table
    b = rank_villages(_table(), uncertainty={"n": 100, "seed": 3}).table
    pd.testing.assert_frame_equal(a, b)
    assert (a["rank_p05"] <= a["rank_median"]).all() and (a["rank_median"] <= a["rank_p95"]).all()


def test_cli_rank(tiny_study_dir, tmp_path):
    out = tmp_path / "rank.csv"
    r = subprocess.run([sys.executable, "-m", "villagestudy.cli", "rank", str(tiny_study_dir), "--out", str(out),
                        "--runs", "50"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    frame = pd.read_csv(out, dtype={"village_id": str, "town_id": str}, encoding="utf-8-sig")
    assert list(frame.columns[:2]) == ["village_id", "town_id"]
    assert {"score", "rank", "rank_in_town", "rank_median", "rank_p05", "rank_p95"} <= set(frame.columns)
    assert sorted(frame["rank"]) == [1, 2, 3]
