"""A warm kernel's first start-up line (run by path, not imported): the kernel ends when its parent is gone.

ipykernel watches the process that started it too, but only once every
start-up line has run, and importing the package there takes seconds (more on
a loaded machine): a batch killed meanwhile (``kill -9``) left the kernel
importing on, then ending. :class:`~villagestudy.reports.engine.WarmKernel`
runs this file with ``runpy.run_path`` (under :data:`RUN_NAME`) before its other
start-up lines, so that nothing of villagestudy is imported before the watch starts.
"""
import os
import threading
import time

#: the process that started the kernel (jupyter_client sets it), 0 when unknown
PARENT = int(os.environ.get("JPY_PARENT_PID") or 0)


def watch(parent: int = PARENT, every_s: float = 0.2) -> None:
    """End this process (at once, as ipykernel does) as soon as ``parent`` is no longer its parent."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(1)


#: the name this file runs under as a kernel's start-up line: imported (say by a doctest run), it starts nothing
RUN_NAME = "__villagestudy_parent_watch__"

if __name__ == RUN_NAME and PARENT:
    threading.Thread(target=watch, daemon=True, name="villagestudy-parent-watch").start()
