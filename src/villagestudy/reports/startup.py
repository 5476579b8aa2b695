"""Start-up of the processes a batch owns (the ``villagestudy`` command and its workers).

papermill and nbconvert import nbformat, which imports jsonschema; jsonschema
imports ``rfc3987_syntax`` when it is installed (an extra that Jupyter's event
system pulls in) and that package compiles about forty grammars on import:
2.4 to 3 s of every such process on a 2-core machine, for the "iri" format
checks alone. Notebooks are validated without format checks, so a batch never
uses them: :func:`skip_iri_grammars` keeps that import out of the processes the
batch owns. It is not called on ``import villagestudy``: a user's own session
keeps jsonschema exactly as installed.
"""
from __future__ import annotations

import sys

__all__ = ["IRI_GRAMMARS", "skip_iri_grammars"]

#: the optional module jsonschema imports for its "iri" and "iri-reference" format checks
IRI_GRAMMARS = "rfc3987_syntax"


def skip_iri_grammars() -> bool:
    """Keep jsonschema from importing :data:`IRI_GRAMMARS` in this process; True when it will not.

    Without effect (False) once jsonschema is imported: it has decided then.

    Examples
    --------
    >>> import subprocess, sys
    >>> code = ("from villagestudy.reports.startup import skip_iri_grammars; skip_iri_grammars(); "
    ...         "import nbformat, sys; print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is not None)")
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    'False'
    """
    if "jsonschema" not in sys.modules:
        # a None entry makes ``import rfc3987_syntax`` raise ImportError, which jsonschema expects when it is absent
        sys.modules.setdefault(IRI_GRAMMARS, None)
    return IRI_GRAMMARS in sys.modules and sys.modules[IRI_GRAMMARS] is None
