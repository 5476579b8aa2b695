"""``python -m villagestudy.cli``: the same as the ``villagestudy`` command."""
import sys

from . import main

sys.exit(main())
