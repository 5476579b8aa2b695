"""Fixtures that build tiny studies in code."""
from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

STUDY_TOML = """name = "测试研究"
crs = "EPSG:4547"
area_unit = "mu"
money_unit = "yuan"
year = 2023
office_area_standard_m2 = 300
"""


def write_tiny_study(folder: Path) -> Path:
    """Two towns, three villages; every table of the contract, small enough to check by hand."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "study.toml").write_text(STUDY_TOML, encoding="utf-8")
    pd.DataFrame({"town_id": ["440100001", "440100002"], "town_name": ["东镇", "西街道"],
                  "county": ["某县", "某县"]}).to_csv(folder / "towns.csv", index=False)
    pd.DataFrame({
        "village_id": ["044010000101", "044010000102", "044010000201"],
        "village_name": ["甲村", "乙村", "丙社区"],
        "town_id": ["440100001", "440100001", "440100002"],
        "kind": ["village", "village", "community"],
        "registered_pop": [1000, 2000, 4597],
        "resident_pop": [900, 2500, 2134],
        "households": [300, 600, 1200],
    }).to_csv(folder / "villages.csv", index=False)
    x0, y0 = 500_000.0, 2_500_000.0
    boxes = [shapely.box(x0 + i * 1000, y0, x0 + (i + 1) * 1000, y0 + 1000) for i in range(3)]
    gpd.GeoDataFrame({"village_id": ["044010000101", "044010000102", "044010000201"]},
                     geometry=boxes, crs="EPSG:4547").to_file(folder / "boundaries.gpkg", layer="villages")
    side = (10000 / 15) ** 0.5  # a square of one mu
    parcels = []
    for v, vid in enumerate(["044010000101", "044010000102", "044010000201"]):
        for k in range(4):
            parcels.append({"parcel_id": f"P{v}{k}", "village_id": vid, "land_use": "arable" if k < 3 else "forest",
                            "household_id": f"H{v}{k % 2}", "owner_id": f"{vid}-0{k % 2}",
                            "geometry": shapely.box(x0 + v * 1000 + k * side, y0 + 10, x0 + v * 1000 + (k + 1) * side,
                                                    y0 + 10 + side)})
    gpd.GeoDataFrame(parcels, crs="EPSG:4547").to_file(folder / "parcels.gpkg", layer="parcels")
    pd.DataFrame({"park_id": ["K1"], "village_id": ["044010000101"], "park_name": ["一号园"], "built_year": [1995],
                  "land_area": [30.0], "floor_area_m2": [20000.0], "occupied_floor_area_m2": [15000.0],
                  "annual_rent_yuan": [1_800_000.0], "annual_tax_yuan": [600_000.0]}).to_csv(folder / "parks.csv", index=False)
    pd.DataFrame({"grid_id": ["G1", "G1a", "G1b"], "village_id": ["044010000201"] * 3, "level": ["grid", "micro", "micro"],
                  "parent_grid_id": [None, "G1", "G1"], "households": [1200, 600, 600], "full_time_staff": [1, 0, 0],
                  "part_time_staff": [2, 1, 1], "has_party_group": [True, True, False]}).to_csv(folder / "grids.csv", index=False)
    rows = []
    for vid, base in [("044010000101", 60_000), ("044010000102", 20_000), ("044010000201", 100_000)]:
        for year in (2022, 2023):
            for cat, f in [("business", 1.0), ("contracting", 0.5), ("investment", -0.1 if vid.endswith("02") else 0.2),
                           ("subsidy", 0.4), ("other", 0.1)]:
                rows.append({"village_id": vid, "year": year, "category": cat, "amount": base * f * (1 + (year - 2022) * 0.1)})
    pd.DataFrame(rows).to_csv(folder / "income.csv", index=False)
    pd.DataFrame({"village_id": ["044010000101", "044010000102", "044010000201"], "year": [2023] * 3,
                  "social_workers": [2, 3, 5], "social_workers_certified": [1, 1, 2], "social_workers_experienced": [1, 2, 3],
                  "former_cadres_on_staff": [0, 1, 1], "grid_posts": [4, 6, 10], "grid_posts_part_time": [2, 5, 3],
                  "party_members_registered": [100, 200, 4569], "party_members_volunteering": [50, 80, 2479],
                  "volunteer_events": [8, 10, 8], "volunteer_events_with_social_orgs": [1, 5, 1],
                  "office_area_m2": [350, 200, 300], "budget_yuan": [200_000, 150_000, 250_000],
                  "disputes_reported": [10, 0, 20], "disputes_resolved": [9, 0, 18]}).to_csv(folder / "governance.csv", index=False)
    return folder


@pytest.fixture
def tiny_study_dir(tmp_path) -> Path:
    return write_tiny_study(tmp_path / "tiny")


@pytest.fixture(scope="session")
def tiny_study_session(tmp_path_factory) -> Path:
    return write_tiny_study(tmp_path_factory.mktemp("tiny") / "study")


@pytest.fixture
def copy_study(tmp_path):
    def _copy(src: Path) -> Path:
        dst = tmp_path / "copy"
        shutil.copytree(src, dst)
        return dst
    return _copy


REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "src" / "villagestudy" / "datasets" / "sample"


@pytest.fixture(scope="session")
def sample_batch(tmp_path_factory):
    """The batch reports of the bundled sample study, made once per test session."""
    from villagestudy.reports import run_reports

    return run_reports(SAMPLE, out=tmp_path_factory.mktemp("reports"), jobs=2, progress=False)


IN_CI = bool(os.environ.get("CI"))
"""Under CI every test runs: a missing dependency fails the test instead of skipping it."""


def skip_unless_ci(reason: str):
    """Skip a test on a developer's machine; fail it under CI (where .ci/run installs everything)."""
    if IN_CI:
        pytest.fail(f"{reason} (CI installs every dependency: nothing may be skipped)")
    pytest.skip(reason)


def importorskip_unless_ci(module: str):
    """``pytest.importorskip`` on a developer's machine; a plain import (failing when absent) under CI."""
    if IN_CI:
        return importlib.import_module(module)
    return pytest.importorskip(module)


def chromium_or_skip():
    """Debian's chromium for browser tests; skip (with the reason) only when it is not installed, never in CI."""
    if not Path("/usr/bin/chromium").exists():
        skip_unless_ci("Debian chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    return "/usr/bin/chromium"


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
