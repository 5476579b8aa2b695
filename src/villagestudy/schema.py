"""The canonical tables of a loaded study: names, kinds and units of columns.

This is the contract *after* loading (``Study``), not the file format: every
table has English canonical column names, ids are strings, areas are in mu
(``*_mu``), money in yuan (``*_yuan``), floor and office areas in m2 (``*_m2``).
The loader (:mod:`villagestudy.io`) maps file headers and units onto it; the
validator checks it; metrics read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

INCOME_CATEGORIES = ("business", "contracting", "investment", "subsidy", "other")
OPERATING_CATEGORIES = ("business", "contracting", "investment")
LAND_USES = ("arable", "garden", "forest", "construction", "other")
VILLAGE_KINDS = ("village", "community")
GRID_LEVELS = ("grid", "micro")
NUMERIC_KINDS = ("count", "area", "money", "m2", "year", "number")

#: Plausible bounds (inclusive) of numeric columns by kind, in canonical units. A value outside
#: them (or not finite: inf, nan written as text) is an error naming file, row, column and value.
#: Columns narrow them with ``Column.bounds``. Money: 1e13 yuan is ten trillion yuan, far above the
#: collective assets of any county (Nanhai: 57 billion); areas: 1.5e7 mu is 10,000 km2.
KIND_BOUNDS: dict[str, tuple[float, float]] = {
    "count": (0.0, 1e7),
    "area": (0.0, 1.5e7),
    "money": (-1e13, 1e13),
    "m2": (0.0, 1e8),
    "number": (-1e13, 1e13),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # id | text | category | count | area | money | m2 | year | bool | number
    required: bool = True
    choices: tuple[str, ...] | None = None
    #: for count columns: the column this one may not exceed (a sub-count)
    at_most: str | None = None
    nullable: bool = False
    #: (low, high) plausible range in canonical units; default :data:`KIND_BOUNDS` of the kind
    bounds: tuple[float, float] | None = None

    @property
    def limits(self) -> tuple[float, float] | None:
        """The plausible range of a numeric column (years are checked against the calendar)."""
        return self.bounds or KIND_BOUNDS.get(self.kind)


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    geometry: str = "none"  # none | optional | required
    stems: tuple[str, ...] = field(default=())
    required_file: bool = False

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table("towns", ("town_id",), (
            Column("town_id", "id"),
            Column("town_name", "text"),
            Column("county", "text", required=False, nullable=True),
        ), required_file=True),
        Table("villages", ("village_id",), (
            Column("village_id", "id"),
            Column("village_name", "text"),
            Column("town_id", "id"),
            Column("kind", "category", required=False, choices=VILLAGE_KINDS),
            Column("registered_pop", "count", required=False, nullable=True, bounds=(0, 1e7)),
            Column("resident_pop", "count", required=False, nullable=True, bounds=(0, 1e7)),
            Column("households", "count", required=False, nullable=True, bounds=(0, 5e6)),
        ), required_file=True),
        Table("boundaries", ("village_id",), (
            Column("village_id", "id"),
        ), geometry="required"),
        Table("parcels", ("parcel_id",), (
            Column("parcel_id", "id"),
            Column("village_id", "id"),
            Column("land_use", "category", choices=LAND_USES),
            Column("household_id", "id", required=False, nullable=True),
            Column("owner_id", "id", required=False, nullable=True),
            Column("area_mu", "area", required=False),
        ), geometry="optional"),
        Table("parks", ("park_id",), (
            Column("park_id", "id"),
            Column("village_id", "id"),
            Column("park_name", "text", required=False, nullable=True),
            Column("built_year", "year", required=False, nullable=True),
            Column("land_area_mu", "area", required=False, nullable=True),
            Column("floor_area_m2", "m2", required=False, nullable=True),
            Column("occupied_floor_area_m2", "m2", required=False, nullable=True, at_most="floor_area_m2"),
            Column("annual_rent_yuan", "money", required=False, nullable=True),
            Column("annual_tax_yuan", "money", required=False, nullable=True),
        ), geometry="optional"),
        Table("grids", ("grid_id",), (
            Column("grid_id", "id"),
            Column("village_id", "id"),
            Column("level", "category", choices=GRID_LEVELS),
            Column("parent_grid_id", "id", required=False, nullable=True),
            Column("households", "count", required=False, nullable=True),
            Column("full_time_staff", "count", required=False, nullable=True),
            Column("part_time_staff", "count", required=False, nullable=True),
            Column("has_party_group", "bool", required=False, nullable=True),
        ), geometry="optional"),
        Table("income", ("village_id", "year", "category"), (
            Column("village_id", "id"),
            Column("year", "year"),
            Column("category", "category", choices=INCOME_CATEGORIES),
            Column("amount_yuan", "money"),
        )),
        Table("governance", ("village_id", "year"), (
            Column("village_id", "id"),
            Column("year", "year"),
            Column("social_workers", "count", required=False, nullable=True),
            Column("social_workers_certified", "count", required=False, nullable=True, at_most="social_workers"),
            Column("social_workers_experienced", "count", required=False, nullable=True, at_most="social_workers"),
            Column("former_cadres_on_staff", "count", required=False, nullable=True),
            Column("grid_posts", "count", required=False, nullable=True),
            Column("grid_posts_part_time", "count", required=False, nullable=True, at_most="grid_posts"),
            Column("party_members_registered", "count", required=False, nullable=True),
            Column("party_members_volunteering", "count", required=False, nullable=True, at_most="party_members_registered"),
            Column("volunteer_events", "count", required=False, nullable=True),
            Column("volunteer_events_with_social_orgs", "count", required=False, nullable=True, at_most="volunteer_events"),
            Column("office_area_m2", "m2", required=False, nullable=True),
            Column("budget_yuan", "money", required=False, nullable=True),
            Column("disputes_reported", "count", required=False, nullable=True),
            Column("disputes_resolved", "count", required=False, nullable=True, at_most="disputes_reported"),
        )),
    ]
}

OPTIONAL_TABLES = ("boundaries", "parcels", "parks", "grids", "income", "governance")
