"""Each town report says what loading dropped, corrected or warned about for that town."""
from __future__ import annotations

import pandas as pd

from conftest import write_tiny_study
from villagestudy.reports.town import TownReport


def test_a_dropped_total_row_is_counted_for_its_town(tmp_path):
    study = write_tiny_study(tmp_path / "s")
    villages = pd.read_csv(study / "villages.csv", dtype=str)
    total = villages.iloc[0].copy()
    total["village_id"], total["village_name"] = "", "合计"
    pd.concat([villages, total.to_frame().T]).to_csv(study / "villages.csv", index=False)
    report = TownReport(str(study), town_id="440100001", uncertainty_runs=0)
    assert report.data_quality().to_dict("records") == [{"file": "villages.csv", "action": "dropped", "count": 1}]


def test_a_clean_town_says_nothing_was_changed(tmp_path):
    report = TownReport(str(write_tiny_study(tmp_path / "s")), town_id="440100002", uncertainty_runs=0)
    assert report.data_quality().empty
