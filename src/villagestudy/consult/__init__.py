"""Consultation app: widgets that recompute the comparison live during a meeting.

Public API::

    panel(study_or_path=None, lang="zh", **options) -> ConsultationPanel   # display .widget
    ConsultationPanel                  # .weight_sliders, .standard_inputs, .ranking, .missed, .save() ...
    apply_standards(table, settings)   # the standard-dependent flags, recomputed cheaply
    weight_shares(weights)             # weights as whole percentages summing to 100
    save_scenario / load_scenario      # a meeting's choices on record (table + JSON)
    serve(study=None, port=None, host="127.0.0.1", lang="zh", open_browser=True)   # Voilà app

``villagestudy consult [STUDY]`` serves ``notebooks/consultation.ipynb`` with
Voilà, bound to 127.0.0.1 unless ``--host`` says otherwise.

Note: ``villagestudy.consult.panel`` is the function; the module is
``villagestudy.consult.panel`` in ``sys.modules`` (import names from it with
``from villagestudy.consult.panel import ...``).
"""
from .panel import ConsultationPanel, apply_standards, panel, weight_shares
from .scenario import SavedScenario, load_scenario, save_scenario, scenario_parameters
from .serve import serve

__all__ = ["panel", "ConsultationPanel", "apply_standards", "weight_shares", "SavedScenario", "save_scenario",
           "load_scenario", "scenario_parameters", "serve"]
