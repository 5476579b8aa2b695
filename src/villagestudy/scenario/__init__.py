"""Scenarios and comparisons: one computation behind every view.

Public API::

    Scenario(year=None, scope="study", town=None, weights={}, standards={}, normalise=None, ...)
        .validate(study) / .to_json(path=None) / Scenario.from_json(text_or_path) / .resolved(study)
    evaluate(study, scenario=None, **changes) -> Comparison
    Comparison      # .ranking, .indicators, .missed, .notes, .for_town(id), .to_json() / from_json()
    ScenarioError   # every bad key of a scenario, with the allowed values (exit 2 on the command line)
"""
from .comparison import Comparison
from .evaluate import apply_standards, evaluate
from .model import SCOPES, Scenario, ScenarioError, ScenarioWarning

__all__ = ["Scenario", "ScenarioError", "ScenarioWarning", "Comparison", "evaluate", "apply_standards", "SCOPES"]
