"""A figure put together as plotly's JSON, then built and validated once.

plotly validates every property a ``go.Figure`` is given, one call at a time:
each ``add_trace``, each layout update, each annotation. A report's figures
spent about five times what plotly needs to validate them once, finished
(``benchmarks/bench_figures.py``). The figure functions of :mod:`villagestudy.viz`
collect their traces and layout in a :class:`FigureSpec` with the same calls
and return :meth:`FigureSpec.build`, a ``go.Figure`` like any other.
"""
from __future__ import annotations

import re
from typing import Iterable

import plotly.graph_objects as go
from plotly.basedatatypes import BaseFigure

#: layout properties that hold a value of their own, not nested properties: a dict given replaces them
_WHOLE_VALUES = frozenset({"meta"})
#: properties for which plotly takes a string as their text: ``title="元"`` is ``title={"text": "元"}``
_TEXT_SHORTHAND = frozenset({"title"})


class FigureSpec:
    """Traces and layout of one figure as plain dicts; :meth:`build` makes the ``go.Figure``.

    The updates follow plotly's: ``yaxis_title=...`` is ``yaxis={"title": ...}``
    ("magic underscores"), a dict merges into nested properties already set, and
    anything else (a list, a number, None) replaces what was there.

    Examples
    --------
    >>> spec = FigureSpec()
    >>> spec.add_trace({"type": "bar", "x": ["a"], "y": [1]})
    >>> spec.update_layout(yaxis_title="元", legend={"x": 0})
    >>> spec.update_layout(legend={"y": 1})
    >>> spec.update_axes("y", tickformat=",")
    >>> fig = spec.build()
    >>> fig.layout.yaxis.to_plotly_json(), fig.layout.legend.to_plotly_json()
    ({'tickformat': ',', 'title': {'text': '元'}}, {'x': 0, 'y': 1})
    """

    def __init__(self, data: Iterable[dict] = ()):
        self.data: list[dict] = list(data)
        self.layout: dict = {}

    def add_trace(self, trace: dict) -> None:
        self.data.append(trace)

    def add_traces(self, traces: Iterable[dict]) -> None:
        self.data.extend(traces)

    def update_layout(self, **props) -> None:
        for key, value in props.items():
            _merge_at(self.layout, BaseFigure._str_to_dict_path(key), value)

    def update_axes(self, axis: str, **props) -> None:
        """Update every x (``axis="x"``) or y axis of the figure, as ``fig.update_xaxes`` does."""
        pattern = re.compile(rf"{axis}axis\d*")
        names = {f"{axis}axis"} | {k for k in self.layout if pattern.fullmatch(k)}
        for name in sorted(names):
            self.update_layout(**{name: props})

    def add_annotation(self, **props) -> None:
        self.layout.setdefault("annotations", []).append(props)

    def add_shape(self, **props) -> None:
        self.layout.setdefault("shapes", []).append(props)

    def add_hline(self, y: float, **props) -> None:
        """A horizontal line across the plot at ``y`` (the shape ``fig.add_hline`` makes)."""
        self.add_shape(**props, type="line", x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y")

    def add_vline(self, x: float, **props) -> None:
        """A vertical line across the plot at ``x`` (the shape ``fig.add_vline`` makes)."""
        self.add_shape(**props, type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain")

    def build(self) -> go.Figure:
        """The ``go.Figure``, validated once (the session's default template applies, as with ``go.Figure()``)."""
        return go.Figure(data=self.data, layout=self.layout)


def _merge_at(target: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    key = path[-1]
    if key in _TEXT_SHORTHAND and isinstance(value, str):
        value = {"text": value}  # so that a later dict (a font, say) merges with the text instead of replacing it
    if isinstance(value, dict) and isinstance(target.get(key), dict) and key not in _WHOLE_VALUES:
        for sub, v in value.items():
            _merge_at(target[key], BaseFigure._str_to_dict_path(sub), v)
    else:
        target[key] = _own(value)


def _own(value):
    """``value`` with its dicts copied: later merges must not change a dict the caller keeps (a shared style)."""
    return {k: _own(v) for k, v in value.items()} if isinstance(value, dict) else value
