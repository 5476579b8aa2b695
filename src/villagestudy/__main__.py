"""``python -m villagestudy``: the same as the ``villagestudy`` command."""
from .cli import run

run()
