"""Batch per-town HTML reports (papermill + nbconvert), offline."""
from .batch import BatchResult, TownResult, run_reports, safe_file_name
from .display import report_mode, show
from .town import TownReport

__all__ = ["run_reports", "BatchResult", "TownResult", "TownReport", "safe_file_name", "show", "report_mode"]
