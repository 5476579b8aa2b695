"""villagestudy: compare villages and communities on land, collective income and governance.

Examples
--------
>>> import villagestudy as vs
>>> study = vs.load_study("data/sample")
>>> table = vs.compute_indicators(study)
"""
from ._version import __version__
from .errors import Problem, StudyError
from .io import load_study
from .settings import Settings
from .study import Study
from . import catalog, datasets, reports  # noqa: E402  (vs.catalog, vs.datasets, vs.reports.TownReport in notebooks)


def compute_indicators(study, year=None, **settings):
    """See :func:`villagestudy.metrics.compute_indicators`."""
    from .metrics import compute_indicators as _compute

    return _compute(study, year=year, **settings)


__all__ = ["Scenario", "Comparison", "evaluate", "catalog", "reports", "__version__", "load_study", "Study", "StudyError", "Problem", "Settings", "compute_indicators"]


def __getattr__(name):
    # vs.Scenario, vs.Comparison, vs.evaluate: imported on first use, so that importing the package stays light
    if name in ("Scenario", "Comparison", "evaluate"):
        from . import scenario

        return getattr(scenario, name)
    raise AttributeError(f"module 'villagestudy' has no attribute {name!r}")
