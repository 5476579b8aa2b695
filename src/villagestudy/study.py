"""The :class:`Study`: every table of a study, validated and canonical.

Tables follow :mod:`villagestudy.schema` (canonical names, ids as strings,
areas in mu, money in yuan, geometries in the study's projected CRS). A study is
made by :func:`villagestudy.load_study` from a folder, or in code with
:meth:`Study.from_frames` (tests and notebooks build tiny studies this way).
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import Problem
from .rich_display import study_html
from .schema import TABLES
from .settings import M2_PER_MU, Settings

TABLE_NAMES = ("towns", "villages", "boundaries", "parcels", "parks", "grids", "income", "governance")


@dataclass
class Study:
    """A loaded study.

    Attributes
    ----------
    towns, villages : DataFrame
        Always present. ``villages`` has ``village_id``, ``village_name``,
        ``town_id``, ``kind``, ``registered_pop``, ``resident_pop``, ``households``.
    boundaries : GeoDataFrame or None
        Village polygons (``village_id``, geometry) in the study CRS.
    parcels : DataFrame, GeoDataFrame or None
        ``parcel_id``, ``village_id``, ``land_use``, ``household_id``,
        ``owner_id``, ``area_mu`` (always filled: from the file, or from the
        geometry's area when the file has none) and geometry when the source had one.
    parks, grids : DataFrame, GeoDataFrame or None
    income : DataFrame or None
        Long format: ``village_id``, ``year``, ``category``, ``amount_yuan``.
    governance : DataFrame or None
        ``village_id``, ``year`` and the raw counts of the contract.
    settings : Settings
    path : Path or None
        The folder the study was read from.
    notes : list of Problem
        Warnings found while loading (they did not stop the load).
    """

    towns: pd.DataFrame
    villages: pd.DataFrame
    boundaries: gpd.GeoDataFrame | None = None
    parcels: pd.DataFrame | None = None
    parks: pd.DataFrame | None = None
    grids: pd.DataFrame | None = None
    income: pd.DataFrame | None = None
    governance: pd.DataFrame | None = None
    settings: Settings = field(default_factory=Settings)
    path: Path | None = None
    notes: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    #: data-quality summary of the load (see :func:`villagestudy.validate.quality_table`)
    quality: pd.DataFrame | None = field(default=None, repr=False)
    _fingerprint: str | None = field(default=None, repr=False)
    #: the fingerprint's hash of the tables alone, before the settings: a study with other
    #: settings and the same tables (:meth:`with_settings`) reuses it
    _tables_hash: object = field(default=None, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_frames(cls, towns: pd.DataFrame | None = None, villages: pd.DataFrame | None = None,
                    settings: Settings | dict | None = None, **tables) -> "Study":
        """Build a study from frames already in canonical form (tests, notebooks).

        Ids are cast to strings, ``area_mu`` of parcels is derived from the
        geometry when absent, and a ``towns`` table is made from the villages'
        ``town_id`` when not given. No validation beyond that:
        :func:`villagestudy.load_study` validates a study folder.

        Examples
        --------
        >>> import pandas as pd
        >>> v = pd.DataFrame({"village_id": ["v1"], "village_name": ["甲村"], "town_id": ["t1"]})
        >>> Study.from_frames(villages=v).towns.town_id.tolist()
        ['t1']
        """
        if villages is None:
            raise ValueError("a study needs a villages table")
        if isinstance(settings, dict):
            settings = Settings().replace(**settings)
        settings = settings or Settings()
        villages = _canonical_ids(villages.copy())
        if towns is None:
            ids = pd.unique(villages["town_id"])
            towns = pd.DataFrame({"town_id": ids, "town_name": ids})
        towns = _canonical_ids(towns.copy())
        for col in ("kind",):
            if col not in villages:
                villages[col] = "village"
        for col in ("registered_pop", "resident_pop", "households"):
            if col not in villages:
                villages[col] = float("nan")
        out = {}
        for name, frame in tables.items():
            if name not in TABLE_NAMES:
                raise TypeError(f"unknown table {name!r}; tables are {', '.join(TABLE_NAMES)}")
            if frame is None:
                out[name] = None
                continue
            frame = _canonical_ids(frame.copy())
            if name == "parcels" and "area_mu" not in frame:
                if not isinstance(frame, gpd.GeoDataFrame):
                    raise ValueError("parcels need an 'area_mu' column or a geometry")
                frame["area_mu"] = frame.geometry.area / M2_PER_MU
            if name == "parks" and "land_area_mu" not in frame and isinstance(frame, gpd.GeoDataFrame):
                frame["land_area_mu"] = frame.geometry.area / M2_PER_MU
            out[name] = frame
        return cls(towns=towns, villages=villages, settings=settings, **out)

    # ------------------------------------------------------------------ views
    def has(self, table: str) -> bool:
        """True when the study has a non-empty table of that name."""
        frame = getattr(self, table, None)
        return frame is not None and len(frame) > 0

    def has_geometry(self, table: str) -> bool:
        frame = getattr(self, table, None)
        return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.notna().any()

    @property
    def years(self) -> list[int]:
        """All years present in the income and governance tables, sorted."""
        years: set[int] = set()
        for t in (self.income, self.governance):
            if t is not None and len(t):
                years.update(int(y) for y in t["year"].dropna().unique())
        return sorted(years)

    @property
    def default_year(self) -> int | None:
        """The study's ``year`` setting, else the latest year with data."""
        if self.settings.year is not None:
            return int(self.settings.year)
        return self.years[-1] if self.years else None

    def town_ids(self) -> list[str]:
        return list(self.towns["town_id"])

    def town_name(self, town_id: str) -> str:
        row = self.towns.loc[self.towns["town_id"] == town_id, "town_name"]
        return str(row.iloc[0]) if len(row) else str(town_id)

    def for_towns(self, town_ids: Iterable[str] | str) -> "Study":
        """A study restricted to some towns (every table filtered by village)."""
        if isinstance(town_ids, str):
            town_ids = [town_ids]
        town_ids = [str(t) for t in town_ids]
        villages = self.villages[self.villages["town_id"].isin(town_ids)]
        keep = set(villages["village_id"])
        changes = {"towns": self.towns[self.towns["town_id"].isin(town_ids)], "villages": villages}
        for name in TABLE_NAMES[2:]:
            frame = getattr(self, name)
            if frame is not None:
                changes[name] = frame[frame["village_id"].isin(keep)]
        return dataclasses.replace(self, _fingerprint=None, **changes)

    def village_rows(self, table: str, village_ids: Iterable[str]) -> pd.DataFrame | None:
        """The rows of ``table`` that belong to some villages (None when the study has no such table).

        A study whose table is stored in partitions reads only the partitions
        that hold these villages (e.g. a map of one village's parcels).

        Examples
        --------
        >>> v = pd.DataFrame({"village_id": ["v1", "v2"], "town_id": ["t1", "t1"]})
        >>> p = pd.DataFrame({"parcel_id": ["p1", "p2"], "village_id": ["v1", "v2"], "area_mu": [1.0, 2.0]})
        >>> Study.from_frames(villages=v, parcels=p).village_rows("parcels", ["v2"])["parcel_id"].tolist()
        ['p2']
        """
        frame = getattr(self, table)
        if frame is None:
            return None
        return frame[frame["village_id"].isin(set(village_ids))]

    def quality_for_town(self, town_id: str) -> pd.DataFrame:
        """What was dropped, corrected or warned about for one town (rows of :attr:`quality`).

        Problems of a row or parcel of the town, plus study-wide ones without a
        town (a file-level note concerns every town); ``read``/``loaded`` counts are left out.
        """
        q = self.quality
        if q is None or not len(q):
            return pd.DataFrame(columns=list(QUALITY_COLUMNS))
        mine = q["action"].isin(["dropped", "corrected", "warning"]) & (q["town_id"].isna() | (q["town_id"] == str(town_id)))
        return q.loc[mine].reset_index(drop=True)

    def with_settings(self, **changes) -> "Study":
        """A copy of the study with some settings changed."""
        changed = dataclasses.replace(self, settings=self.settings.replace(**changes), _fingerprint=None)
        changed._tables_hash = self._tables_hash  # the same tables
        return changed

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_tables_hash"] = None  # a hashlib object does not pickle; recomputed when needed
        return state

    # ------------------------------------------------------------ provenance
    @property
    def fingerprint(self) -> str:
        """A short hash of the study's canonical data and settings.

        The same data and settings give the same fingerprint whatever the
        files' formats or row order; reports print it for reproducibility.
        """
        if self._fingerprint is None:
            if self._tables_hash is None:
                tables = hashlib.sha256()
                for name in TABLE_NAMES:
                    frame = getattr(self, name)
                    tables.update(name.encode())
                    tables.update(b"<none>" if frame is None else _frame_digest(frame, TABLES[name].key))
                self._tables_hash = tables
            h = self._tables_hash.copy()
            h.update(repr(sorted((k, repr(v)) for k, v in self.settings.as_dict().items())).encode())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def summary(self) -> dict:
        """Counts of what the study holds (for ``villagestudy validate``)."""
        s = {
            "name": self.settings.name,
            "towns": len(self.towns),
            "villages": len(self.villages),
            "parcels": len(self.parcels) if self.parcels is not None else 0,
            "years": self.years,
            "optional tables": [t for t in TABLE_NAMES[2:] if self.has(t)],
            "crs": self.settings.crs,
            "fingerprint": self.fingerprint,
        }
        return s

    def _repr_html_(self) -> str:
        """The study at a glance in JupyterLab: towns, villages, tables, years, warnings."""
        return study_html(self)

    def __repr__(self) -> str:  # short: frames are large
        s = self.summary()
        return (f"<Study {s['name']!r}: {s['towns']} towns, {s['villages']} villages, "
                f"{s['parcels']} parcels, years {s['years'][:1] + s['years'][-1:]}, "
                f"tables {s['optional tables']}>")


def _canonical_ids(frame: pd.DataFrame) -> pd.DataFrame:
    for col in frame.columns:
        if col.endswith("_id") and col in frame:
            s = frame[col]
            if not pd.api.types.is_string_dtype(s):
                frame[col] = s.astype("string").astype("str") if s.notna().all() else s.map(
                    lambda x: None if pd.isna(x) else str(x)).astype("str")
    return frame


def _frame_digest(frame: pd.DataFrame, key: tuple[str, ...]) -> bytes:
    data = pd.DataFrame(frame).copy()
    if isinstance(frame, gpd.GeoDataFrame):
        geom_col = frame.geometry.name
        data[geom_col] = _hex_wkb(frame.geometry)
    cols = sorted(data.columns)
    data = data[cols]
    sort_by = [k for k in key if k in data]
    if sort_by:
        data = data.sort_values(sort_by, kind="mergesort")
    hashed = pd.util.hash_pandas_object(data.reset_index(drop=True), index=False)
    return ("|".join(cols)).encode() + hashed.values.tobytes()


def _hex_wkb(geometry: gpd.GeoSeries) -> pd.Series:
    """``geometry.to_wkb(hex=True)``, the same strings, three times faster (GEOS' hex writer is slow).

    Examples
    --------
    >>> import shapely
    >>> g = gpd.GeoSeries([shapely.box(0, 0, 1, 1), None, shapely.Point(2, 3)])
    >>> _hex_wkb(g).equals(g.to_wkb(hex=True))
    True
    """
    raw = shapely.to_wkb(np.asarray(geometry.values), hex=False)
    return pd.Series(np.array([None if b is None else b.hex().upper() for b in raw], dtype=object),
                     index=geometry.index)
