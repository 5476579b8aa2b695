"""The consultation page's first view: what the panel shows, drawn before its widgets connect.

Voilà sends the page in well under a second, but the panel's widgets appear only
once the browser has loaded Voilà's JavaScript (several MB), connected to the
kernel and fetched the widgets' state: 3-6 s on a 2-core machine. The first view
fills that gap with a copy of what the panel shows, in the page as served:

* the very HTML the panel's widgets hold (header, status, pillar shares, ranking,
  villages missing each standard), and
* the very output of its map widget (its HTML rendering: the figure as data,
  or the note that the study has no map), which the page draws with the
  package's offline plotly.js bundle (the partial "basic" bundle,
  :data:`villagestudy.consult.serve.PLOTLY_BUNDLE`), served by the app's
  server itself: nothing comes from elsewhere.

Nothing is computed again: it is the same :class:`~villagestudy.Comparison`, as
the panel rendered it. The view says that the controls are connecting, and is
removed as soon as the live panel has drawn its map (or when someone uses the
live panel, or :data:`TAKEOVER_FALLBACK_MS` after the live panel appeared, so a
map that never draws cannot leave a stale copy on the page).

Its output has one mimetype of its own, :data:`FIRST_VIEW_MIME`, which only the
app's Voilà template shows (as HTML, placed in the page where the notebook
displayed it; the template loads plotly.js and the figure drawer first:
:mod:`villagestudy.consult.serve`). JupyterLab shows an empty output instead:
there the widgets appear at once.
"""
from __future__ import annotations

from markupsafe import Markup

from ..i18n import t
from . import views

__all__ = ["FIRST_VIEW_MIME", "TAKEOVER_FALLBACK_MS", "FirstView", "first_view_html"]

#: the mimetype of the first view's output (shown by the app's Voilà template only)
FIRST_VIEW_MIME = "application/vnd.villagestudy.first-view+html"
#: the first view leaves at the latest this long after the live panel appeared, drawn map or not
TAKEOVER_FALLBACK_MS = 8000


def first_view_html(*, lang: str, header: str, status: str, shares: str, ranking: str, missed: str,
                    map_output: dict | None) -> str:
    """The first view's HTML from the HTML and map output a panel shows.

    Parameters
    ----------
    lang : {"zh", "en"}
    header, status, shares, ranking, missed : str
        The HTML of the panel's widgets of the same names (already escaped by
        the app's templates).
    map_output : dict or None
        The output of the panel's map widget (:func:`~villagestudy.consult.views.plotly_output`
        or a note); its ``text/html`` is shown. None for no map.

    Returns
    -------
    str
        A ``<div class="vs-consult vs-first-view">`` with its styles and the
        script that shows it at once and hands over to the live panel.
    """
    data = (map_output or {}).get("data", {})
    return views.render(
        "first_view.html.j2", lang=lang, notice=t("consult_first_view", lang), header=Markup(header),
        status=Markup(status), shares=Markup(shares), ranking=Markup(ranking), missed=Markup(missed),
        map_html=Markup(data.get("text/html", "")), has_map=views.PLOTLY_MIME in data, fallback_ms=TAKEOVER_FALLBACK_MS,
        titles={k: Markup(views.box_title_html(k, lang))
                for k in ("consult_weights", "consult_ranking", "consult_map", "consult_missed")})


class FirstView:
    """A displayable first view (see the module's description); display it before the panel's widget.

    Parameters
    ----------
    html : str
        From :func:`first_view_html` (or :meth:`ConsultationPanel.first_view
        <villagestudy.consult.ConsultationPanel.first_view>`).

    Examples
    --------
    >>> FirstView("<div></div>")._repr_mimebundle_()
    {'application/vnd.villagestudy.first-view+html': '<div></div>', 'text/plain': ''}
    """

    def __init__(self, html: str):
        self.html = html

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {FIRST_VIEW_MIME: self.html, "text/plain": ""}
