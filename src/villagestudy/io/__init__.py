"""Reading study folders: files, encodings, Chinese headers, units and CRS."""
from .load import find_table_file, load_study, read_settings

__all__ = ["load_study", "read_settings", "find_table_file"]
