"""FigureSpec: a figure put together as plain dicts is the figure plotly's own calls make."""
from __future__ import annotations

import plotly.graph_objects as go

from villagestudy.viz._spec import FigureSpec

BAR = {"type": "bar", "x": ["甲村", "乙村"], "y": [1.5, -2.0], "name": "收入"}
LINE = {"type": "scatter", "x": [0, 1], "y": [3, 4], "mode": "lines"}


def _same_steps(fig):
    """The steps a viz function takes, on a go.Figure or on a FigureSpec (their method names are the same)."""
    fig.add_trace(BAR)
    fig.update_layout(title={"text": "标题", "x": 0.01}, legend={"orientation": "h"}, yaxis_title="元",
                      plot_bgcolor="white", meta={"villages": ["a"], "year": 2023})
    fig.update_layout(title={"font": {"size": 15}}, legend={"y": -0.2}, xaxis_tickangle=-40, margin={"l": 10},
                      meta={"villages": ["b"]})  # meta is replaced whole, not merged
    fig.add_traces([LINE])
    fig.add_annotation(text="注", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    fig.add_hline(y=100_000, line={"color": "red", "dash": "dash"}, name="weak_total_yuan")
    fig.add_vline(x=0.5, line={"color": "blue"}, name="share")
    fig.add_annotation(text="后", x=1, y=1)
    return fig


def test_the_spec_builds_the_figure_plotlys_own_calls_build():
    by_plotly = _same_steps(go.Figure())
    by_plotly.update_xaxes(showgrid=False)
    by_plotly.update_yaxes(tickformat=",", title={"font": {"size": 11}})
    spec = _same_steps(FigureSpec())
    spec.update_axes("x", showgrid=False)
    spec.update_axes("y", tickformat=",", title={"font": {"size": 11}})
    built = spec.build()
    assert built.to_plotly_json() == by_plotly.to_plotly_json()
    assert built.layout.meta == {"villages": ["b"]}
    assert built.layout.yaxis.title.text == "元" and built.layout.yaxis.title.font.size == 11
    assert [s.name for s in built.layout.shapes] == ["weak_total_yuan", "share"]


def test_axes_updates_reach_every_axis_of_the_figure():
    spec = FigureSpec()
    spec.update_layout(xaxis2={"domain": [0.5, 1]})
    spec.update_axes("x", visible=False)
    assert spec.layout["xaxis"] == {"visible": False}
    assert spec.layout["xaxis2"] == {"domain": [0.5, 1], "visible": False}
    assert "yaxis" not in spec.layout


def test_a_later_update_never_changes_a_dict_the_caller_keeps():
    shared_font = {"size": 10, "color": "#222222"}
    spec = FigureSpec()
    spec.update_layout(font=shared_font)
    spec.update_layout(font={"size": 13})
    assert shared_font == {"size": 10, "color": "#222222"}
    assert spec.build().layout.font.to_plotly_json() == {"color": "#222222", "size": 13}


def test_a_property_set_to_none_is_left_out():
    spec = FigureSpec()
    spec.update_layout(title={"text": "标题"}, height=300)
    spec.update_layout(title=None)
    assert "title" not in spec.build().to_plotly_json()["layout"]
    assert spec.build().layout.height == 300
