"""Maps and charts of a study as plotly figures that work offline.

Maps (:mod:`villagestudy.viz.maps`) draw polygons as filled scatter traces in
the study's projected coordinates: no tiles, no geo traces, nothing fetched.
Charts (:mod:`villagestudy.viz.charts`) compare villages on income, standards,
ranks and indicators. :mod:`villagestudy.viz.offline` writes self-contained
HTML without any CDN script. Labels come from the catalog and
:mod:`villagestudy.i18n`; Chinese by default, ``lang="en"`` for English.

Examples
--------
>>> import tempfile, pathlib
>>> import villagestudy as vs
>>> from villagestudy import viz
>>> study = vs.load_study(vs.datasets.get_path("sample"))
>>> table = vs.compute_indicators(study)
>>> fig = viz.village_map(study, table, "income_total_yuan")
>>> out = pathlib.Path(tempfile.mkdtemp()) / "map.html"
>>> path = viz.write_html(fig, out)   # offline: plotly.js inlined, no CDN
"""
from .charts import (
    compliance_heatmap, compliance_table, income_composition, income_trend, rank_intervals, ranked_bar,
    small_multiples,
)
from .maps import PARK_MEASURES, grids_map, parcels_map, park_values, parks_map, village_map
from .offline import figure_json_size, plotly_js_path, write_html

__all__ = [
    "village_map", "parks_map", "grids_map", "parcels_map", "park_values", "PARK_MEASURES",
    "income_composition", "income_trend", "compliance_heatmap", "compliance_table", "rank_intervals",
    "small_multiples", "ranked_bar",
    "write_html", "plotly_js_path", "figure_json_size",
]
