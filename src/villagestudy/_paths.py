"""Where a source checkout keeps the bundled sample study and the notebooks."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_STUDY = REPO_ROOT / "data" / "sample"
NOTEBOOKS = REPO_ROOT / "notebooks"
