"""Consultation app: widgets that show one scenario's Comparison live during a meeting.

Public API::

    panel(study_or_path=None, lang="zh", **options) -> ConsultationPanel   # display .widget
    ConsultationPanel       # .comparison (what is shown), .scenario, .weight_sliders, .scope_toggle, .save() ...
    ConsultationState       # the pure state: a scenario, its Comparison, the recompute steps and caches
    FirstView               # app.first_view(): what the panel shows, drawn by the Voilà page before the widgets connect
    weight_shares(weights)  # weights as whole percentages summing to 100
    save_scenario / load_scenario      # a meeting's scenario on record (JSON + table); read with Scenario.from_json
    serve(study=None, port=None, host="127.0.0.1", lang="zh", open_browser=True)   # Voilà app

Layout: :mod:`~villagestudy.consult.state` (no widgets), :mod:`~villagestudy.consult.widgets`
(ipywidgets wired to the state), :mod:`~villagestudy.consult.views` (HTML from the
Jinja2 templates in ``consult/templates``), :mod:`~villagestudy.consult.first_view` (the
page's first view: the panel's HTML and map drawn at once, before the widgets connect).

``villagestudy consult [STUDY]`` serves ``notebooks/consultation.ipynb`` with
Voilà, bound to 127.0.0.1 unless ``--host`` says otherwise.
"""
from .first_view import FirstView
from .scenario import SavedScenario, load_scenario, save_scenario
from .serve import serve
from .state import ConsultationState
from .views import weight_shares
from .widgets import ConsultationPanel, panel

__all__ = ["panel", "ConsultationPanel", "ConsultationState", "FirstView", "weight_shares", "SavedScenario",
           "save_scenario", "load_scenario", "serve"]
