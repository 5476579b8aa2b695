"""Reading study folders: files, encodings, Chinese headers, units and CRS; one canonical step per table."""
from .load import (PartitionedReader, canonicalise_table, find_table_file, load_study, read_settings,
                   register_partitioned_reader)

__all__ = ["load_study", "read_settings", "find_table_file", "canonicalise_table", "PartitionedReader",
           "register_partitioned_reader"]
