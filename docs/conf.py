"""Sphinx configuration of the villagestudy documentation (builds offline; see README)."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if (HERE.parent / "src" / "villagestudy").is_dir():
    sys.path.insert(0, str(HERE.parent / "src"))  # document this tree, not an installed copy
sys.path.insert(0, str(HERE / "_ext"))

import villagestudy  # noqa: E402

project = "villagestudy"
author = "villagestudy contributors"
copyright = "villagestudy contributors"
release = version = villagestudy.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "vsdocs",  # generated pages: indicator catalog, command line, land-use table, guides
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc sections carry the types
autodoc_default_options = {"members": True, "undoc-members": False}
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "pydata_sphinx_theme"
html_title = "villagestudy"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "icon_links": [],
}
html_static_path: list[str] = []
