"""`villagestudy compare`: within-town comparison from the command line."""
from __future__ import annotations

import pandas as pd

from villagestudy.cli import main
from villagestudy.datasets import get_path

from conftest import write_tiny_study

PREDICTORS = "simpson_index,social_workers_per_10k,party_volunteer_rate"


def test_compare_on_the_sample_uses_the_bootstrap_with_four_towns(tmp_path, capsys):
    out = tmp_path / "compare.csv"
    rc = main(["compare", str(get_path("sample")), "--outcome", "operating_income_per_resident_yuan",
               "--by", PREDICTORS, "--out", str(out)])
    assert rc == 0
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert list(table.columns) == ["term", "estimate", "ci_low", "ci_high", "p_value", "method", "n_villages",
                                   "n_clusters", "warning"]
    assert table["term"].tolist() == PREDICTORS.split(",")
    assert (table["n_clusters"] == 4).all() and (table["n_villages"] == 47).all()
    assert table["method"].str.contains("wild cluster bootstrap").all()
    assert table["warning"].str.contains("only 4 towns").all()
    assert ((table["p_value"] > 0) & (table["p_value"] <= 1)).all()
    assert "47 villages in 4 towns" in capsys.readouterr().err


def test_compare_refuses_with_a_reason_below_four_towns(tmp_path, capsys):
    study = write_tiny_study(tmp_path / "tiny")          # two towns
    rc = main(["compare", str(study), "--outcome", "operating_income_per_resident_yuan", "--by", "simpson_index"])
    assert rc == 2
    assert "descriptive only" in capsys.readouterr().err


def test_compare_names_unknown_indicators(capsys):
    rc = main(["compare", str(get_path("sample")), "--outcome", "nope", "--by", "simpson_index"])
    assert rc == 2
    assert "unknown indicator id(s): nope" in capsys.readouterr().err


def test_indicators_out_keeps_id_pillar_direction_and_adds_in_index(tmp_path):
    from villagestudy import catalog

    out = tmp_path / "catalog.csv"
    assert main(["indicators", "--out", str(out)]) == 0
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert {"id", "pillar", "direction", "in_index"} <= set(frame.columns)
    scored = set(frame.loc[frame["in_index"], "id"])
    assert scored == {i for i in catalog.ids() if catalog.get(i).in_index}
    assert {"effective_mesh_ratio", "owner_mesh_ratio", "simpson_index"} <= scored
    assert not scored & {"owners_per_block_am", "effective_mesh_size_mu", "januszewski_index"}
