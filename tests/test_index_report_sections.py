"""The town report's method parts: comparison, spatial pattern, why this rank, index audit (sample study)."""
from __future__ import annotations

import pytest

from villagestudy.datasets import get_path
from villagestudy.reports.town import TownReport


@pytest.fixture(scope="module")
def report():
    return TownReport(str(get_path("sample")), uncertainty_runs=0)


def test_comparison_states_method_villages_towns_and_warnings(report):
    table = report.stats_table()
    assert list(table.columns) == ["估计值", "95% 置信集", "p 值", "村数", "镇数"]
    assert (table["镇数"] == "4").all() and (table["村数"] == "47").all()
    method, warning = report.stats_notes()
    assert "野聚类自助法" in method and "47 个村（社区），4 个镇（街道）" in method
    assert warning.startswith("警示：仅 4 个镇")
    assert report.models.fit.attrs["n_clusters"] == 4


def test_spatial_table_and_lisa_map(report):
    table = report.spatial_table()
    assert len(table) == 4 and (table["村数"] == "47").all()
    fig = report.lisa_figure()
    assert set(fig.layout.meta["clusters"]) == set(report.town_table.index)


def test_why_this_rank_adds_up_for_the_town(report):
    c = report.contributions()
    gap = c[c["kind"] == "pillar"].groupby("unit")["contribution"].sum()
    score = report.scope_ranking.loc[gap.index, "score"]
    assert gap.to_numpy() == pytest.approx((score - score.median()).to_numpy(), abs=1e-9)
    assert list(report.contributions_table().columns) == ["土地", "集体收入", "基层治理", "与本镇中位数之差"]
    assert report.contributions_figure().layout.meta["unit"] == score.idxmin()


def test_index_audit_of_the_default_structure(report):
    audit = report.index_audit()
    assert audit["redundant_scored"].empty and len(audit["redundant_candidates"]) > 0
    assert set(audit["alpha"]["aggregate"]) == {"land", "income", "governance", "score"}
    assert set(audit["indicator_pillar"]["pillar"]) == {"land", "income", "governance"}


def test_below_four_towns_the_section_is_descriptive_only(tmp_path):
    from conftest import write_tiny_study

    tiny = TownReport(str(write_tiny_study(tmp_path / "tiny")), uncertainty_runs=0)   # two towns
    assert tiny.models.fit is None and tiny.models.refused_code[0] == "few_towns"
    assert "descriptive only" in tiny.models.refused
    table = tiny.descriptive_table()
    assert table["村数"].tolist() == [2, 1] and table.index.tolist() == ["东镇", "西街道"]
