"""Province-scale studies on Dask: partitioned parcels, indicators per partition, reports per town.

One LocalCluster (2 worker processes, 1 thread each) serves the whole module;
every Dask result is compared with the in-memory path on the same data.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import nbformat
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import importorskip_unless_ci

importorskip_unless_ci("dask_geopandas")
distributed = importorskip_unless_ci("distributed")

import villagestudy as vs  # noqa: E402
from villagestudy.backends.dask import (PartitionedStudy, compute_indicators_dask, plan_groups,  # noqa: E402
                                        run_jobs_on_dask)
from villagestudy.cli import main  # noqa: E402
from villagestudy.errors import StudyError  # noqa: E402
from villagestudy.reports import run_reports  # noqa: E402
from villagestudy.reports.batch import TownJob  # noqa: E402
from villagestudy.synth import write_synthetic_study  # noqa: E402
from villagestudy.viz import parcels_map  # noqa: E402
from villagestudy.synth.partitioned import write_partitioned_study  # noqa: E402

SIZE = dict(towns=3, villages_per_town=3, parcels_per_village=40, years=(2021, 2023), seed=3)
NOTE_KEY = ["indicator", "village_id", "note"]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """The same synthetic study twice: parcels in one GeoParquet file, and partitioned by town."""
    root = tmp_path_factory.mktemp("dask")
    single = write_synthetic_study(root / "single", parcel_format="parquet", **SIZE)
    parts = write_partitioned_study(root / "parts", **SIZE)
    return single, parts


@pytest.fixture(scope="module")
def in_memory(studies):
    study = vs.load_study(studies[0])
    return study, vs.compute_indicators(study)


def _sorted_notes(table: pd.DataFrame) -> pd.DataFrame:
    notes = table.attrs["notes"]
    return notes.sort_values(NOTE_KEY, na_position="first").reset_index(drop=True)


def _assert_same_indicators(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9)
    pd.testing.assert_frame_equal(_sorted_notes(got), _sorted_notes(expected))
    assert got.attrs["year"] == expected.attrs["year"]
    assert got.attrs["settings"] == expected.attrs["settings"]


# ---------------------------------------------------------------- synth and load
def test_partitioned_synth_is_the_same_study_town_by_town(studies):
    single, parts = studies
    files = sorted((parts / "parcels.parquet").glob("town_id=*/part.0.parquet"))
    towns = pd.read_csv(parts / "towns.csv", dtype=str)["town_id"]
    assert sorted(f.parent.name for f in files) == sorted(f"town_id={t}" for t in towns)
    for name in ("towns.csv", "villages.csv", "income.csv", "governance.csv", "study.toml"):
        assert (single / name).read_bytes() == (parts / name).read_bytes()
    whole = gpd.read_parquet(single / "parcels.parquet")
    pieces = pd.concat([gpd.read_parquet(f) for f in files], ignore_index=True)
    key = "parcel_id"
    a, b = whole.sort_values(key).reset_index(drop=True), pieces.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry")))
    assert (a.geometry.to_wkb() == b.geometry.to_wkb()).all()


def test_cli_synth_partitioned(tmp_path):
    out = tmp_path / "s"
    assert main(["synth", str(out), "--partitioned", "--towns", "2", "--villages-per-town", "2",
                 "--parcels-per-village", "5", "--years", "2023"]) == 0
    assert len(list((out / "parcels.parquet").glob("town_id=*/part.0.parquet"))) == 2
    assert not (out / "parcels.gpkg").exists()


def test_partitioned_study_is_lazy_and_complete(studies, in_memory):
    import dask_geopandas

    study = vs.load_study(studies[1])
    memory, _ = in_memory
    assert isinstance(study, PartitionedStudy) and type(memory) is vs.Study  # ordinary studies: unchanged
    assert study.parcels is None and study.has("parcels") and study.has_geometry("parcels")
    frame = study.partitioned["parcels"].frame
    assert isinstance(frame, dask_geopandas.GeoDataFrame) and frame.npartitions == SIZE["towns"]
    assert study.summary()["parcels"] == len(memory.parcels)
    assert str(frame.crs) == str(memory.parcels.crs)
    # in memory again: the same canonical rows (row order is per town)
    whole = study.to_memory().parcels.sort_values("parcel_id").reset_index(drop=True)
    expected = memory.parcels.sort_values("parcel_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.DataFrame(whole), pd.DataFrame(expected))
    town = memory.town_ids()[1]
    sub = study.for_towns(town)
    assert type(sub) is vs.Study and set(sub.parcels["village_id"]) == set(
        memory.for_towns(town).parcels["village_id"])
    assert len(sub.parcels) == len(memory.for_towns(town).parcels)


def test_maps_of_a_partitioned_study_read_the_partitions_of_their_villages(studies):
    study = vs.load_study(studies[1])
    town = study.town_ids()[1]
    village = study.villages.loc[study.villages["town_id"] == town, "village_id"].iloc[0]
    memory = study.for_towns(town)
    assert len(study.village_rows("parcels", [village])) == (memory.parcels["village_id"] == village).sum() > 0
    for by in ("household", "block"):
        lazy, eager = parcels_map(study, village, by=by), parcels_map(memory, village, by=by)
        assert len(lazy.data) > 1 and lazy.to_dict()["data"] == eager.to_dict()["data"]


# ------------------------------------------------------------------ planning
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=12),
       st.lists(st.lists(st.integers(0, 14), max_size=4), max_size=8))
def test_groups_join_exactly_the_towns_that_share_a_unit(town_of, units):
    """Towns sharing a unit are grouped together; every town and unit is in one group; groups are connected."""
    villages = pd.DataFrame({"village_id": [f"v{i}" for i in range(len(town_of))],
                             "town_id": [f"t{t}" for t in town_of]})
    unit_villages = [[f"v{i}" for i in u] for u in units]  # ids beyond the villages are unknown
    groups = plan_groups(villages, unit_villages)
    group_of_town = {t: g for g, grp in enumerate(groups) for t in grp.towns}
    group_of_unit = {u: g for g, grp in enumerate(groups) for u in grp.units}
    assert sorted(group_of_town) == sorted(set(villages["town_id"]))
    assert sum(len(g.towns) for g in groups) == villages["town_id"].nunique()
    assert sorted(group_of_unit) == list(range(len(units)))
    town = dict(zip(villages["village_id"], villages["town_id"]))
    touched = [{town[v] for v in vids if v in town} for vids in unit_villages]
    for u, towns in enumerate(touched):
        assert {group_of_town[t] for t in towns} <= {group_of_unit[u]}  # the unit computes with its towns
        if not towns:
            assert group_of_unit[u] == 0  # units of no known village go with the first group
    for g, grp in enumerate(groups):
        assert grp.units == sorted(grp.units) or g == 0
        linked = [t for t in grp.towns if any(t in touched[u] for u in grp.units)]
        if g > 0:
            assert linked == grp.towns  # only the first group takes towns in no unit
        reached, frontier = set(linked[:1]), list(linked[:1])
        while frontier:  # connected through shared units
            t = frontier.pop()
            for towns in touched:
                if t in towns:
                    frontier += [x for x in towns - reached]
                    reached |= towns
        assert reached == set(linked)
    firsts = [min(u for u in g.units if touched[u]) for g in groups if any(touched[u] for u in g.units)]
    assert firsts == sorted(firsts)


# ------------------------------------------------------------------ indicators
def test_indicators_on_dask_equal_the_in_memory_path(client, studies, in_memory):
    memory, expected = in_memory
    partitioned = vs.load_study(studies[1])  # validated on the cluster (the client is the default)
    _assert_same_indicators(expected, compute_indicators_dask(partitioned, client=client))
    # an in-memory study on the cluster (its parcels split by town)
    _assert_same_indicators(expected, compute_indicators_dask(memory, client=client))
    # the ordinary entry point on a partitioned study runs the same (on the default client)
    _assert_same_indicators(expected, vs.compute_indicators(partitioned))
    # settings overrides pass through
    changed = vs.compute_indicators(memory, block_tolerance_m=5.0)
    _assert_same_indicators(changed, compute_indicators_dask(partitioned, client=client, block_tolerance_m=5.0))


def test_partitions_that_cut_across_towns(client, studies, in_memory, tmp_path):
    """Plain files whose rows cross town and village limits: villages are grouped whole."""
    _, expected = in_memory
    study = tmp_path / "plain"
    shutil.copytree(studies[1], study)
    files = sorted((study / "parcels.parquet").glob("town_id=*/part.0.parquet"))
    whole = pd.concat([gpd.read_parquet(f) for f in files], ignore_index=True)
    shutil.rmtree(study / "parcels.parquet")
    (study / "parcels").mkdir()
    for k, rows in enumerate(np.array_split(np.arange(len(whole)), 4)):
        whole.iloc[rows].to_parquet(study / "parcels" / f"part.{k}.parquet", index=False)
    loaded = vs.load_study(study)
    assert loaded.partitioned["parcels"].npartitions == 4
    _assert_same_indicators(expected, compute_indicators_dask(loaded, client=client))


def test_partitioned_parks_and_grids(client, studies, in_memory, tmp_path):
    """Parks and grids may be partitioned too: their pillars then run per town on Dask."""
    memory, expected = in_memory
    study = tmp_path / "parks_grids"
    shutil.copytree(studies[0], study)
    town_of = memory.villages.set_index("village_id")["town_id"]
    for name, layer in (("parks", "parks"), ("grids", "grids")):
        frame = gpd.read_file(study / f"{name}.gpkg", layer=layer)
        (study / f"{name}.gpkg").unlink()
        for town, part in frame.groupby(frame["village_id"].map(town_of)):
            folder = study / f"{name}.parquet" / f"town_id={town}"
            folder.mkdir(parents=True)
            part.to_parquet(folder / "part.0.parquet", index=False)
    loaded = vs.load_study(study)
    assert sorted(loaded.partitioned) == ["grids", "parks"] and loaded.parks is None and loaded.grids is None
    assert type(loaded.parcels) is gpd.GeoDataFrame  # in memory: its pillar runs on the client
    _assert_same_indicators(expected, vs.compute_indicators(loaded))
    _assert_same_indicators(expected, compute_indicators_dask(loaded, client=client))


def test_cli_metrics_on_a_scheduler(client, studies, tmp_path):
    addr = client.scheduler.address
    a, b = tmp_path / "memory.csv", tmp_path / "dask.csv"
    assert main(["metrics", str(studies[0]), "--out", str(a)]) == 0
    assert main(["metrics", str(studies[1]), "--scheduler", addr, "--out", str(b)]) == 0
    left = pd.read_csv(a, dtype={"village_id": str, "town_id": str})
    right = pd.read_csv(b, dtype={"village_id": str, "town_id": str})
    pd.testing.assert_frame_equal(left, right, rtol=1e-9)


# ------------------------------------------------------------------ validation
def test_a_broken_partition_is_reported_with_file_and_row(client, studies, tmp_path):
    study = tmp_path / "broken"
    shutil.copytree(studies[1], study)
    files = sorted((study / "parcels.parquet").glob("town_id=*/part.0.parquet"))
    bad, other = files[1], files[2]
    frame = gpd.read_parquet(bad)
    frame.loc[2, "geometry"] = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # a bow tie: row 3
    frame.loc[4, "land_use"] = "bogus"                                                  # row 5
    frame.loc[6, "village_id"] = "999999999999"                                        # row 7
    frame.to_parquet(bad, index=False)
    frame = gpd.read_parquet(other)
    frame.loc[0, "area"] = -1.0                                                          # row 1 of another file
    frame.to_parquet(other, index=False)
    with pytest.raises(StudyError) as err:
        vs.load_study(study)
    found = {(p.file, p.row, p.column) for p in err.value.problems}
    rel = bad.relative_to(study).as_posix()
    assert rel.startswith("parcels.parquet/town_id=") and rel.endswith("/part.0.parquet")
    assert (rel, 3, "geometry") in found
    assert (rel, 5, "land_use") in found
    assert (rel, 7, "village_id") in found
    assert (other.relative_to(study).as_posix(), 1, "area_mu") in found
    unknown = next(p for p in err.value.problems if p.column == "village_id")
    assert unknown.message == "unknown id" and unknown.value == "999999999999" and "villages.csv" in unknown.expected
    assert len(err.value.problems) == 4  # nothing else: the other partitions are clean


def test_a_partition_whose_ids_lost_their_leading_zeros(client, studies, in_memory, tmp_path):
    _, expected = in_memory
    study = tmp_path / "zeros"
    shutil.copytree(studies[1], study)
    path = sorted((study / "parcels.parquet").glob("town_id=*/part.0.parquet"))[0]
    frame = gpd.read_parquet(path)
    assert frame["village_id"].str.startswith("0").all()  # synthetic codes keep a leading zero
    frame["village_id"] = frame["village_id"].astype("int64")  # as a spreadsheet would store them
    frame.to_parquet(path, index=False)
    loaded = vs.load_study(study)
    rel = path.relative_to(study).as_posix()
    assert any(w.file == rel and "leading zeros" in w.message for w in loaded.notes)
    _assert_same_indicators(expected, compute_indicators_dask(loaded, client=client))


# ----------------------------------------------------------------------- reports
def _stub_notebook(folder: Path, fail_town: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('study_path = ""\ntown_id = ""\nyear = 0\nlang = "zh"\nreport_mode = True')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(f'assert town_id != "{fail_town}", "made to fail"\nprint(town_id)')]
    path = folder / "stub.ipynb"
    nbformat.write(nb, path)
    return path


def test_reports_on_dask_match_the_local_run(client, tmp_path, capsys):
    study = write_synthetic_study(tmp_path / "study", towns=3, villages_per_town=2, parcels_per_village=8,
                                  years=(2022, 2023), seed=1)
    towns = pd.read_csv(study / "towns.csv", dtype=str)["town_id"].tolist()
    notebook = _stub_notebook(tmp_path, towns[1])
    options = dict(notebook=notebook, progress=False)
    local = run_reports(study, out=tmp_path / "local", jobs=1, **options)
    on_dask = run_reports(study, out=tmp_path / "dask", scheduler=client.scheduler.address, **options)
    status = {r.town_id: r.status for r in on_dask.results}
    assert status == {r.town_id: r.status for r in local.results}
    assert status == {towns[0]: "ok", towns[1]: "failed", towns[2]: "ok"}
    assert "made to fail" in next(r for r in on_dask.results if r.status == "failed").error
    names = {p.name for p in (tmp_path / "local").glob("*.html")}
    assert names == {p.name for p in (tmp_path / "dask").glob("*.html")} and "index.html" in names
    page = (tmp_path / "dask" / f"town_{towns[0]}.html").read_text(encoding="utf-8")
    assert towns[0] in page
    side = json.loads((tmp_path / "dask" / f"town_{towns[0]}.json").read_text(encoding="utf-8"))
    assert side["town_id"] == towns[0]
    # incremental, from the command line: the made towns are reused, the failed one is tried again (and fails)
    capsys.readouterr()
    code = main(["reports", str(study), "--out", str(tmp_path / "dask"), "--notebook", str(notebook),
                 "--scheduler", client.scheduler.address, "--quiet"])
    lines = capsys.readouterr().out.split("\n")
    assert code == 1  # a town failed
    for town, status in ((towns[0], "reused"), (towns[1], "failed"), (towns[2], "reused")):
        assert any(line.split()[:2] == [status, town] for line in lines if line.strip()), (town, lines)
    index = (tmp_path / "dask" / "index.html").read_text(encoding="utf-8")
    assert "made to fail" in index


def test_a_task_that_dies_is_recorded_and_the_others_go_on(client, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    bad = TownJob("t1", "甲镇", "town_t1", str(tmp_path / "none.ipynb"), str(blocker / "out"), {}, "k", None)
    also_bad = TownJob("t2", "乙镇", "town_t2", str(tmp_path / "none.ipynb"), str(blocker / "out2"), {}, "k", None)
    got = []
    run_jobs_on_dask([bad, also_bad], client.scheduler.address, None, got.append)
    assert sorted(r.town_id for r in got) == ["t1", "t2"]
    assert all(r.status == "failed" and r.error.startswith("worker failed:") for r in got)


def test_real_town_report_on_a_partitioned_study(studies, tmp_path):
    """The real report notebook on a partitioned study: maps read only the town's partitions."""
    from villagestudy.reports import run_reports

    study = studies[1]
    towns = pd.read_csv(study / "towns.csv", dtype=str)["town_id"].tolist()
    batch = run_reports(study, out=tmp_path / "out", towns=towns[:1], jobs=1, progress=False,
                        parameters={"uncertainty_runs": 20})
    assert batch.ok, [r.error for r in batch.failed]
    page = (tmp_path / "out" / f"town_{towns[0]}.html").read_text(encoding="utf-8")
    assert page.count("plotly-graph-div") >= 8
