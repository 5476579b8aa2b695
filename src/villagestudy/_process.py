"""Child processes that do not outlive the process that started them."""
from __future__ import annotations

import contextlib
import signal
import sys

__all__ = ["die_with_parent"]


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies (``PR_SET_PDEATHSIG``).

    Call it in the child (a pool initializer, a ``preexec_fn``). Returns False
    where the call is not available (other systems): callers keep their own
    guard there (a thread watching ``os.getppid()``).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(sig)) == 0
    return False
