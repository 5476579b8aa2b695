"""Batch per-town HTML reports (papermill + nbconvert), offline."""
from ..safe_text import safe_file_name
from .batch import BatchResult, run_reports
from .naming import TownResult
from .display import report_mode, show
from .town import TownReport

__all__ = ["run_reports", "BatchResult", "TownResult", "TownReport", "safe_file_name", "show", "report_mode"]
