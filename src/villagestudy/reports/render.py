"""Executed notebook -> offline HTML (inputs hidden, parameters cells removed)."""
from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import nbformat

from ..viz.offline import plotly_js_path

TEMPLATES = Path(__file__).resolve().parent / "templates"
ASSETS_DIR = "assets"
PLOTLY_JS = "plotly.min.js"


def install_shared_plotly(out_dir: Path) -> str:
    """Copy plotly.js once under ``out_dir/assets``; return the relative src for reports."""
    target = out_dir / ASSETS_DIR / PLOTLY_JS
    source = plotly_js_path()
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    return f"{ASSETS_DIR}/{PLOTLY_JS}"


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = {"injected-parameters", "parameters", "remove"}
    c.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=c, template_name="offline", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    return exporter


def notebook_to_html(nb_path: Path, title: str, plotly_src: str | None = None, inline_plotly: bool = False) -> str:
    """Render an executed notebook as an offline HTML page."""
    nb = nbformat.read(nb_path, as_version=4)
    resources = {"metadata": {"name": title}}
    if inline_plotly:
        resources["plotly_inline"] = plotly_js_path().read_text(encoding="utf-8").replace("</script", "<\\/script")
    else:
        resources["plotly_src"] = plotly_src
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return body
