"""Where the installed package keeps its report and app notebooks and the bundled sample study."""
from pathlib import Path

from .datasets import get_path

PACKAGE_DIR = Path(__file__).resolve().parent
NOTEBOOKS = PACKAGE_DIR / "notebooks"
SAMPLE_STUDY = get_path("sample")
