"""``python -m villagestudy.cli``: the same as the ``villagestudy`` command."""
from . import run

run()
