"""Write figures as HTML that works with no network at all.

:func:`write_html` writes one page holding one or more figures, with plotly.js
inlined (``plotlyjs="inline"``, about 4.8 MB) or loaded from a relative path
to one shared copy (``plotlyjs="js/plotly.min.js"``; copy
:func:`plotly_js_path` there). The page loads no MathJax and nothing from a
CDN, and is written atomically (a temporary file, then ``os.replace``).
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Iterable

import plotly
import plotly.graph_objects as go
import plotly.io as pio

from .._atomic import atomic_path
from ..i18n import normalise_lang

__all__ = ["write_html", "plotly_js_path", "figure_json_size", "figure_div", "DEFAULT_CONFIG"]

#: plotly.js config of every figure: no logo, no link to the plotly cloud, responsive
DEFAULT_CONFIG = {"displaylogo": False, "responsive": True,
                  "toImageButtonOptions": {"format": "png", "scale": 2}}


def plotly_js_path() -> Path:
    """Path of the ``plotly.min.js`` bundled with the installed plotly package.

    The one place that knows where plotly.js is: inlined pages, the shared copy
    of batch reports and the notebook template all read it from here.
    """
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():  # pragma: no cover - broken installation
        raise FileNotFoundError(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


def figure_json_size(fig: go.Figure) -> int:
    """Size in characters of the figure's JSON (``len(fig.to_json())``)."""
    return len(fig.to_json())


def figure_div(fig: go.Figure, *, config: dict | None = None, div_id: str | None = None) -> str:
    """One figure as an HTML ``<div>`` + script, without plotly.js and without MathJax."""
    height = "100%" if fig.layout.height else "480px"
    # The figure's own data and layout, as plotly keeps them: passing the Figure makes plotly deep-copy
    # every coordinate first (fig.to_dict()), a tenth of a report's time. A test checks the JSON is the same.
    spec = {"data": fig._data, "layout": fig._layout} if isinstance(fig, go.Figure) else fig
    return pio.to_html(spec, include_plotlyjs=False, include_mathjax=False, full_html=False,
                       config={**DEFAULT_CONFIG, **(config or {})}, div_id=div_id, validate=False,
                       default_height=height)


def _script_tag(plotlyjs: str, target: Path) -> str:
    if plotlyjs == "inline":
        source = plotly_js_path().read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f'<script type="text/javascript">{source}</script>'
    src = str(plotlyjs)
    if "://" in src or src.startswith("//"):
        raise ValueError(f"plotlyjs={src!r} is a URL: an offline page needs 'inline' or a local path "
                         f"to plotly.min.js (see plotly_js_path())")
    p = Path(src)
    if p.is_absolute():
        src = os.path.relpath(p, target.parent.resolve())
    return f'<script type="text/javascript" src="{html.escape(Path(src).as_posix(), quote=True)}"></script>'


def write_html(figs: go.Figure | Iterable[go.Figure], path: str | os.PathLike, *, plotlyjs: str = "inline",
               title: str | None = None, lang: str = "zh", config: dict | None = None) -> Path:
    """Write one or more figures to a self-contained offline HTML page.

    Parameters
    ----------
    figs : Figure or iterable of Figure
    path : path of the HTML file (parent folders are made).
    plotlyjs : ``"inline"`` or a path to ``plotly.min.js``
        ``"inline"`` embeds plotly.js in the page. A relative path is written
        as is into ``<script src>`` (relative to the page); an absolute path is
        made relative to the page's folder. URLs are refused.
    title : str, optional
        The page title (default the first figure's title).
    lang : {"zh", "en"}
        The page's ``lang`` attribute.
    config : dict, optional
        plotly.js config merged into :data:`DEFAULT_CONFIG`.

    Returns
    -------
    Path of the file written.
    """
    target = Path(path)
    fig_list = [figs] if isinstance(figs, go.Figure) else list(figs)
    if not fig_list:
        raise ValueError("write_html needs at least one figure")
    for f in fig_list:
        if not isinstance(f, go.Figure):
            raise TypeError(f"write_html takes plotly Figures, not {type(f).__name__}")
    if title is None:
        t0 = fig_list[0].layout.title.text
        title = _strip_tags(t0) if t0 else "villagestudy"
    script = _script_tag(plotlyjs, target.resolve())
    divs = "\n".join(f'<div class="vs-figure">{figure_div(f, config=config)}</div>' for f in fig_list)
    page = (
        "<!DOCTYPE html>\n"
        f'<html lang="{"en" if normalise_lang(lang) == "en" else "zh-CN"}">\n<head>\n'
        '<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{margin:0;padding:8px;font-family:\"Noto Sans CJK SC\",\"Noto Sans SC\",\"Microsoft YaHei\","
        "sans-serif;background:#fff}.vs-figure{margin-bottom:16px}</style>\n"
        f"{script}\n</head>\n<body>\n{divs}\n</body>\n</html>\n"
    )
    with atomic_path(target, suffix=".html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", str(text))).strip()
