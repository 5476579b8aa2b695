"""Executed notebook -> offline HTML (inputs hidden, parameters cells removed).

By default a report carries its own plotly.js: the partial "cartesian" bundle
of plotly.js shipped in ``reports/assets`` (1.5 MB; every trace type the
reports draw), inlined ONCE in the page head, so that a report sent alone by
e-mail or WeChat draws every chart offline. For very large batches
``shared_assets`` loads one copy from ``assets/`` beside the reports instead.
"""
from __future__ import annotations

import gzip
import json
import re
import threading
from functools import lru_cache
from pathlib import Path

import nbformat
from .._atomic import atomic_path


TEMPLATES = Path(__file__).resolve().parent / "templates"
ASSETS = Path(__file__).resolve().parent / "assets"
ASSETS_DIR = "assets"
BUNDLE = "plotly-cartesian.min.js"
BUNDLE_INFO = "plotly-cartesian.json"


def plotly_js_source() -> Path:
    """The plotly.js partial bundle shipped with the package, gzipped (see ``assets/plotly-cartesian.json``).

    Shipped compressed: 0.5 MB in the wheel instead of 1.5 MB.
    """
    path = ASSETS / f"{BUNDLE}.gz"
    if not path.exists():  # pragma: no cover - a broken installation
        raise FileNotFoundError(f"{path.name} not found in {ASSETS}; reinstall villagestudy")
    return path


@lru_cache(maxsize=1)
def plotly_js_text() -> str:
    """The text of the shipped plotly.js bundle."""
    return gzip.decompress(plotly_js_source().read_bytes()).decode("utf-8")


def bundle_info() -> dict:
    """Package, version and licence of the shipped plotly.js bundle."""
    return json.loads((ASSETS / BUNDLE_INFO).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def bundle_trace_types() -> frozenset[str]:
    """The trace types registered in the shipped bundle (read from its module definitions)."""
    text = plotly_js_text()
    return frozenset(re.findall(r'moduleType:"trace",name:"([a-z0-9]+)"', text))


def install_shared_plotly(out_dir: Path) -> str:
    """Copy the bundle once under ``out_dir/assets``; return the relative src for reports."""
    target = out_dir / ASSETS_DIR / BUNDLE
    data = plotly_js_text().encode("utf-8")
    if not target.exists() or target.stat().st_size != len(data):
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        with atomic_path(target.parent / "plotly-cartesian.LICENSE") as tmp:
            tmp.write_bytes((ASSETS / "plotly-cartesian.LICENSE").read_bytes())
    return f"{ASSETS_DIR}/{BUNDLE}"


@lru_cache(maxsize=1)
def _inline_bundle() -> str:
    return plotly_js_text().replace("</script", "<\\/script")


# What nbconvert's HTMLExporter adds to a finished page for keyboard and screen-reader users
_FOCUSABLE = re.compile(r'<div (?![^>]*\btabindex=)([^>]*\bclass="[^"]*\bjp-(?:OutputArea-output|Cell-inputWrapper)\b[^>]*?)>')
_IMAGE_WITHOUT_ALT = re.compile(r"<img (?![^>]*\balt=)([^>]*?)\s*(/?)>")
NO_ALT_TEXT = "No description has been provided for this image"


def accessible(page: str) -> str:
    """``tabindex="0"`` on every cell input and output, and an ``alt`` on every image that has none.

    What nbconvert's :class:`~nbconvert.HTMLExporter` does by parsing the whole
    finished page with BeautifulSoup (0.1-0.3 s for a report with maps): here
    on the opening tags of the nbconvert template, which text from data never
    produces (it is escaped). The attribute is added last, where BeautifulSoup adds it.

    >>> accessible('<div class="jp-OutputArea-output x"><img src="a.png"></div>')
    '<div class="jp-OutputArea-output x" tabindex="0"><img src="a.png" alt="No description has been provided for this image"></div>'
    """
    page = _FOCUSABLE.sub(r'<div \1 tabindex="0">', page)
    return _IMAGE_WITHOUT_ALT.sub(rf'<img \1 alt="{NO_ALT_TEXT}"\2>', page)


_THREAD = threading.local()


def _exporter(nbconvert_pass: bool = False):
    """This thread's report exporter (an exporter keeps per-notebook state: one per thread that renders).

    ``nbconvert_pass``: nbconvert's own HTMLExporter, for comparison in the tests.
    """
    made = getattr(_THREAD, "exporters", None)
    if made is None:
        made = _THREAD.exporters = {}
    if nbconvert_pass not in made:
        made[nbconvert_pass] = _new_exporter(nbconvert_pass)
    return made[nbconvert_pass]


def _new_exporter(nbconvert_pass: bool):
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    class ReportExporter(HTMLExporter):
        """HTMLExporter with its accessibility pass done by :func:`accessible` (a test compares the two)."""

        def from_notebook_node(self, nb, resources=None, **kw):
            # HTMLExporter.from_notebook_node, up to its BeautifulSoup pass
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code",
                                 self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return accessible(page), resources

        def _init_resources(self, resources):
            # the page's <html lang> comes from resources["report_language"]: nbconvert's language_code trait
            # validates the value it replaces, not the new one, so every second "zh-CN" page became "en"
            resources = super()._init_resources(resources)
            resources["language_code"] = resources.get("report_language") or resources["language_code"]
            return resources

    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = {"injected-parameters", "parameters", "remove"}
    c.TagRemovePreprocessor.enabled = True
    exporter_class = HTMLExporter if nbconvert_pass else ReportExporter
    exporter = exporter_class(config=c, template_name="offline", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    return exporter


def notebook_to_html(nb_path: Path, title: str, plotly_src: str | None = None, inline_plotly: bool = True,
                     lang: str = "zh", *, _nbconvert_pass: bool = False) -> str:
    """Render an executed notebook as an offline HTML page (plotly.js inlined unless ``plotly_src``)."""
    nb = nbformat.read(nb_path, as_version=4)
    resources = {"metadata": {"name": title}, "report_language": "en" if lang == "en" else "zh-CN",
                 "report_css": (TEMPLATES / "html" / "report.css").read_text(encoding="utf-8"),
                 "report_js": (TEMPLATES / "html" / "report.js").read_text(encoding="utf-8")}
    if plotly_src:
        resources["plotly_src"] = plotly_src
    elif inline_plotly:
        resources["plotly_inline"] = _inline_bundle()
    # report_language: the <html lang> (Chinese fonts and hyphenation); nbconvert's own exporter, for the tests
    # only, keeps its trait's "en"
    body, _ = _exporter(_nbconvert_pass).from_notebook_node(nb, resources=resources)
    return body
