"""Showing figures and tables the same way in JupyterLab and in batch reports.

In JupyterLab :func:`show` is ``fig.show()``. In a batch report
(``report_mode(True)``, set by the report notebook's parameters), figures are
emitted as HTML ``<div>`` elements *without* plotly.js, which the offline report
page loads once from a shared local copy (or inlines once): no CDN, no copy per
figure, and nothing that nbconvert would drop (plotly's mimetype output).
"""
from __future__ import annotations

import html

_REPORT_MODE = False


def report_mode(enabled: bool | None = None) -> bool:
    """Get or set report mode (figures as plain HTML divs for nbconvert)."""
    global _REPORT_MODE
    if enabled is not None:
        _REPORT_MODE = bool(enabled)
        if _REPORT_MODE:  # a report kernel draws only our figures: their template is set once, not per figure
            from ..viz._geom import use_theme

            use_theme()
    return _REPORT_MODE


def show(obj) -> None:
    """Display a plotly figure, a DataFrame, or text, in a notebook or a report."""
    from IPython.display import HTML, Markdown, display

    if obj is None:
        return
    if hasattr(obj, "to_plotly_json"):
        if _REPORT_MODE:
            from ..viz.offline import figure_div

            display(HTML(figure_div(obj)))
        else:
            obj.show()
        return
    if hasattr(obj, "to_html") and hasattr(obj, "columns"):
        display(HTML(table_html(obj)))
        return
    if isinstance(obj, HTMLText):
        display(HTML(str(obj)))
        return
    display(Markdown(html.escape(str(obj))))


class HTMLText(str):
    """A string of HTML made by the library (already escaped where it holds data)."""


def table_html(frame, float_format: str = "{:,.3g}") -> str:
    """A DataFrame as an HTML table with every cell escaped."""
    def fmt(v):
        if isinstance(v, float):
            return "" if v != v else float_format.format(v)
        return v

    shown = frame.copy()
    for c in shown.columns:
        if shown[c].dtype.kind == "f":
            shown[c] = shown[c].map(fmt)
    return shown.to_html(escape=True, classes="vs-table", border=0, na_rep="—")


def note(text: str) -> HTMLText:
    """A short boxed note (escaped)."""
    return HTMLText(f'<div class="vs-note">{html.escape(text)}</div>')


def heading(text: str, level: int = 2) -> HTMLText:
    return HTMLText(f"<h{level}>{html.escape(text)}</h{level}>")
