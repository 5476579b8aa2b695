"""Generic composite-indicator engine (JRC / COINr method).

Public API::

    build_index(table, structure, *, impute="none", group=None, winsorise=False, winmax=5,
                log_if_fails=False, normalise="minmax", goalposts=None, weights=None,
                aggregate="arithmetic", uncertainty=None, diagnostics=True) -> IndexResult
    read_structure(path) -> DataFrame
    read_table(path, id_column=None) -> DataFrame
    run_index_cli(table_path, structure_path, out, *, id_column=None, **choices) -> IndexResult

See :mod:`villagestudy.index.engine` for the pipeline and the other modules
for each step's formula.
"""
from .aggregate import AGGREGATION_METHODS
from .diagnostics import (Diagnostics, alpha_table, compute_diagnostics, cronbach_alpha, indicator_pillar_table,
                          redundant_pairs)
from .explain import contributions, effective_weights
from .engine import IndexResult, build_index, output_frame, run_index_cli
from .normalise import NORMALISATION_METHODS
from .structure import Structure, StructureError, read_structure, read_table, validate_structure
from .treat import IMPUTATION_METHODS, kurtosis, skewness, winsorise

__all__ = [
    "AGGREGATION_METHODS", "IMPUTATION_METHODS", "NORMALISATION_METHODS",
    "Diagnostics", "IndexResult", "alpha_table", "indicator_pillar_table", "redundant_pairs", "Structure", "StructureError",
    "build_index", "compute_diagnostics", "contributions", "effective_weights", "cronbach_alpha", "kurtosis", "output_frame",
    "read_structure", "read_table", "run_index_cli", "skewness", "validate_structure", "winsorise",
]
