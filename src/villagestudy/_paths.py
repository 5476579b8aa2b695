"""Where the installed package keeps its report and app notebooks, the bundled sample study and its plotly.js."""
from pathlib import Path

from .datasets import get_path

PACKAGE_DIR = Path(__file__).resolve().parent
NOTEBOOKS = PACKAGE_DIR / "notebooks"
SAMPLE_STUDY = get_path("sample")
#: the offline plotly.js partial bundle (plotly.js-cartesian-dist-min, gzipped; version and licence beside it)
#: that the reports inline and the consultation page draws its first view with
PLOTLY_BUNDLE = PACKAGE_DIR / "reports" / "assets" / "plotly-cartesian.min.js.gz"
