"""Kernel managers shared by the batch and the warm engine."""
from __future__ import annotations

import os


def ipc_kernel_manager(socket_dir: str):
    """A kernel manager that talks to its kernel over local sockets in ``socket_dir``, not TCP ports.

    Picking free TCP ports races between worker processes starting kernels at the
    same moment ("Address already in use"); sockets in a folder of the job's own
    cannot collide. (A short path: socket paths are limited to about 100 bytes.)
    """
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(socket_dir, "kernel"))
            super().__init__(**kwargs)

    return IPCKernelManager
