"""villagestudy: compare villages and communities on land, collective income and governance.

Examples
--------
>>> import villagestudy as vs
>>> study = vs.load_study(vs.datasets.get_path("sample"))
>>> table = vs.compute_indicators(study)
>>> len(table) == len(study.villages)
True
"""
from . import backends, catalog, datasets, reports
from ._version import __version__
from .errors import Problem, StudyError
from .io import load_study
from .metrics import compute_indicators
from .settings import Settings
from .study import Study

from .scenario import Comparison, Scenario, evaluate

__all__ = ["catalog", "datasets", "reports", "backends", "__version__", "load_study", "Study", "StudyError",
           "Problem", "Settings", "compute_indicators", "Scenario", "Comparison", "evaluate"]
