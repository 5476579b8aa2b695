"""Showing report sections the same way in JupyterLab and in batch reports.

All HTML comes from Jinja2 templates (``reports/templates/``) with autoescape
on; a value that is already safe HTML (a plotly ``<div>`` made by plotly, a
rendered sub-template) is passed as :class:`markupsafe.Markup`.

A section is built as a list of parts (:class:`Section`): headings, notes,
paragraphs, figures, tables. In a batch report (``report_mode(True)``) the
whole section is rendered as ONE HTML output, a collapsible ``<details>``
block (nbconvert cannot wrap several outputs in one element); figures become
``<div>`` elements without plotly.js, which the page loads once. In JupyterLab
each part is displayed on its own (``fig.show()`` for figures).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from ..formatting import MISSING, fmt_value, is_numeric_column
from ..viz._geom import use_theme
from ..viz.offline import figure_div

TEMPLATES = Path(__file__).resolve().parent / "templates"
_REPORT_MODE = False


def report_mode(enabled: bool | None = None) -> bool:
    """Get or set report mode (sections as one HTML block each, figures as plain divs)."""
    global _REPORT_MODE
    if enabled is not None:
        _REPORT_MODE = bool(enabled)
        if _REPORT_MODE:  # a report kernel draws only our figures: their template is set once, not per figure
            use_theme()
    return _REPORT_MODE


@lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment of report HTML: autoescape on, templates of this package."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES / "html")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env


def render(template: str, **context) -> Markup:
    """Render ``templates/html/<template>`` (escaped) and return it as safe markup."""
    return Markup(environment().get_template(template).render(**context))


# ------------------------------------------------------------------ parts
@dataclass
class Table:
    """A table of a report: ``frame`` has column ids (indicator ids or known column names).

    ``labels`` maps column ids to headers in the report language; ``index_label``
    heads the row labels (village names). Cells are formatted by
    :func:`villagestudy.formatting.fmt_value` from each column's id, so the same
    table feeds the HTML and the spreadsheet (raw numbers there).
    """

    frame: pd.DataFrame
    labels: dict[str, str]
    index_label: str
    title: str = ""
    lang: str = "zh"

    def header(self) -> list[str]:
        return [self.index_label, *(self.labels.get(c, str(c)) for c in self.frame.columns)]

    def numeric(self) -> list[bool]:
        return [is_numeric_column(self.frame[c]) for c in self.frame.columns]

    def cells(self) -> list[tuple[str, list[str]]]:
        cols = list(self.frame.columns)
        return [(str(idx), [fmt_value(row[k], c, self.lang, missing=MISSING) for k, c in enumerate(cols)])
                for idx, row in zip(self.frame.index, self.frame.itertuples(index=False, name=None))]

    def to_html(self) -> Markup:
        return render("table.html.j2", table=self)


@dataclass
class Part:
    kind: str  # heading | note | text | figure | table | list | html
    content: object
    level: int = 3


@dataclass
class Section:
    """One section of a report: a key (CSS id), a title, its parts; ``open`` when shown unfolded."""

    key: str
    title: str
    parts: list[Part] = field(default_factory=list)
    open: bool = False

    def heading(self, text: str, level: int = 3) -> "Section":
        self.parts.append(Part("heading", text, level))
        return self

    def note(self, text: str) -> "Section":
        self.parts.append(Part("note", text))
        return self

    def text(self, text: str) -> "Section":
        self.parts.append(Part("text", text))
        return self

    def items(self, items: list[str]) -> "Section":
        self.parts.append(Part("list", list(items)))
        return self

    def figure(self, fig) -> "Section":
        if fig is not None:
            self.parts.append(Part("figure", fig))
        return self

    def table(self, table: Table) -> "Section":
        self.parts.append(Part("table", table))
        return self

    def html(self, markup: Markup) -> "Section":
        self.parts.append(Part("html", Markup(markup)))
        return self

    def tables(self) -> list[Table]:
        return [p.content for p in self.parts if p.kind == "table"]

    def to_html(self) -> Markup:
        return render("section.html.j2", section=self, parts=[_part_html(p) for p in self.parts])


def _part_html(part: Part) -> Markup:
    if part.kind == "figure":
        return render("figure.html.j2", div=Markup(figure_div(part.content)))
    if part.kind == "table":
        return part.content.to_html()
    if part.kind == "html":
        return part.content
    return render("part.html.j2", part=part)


def show_section(section: Section) -> None:
    """Display a section: one HTML block in report mode, part by part in JupyterLab."""
    from IPython.display import HTML, display

    if _REPORT_MODE:
        display(HTML(str(section.to_html())))
        return
    display(HTML(str(render("part.html.j2", part=Part("heading", section.title, 2)))))
    for part in section.parts:
        if part.kind == "figure":
            part.content.show()
        else:
            display(HTML(str(_part_html(part))))


def show(obj) -> None:
    """Display a plotly figure, a :class:`Table`, a :class:`Section` or text, in a notebook or a report."""
    from IPython.display import HTML, display

    if obj is None:
        return
    if isinstance(obj, Section):
        show_section(obj)
    elif hasattr(obj, "to_plotly_json"):
        if _REPORT_MODE:
            display(HTML(str(_part_html(Part("figure", obj)))))
        else:
            obj.show()
    elif isinstance(obj, Table):
        display(HTML(str(obj.to_html())))
    elif isinstance(obj, Markup):
        display(HTML(str(obj)))
    else:
        display(HTML(str(render("part.html.j2", part=Part("text", str(obj))))))
