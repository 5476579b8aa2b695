"""Studies that ship with the package, found wherever it is installed.

>>> from villagestudy import datasets
>>> datasets.available()
['sample']
>>> (datasets.get_path("sample") / "villages.csv").is_file()
True
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["available", "get_path"]

_HERE = Path(str(files(__name__)))


def available() -> list[str]:
    """Names of the bundled studies."""
    return sorted(p.name for p in _HERE.iterdir() if p.is_dir() and (p / "villages.csv").exists())


def get_path(name: str) -> Path:
    """Folder of a bundled study, e.g. ``get_path("sample")`` (4 towns, 47 fictional villages).

    Parameters
    ----------
    name : str
        One of :func:`available`.

    Returns
    -------
    pathlib.Path
        The study folder, ready for :func:`villagestudy.load_study`.
    """
    names = available()
    if name not in names:
        raise ValueError(f"no bundled study '{name}'; available: {', '.join(names)}")
    return _HERE / name
