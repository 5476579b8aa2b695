"""Real public cadastral parcels (Épinay-sur-Orge, France; see tests/data/fr_cadastre_91216/README.md).

A study is built in code around the published parcels: validate, metrics and a report run, and the
layout warnings fire where the data has them (registered vs drawn area, a sliver, an overlap).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import villagestudy as vs

DATA = Path(__file__).parent / "data" / "fr_cadastre_91216" / "parcelles.geojson"
SECTIONS = {"ZD": "arable", "ZE": "arable", "AO": "construction", "AP": "construction"}


def _study(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "study.toml").write_text('name = "Épinay-sur-Orge cadastre"\ncrs = "EPSG:2154"\narea_unit = "m2"\n'
                                       "year = 2022\noverlap_tolerance_m2 = 0.1\n", encoding="utf-8")
    pd.DataFrame({"town_id": ["91216"], "town_name": ["Épinay-sur-Orge"]}).to_csv(folder / "towns.csv", index=False)
    pd.DataFrame({"village_id": [f"91216{s}" for s in SECTIONS], "village_name": [f"Section {s}" for s in SECTIONS],
                  "town_id": "91216", "kind": "village"}).to_csv(folder / "villages.csv", index=False)
    raw = gpd.read_file(DATA)
    parcels = gpd.GeoDataFrame({
        "parcel_id": raw["id"], "village_id": "91216" + raw["section"], "land_use": raw["section"].map(SECTIONS),
        "area": raw["contenance"].astype(float)}, geometry=raw.geometry, crs=raw.crs)
    parcels.to_file(folder / "parcels.gpkg", layer="parcels")
    bounds = parcels.to_crs(2154).dissolve("village_id").reset_index()[["village_id", "geometry"]]
    bounds.to_file(folder / "boundaries.gpkg", layer="villages")
    return folder


@pytest.fixture(scope="module")
def real_study(tmp_path_factory) -> Path:
    return _study(tmp_path_factory.mktemp("real") / "epinay")


def test_validate_warns_where_the_data_disagrees(real_study):
    r = subprocess.run([sys.executable, "-m", "villagestudy.cli", "validate", str(real_study)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "parcels.gpkg           491 read / 491 loaded / 0 dropped" in out
    assert "18 of 491 parcel(s) have a registered area that differs from the drawn area by more than 10%" in out
    assert "91216000ZD0335 (3.00 m2" not in out  # areas are reported in mu
    assert "1 sliver parcel(s) smaller than 5 m2" in out
    assert "1 pair(s) of parcels overlap by more than 0.1 m2" in out
    assert "91216000AO0002/91216000ZE0012 (0.13 m2)" in out


def test_metrics_on_real_parcels(real_study):
    study = vs.load_study(real_study)
    table = vs.compute_indicators(study)
    zd = table.loc["91216ZD"]
    parcels = study.parcels[study.parcels["village_id"] == "91216ZD"]
    assert zd["parcel_count"] == len(parcels) == 262
    # registered areas (area_source = "register"), converted from m2 to mu once on load
    raw = gpd.read_file(DATA)
    assert zd["farmland_area_mu"] == pytest.approx(raw.loc[raw["section"] == "ZD", "contenance"].sum() * 15 / 10000)
    drawn = vs.load_study(real_study, area_source="geometry")
    zd_drawn = vs.compute_indicators(drawn).loc["91216ZD"]
    assert zd_drawn["farmland_area_mu"] == pytest.approx(
        raw.to_crs(2154).loc[raw["section"] == "ZD"].area.sum() * 15 / 10000)
    assert zd["block_count"] >= 1 and 0 < zd["contiguous_share"] <= 1


def test_report_on_real_parcels(real_study, tmp_path):
    from villagestudy.reports import run_reports

    result = run_reports(real_study, out=tmp_path / "reports", jobs=1, progress=False)
    assert [r.status for r in result.results] == ["ok"], [r.error for r in result.results]
    html = (tmp_path / "reports" / result.results[0].html).read_text(encoding="utf-8")
    assert "Section ZD" in html
