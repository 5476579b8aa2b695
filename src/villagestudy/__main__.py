"""``python -m villagestudy``: the same as the ``villagestudy`` command."""
import sys

from .cli import main

sys.exit(main())
