"""Voilà with a bounded kernel pool: the process ``villagestudy consult`` runs (``python -m`` this module).

Voilà alone starts a kernel for every page load (about 340 MB each here) and,
with preheated kernels, refills its pool without limit. This launcher runs
Voilà with these changes, made before the server starts:

* the kernel manager never holds more than ``VILLAGESTUDY_MAX_KERNELS``
  kernels, a kernel counted from the moment the pool asks for it until its
  process has exited (so also while it starts, while a page waits for it, and
  while it stops): the preheated pool (``VILLAGESTUDY_POOL_SIZE``, each kernel with the
  notebook already run, so a page shows its charts at once) is refilled only
  while there is room, and again when a page is closed or its kernel culled
  (the page's own "close" beacon works: the ``_xsrf`` cookie it needs is set);
  preheated kernels waiting in the pool are never culled;
* a kernel a page took from the pool is replaced ``VILLAGESTUDY_REFILL_DELAY``
  seconds later (default :data:`DEFAULT_REFILL_DELAY_S`), so that the page
  loads without a kernel start and a whole notebook run competing for the CPU;
  at once when the page is closed, or when the next visitor comes first;
* a page load when every kernel is in use gets a short page (HTTP 503) saying
  the app is busy and to try again in a minute, in the app's language;
* a second "close" request for a kernel already shut down (or shutting down) is
  ignored: the app's page sends one itself, so that a page left before its
  widgets connected frees its kernel too, and the widget manager sends another.

Every other option is Voilà's own, passed on the command line.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import os
import sys

ENV_MAX_KERNELS, ENV_POOL_SIZE = "VILLAGESTUDY_MAX_KERNELS", "VILLAGESTUDY_POOL_SIZE"
ENV_REFILL_DELAY = "VILLAGESTUDY_REFILL_DELAY"
#: seconds a page that took a warm kernel has to load before its replacement is warmed (measured on 2 cores: a
#: replacement warmed at once, 1 s after the page opened, slowed that page's first chart and its live widgets)
DEFAULT_REFILL_DELAY_S = 8.0

#: the pool's claim on a kernel, set in the task that warms it until the kernel has an id (see ``pre_start_kernel``)
_CLAIM: contextvars.ContextVar = contextvars.ContextVar("villagestudy_kernel_claim", default=None)

BUSY_PAGE = {
    "zh": ("会商系统繁忙", "当前同时打开的页面已达上限（{n} 个）。请关闭不用的页面，或一分钟后刷新本页。"),
    "en": ("The consultation app is busy", "The most pages open at once ({n}) are in use. Close a page you no "
                                           "longer need, or reload this page in a minute."),
}


def busy_page(lang: str, max_kernels: int) -> str:
    """The page shown when every kernel is in use (text from this module only, no data)."""
    from markupsafe import escape

    title, text = BUSY_PAGE["en" if lang == "en" else "zh"]
    return (f'<!DOCTYPE html><html lang="{"en" if lang == "en" else "zh-CN"}"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="60"><title>{escape(title)}</title></head>'
            f'<body style="font-family:sans-serif;margin:3em"><h1>{escape(title)}</h1>'
            f'<p>{escape(text.format(n=max_kernels))}</p></body></html>')


def bounded(manager_class, max_kernels: int, pool_size: int, refill_delay: float = DEFAULT_REFILL_DELAY_S):
    """``manager_class`` (Voilà's preheating kernel manager) that keeps at most ``max_kernels`` kernels.

    A kernel taken from the pool by a page is replaced ``refill_delay`` seconds
    later (or at once when the next visitor comes first, or the page is closed).
    """

    class BoundedKernelManager(manager_class):
        _closing = False

        def __init__(self, **kwargs):
            # set first: Voilà's __init__ fills the pool already
            self._deferred: dict = {}  # notebook -> the timer of its pool's deferred refill
            self._going: set[str] = set()  # kernels shutting down
            self._gone: collections.deque = collections.deque(maxlen=256)  # kernels shut down lately
            self._claims: set[object] = set()  # kernels the pool is warming that have no id yet
            super().__init__(**kwargs)

        def _pooled_ids(self) -> set[str]:
            ids = set()
            for pool in getattr(self, "_pools", {}).values():
                for task in pool:
                    if task.done() and not task.cancelled() and task.exception() is None:
                        ids.add(task.result()["kernel_id"])
            return ids

        def kernels_alive(self) -> int:
            """Kernels whose process runs or may run: started, starting, stopping, or claimed by the pool.

            jupyter_client lists a kernel only once it has started, and takes
            it off the list once its process has exited; while it starts or
            stops it is a pending kernel (a pending task that failed is
            ignored: its kernel never ran). Before that, a kernel the pool is
            warming has no id yet: its claim counts instead.
            """
            pending = {kid for kid, task in getattr(self, "_pending_kernels", {}).items() if not task.done()}
            return len(set(self.list_kernel_ids()) | pending) + len(self._claims)

        async def _initialize(self, notebook_path, kernel_id=None, **kwargs):
            if kernel_id is not None:  # a restarted kernel, already counted
                return await super()._initialize(notebook_path, kernel_id, **kwargs)
            claim = object()
            self._claims.add(claim)
            _CLAIM.set(claim)  # this task's own context: pre_start_kernel, called within it, releases the claim
            try:
                return await super()._initialize(notebook_path, None, **kwargs)
            finally:
                self._claims.discard(claim)

        def pre_start_kernel(self, kernel_name, kwargs):
            started = super().pre_start_kernel(kernel_name, kwargs)
            self._claims.discard(_CLAIM.get())  # from here on the kernel counts by its id
            return started

        def fill_if_needed(self, delay=None, notebook_name=None, extra_kernel_env_variables=None, **kwargs):
            if delay is None and refill_delay > 0 and not self._closing:
                # a page has just taken a warm kernel: warming its replacement (a kernel start and the whole
                # notebook) would take the CPU the page needs to load; it waits, unless a visitor needs it first
                self._defer_refill(notebook_name)
                return None
            pool = getattr(self, "_pools", {}).get(notebook_name, [])
            alive = self.kernels_alive()
            target = min(pool_size, len(pool) + max(max_kernels - alive, 0))
            self.kernel_pools_config = {"default": {"pool_size": target,
                                                    "kernel_env_variables": self.default_env_variables}}
            if self._closing or target <= len(pool):
                return None
            # in the server's log, so that an operator (and a failing load test) can follow the bound
            self.log.info("Kernel pool: %d of at most %d kernel(s) running, starting or stopping; warming %d more",
                          alive, max_kernels, target - len(pool))
            return super().fill_if_needed(delay=delay, notebook_name=notebook_name,
                                          extra_kernel_env_variables=extra_kernel_env_variables or {}, **kwargs)

        def _defer_refill(self, notebook_name) -> None:
            old = self._deferred.pop(notebook_name, None)
            if old is not None:
                old.cancel()
            self._deferred[notebook_name] = asyncio.get_event_loop().call_later(
                refill_delay, self.refill_now, notebook_name)

        def refill_pending(self, notebook_name) -> bool:
            """True while a refill of the pool waits for the page that emptied it to load."""
            return notebook_name in self._deferred

        def refill_now(self, notebook_name) -> None:
            """Warm the kernels the pool lacks now (a deferred refill, or a visitor who needs one)."""
            handle = self._deferred.pop(notebook_name, None)
            if handle is not None:
                handle.cancel()
            self.fill_if_needed(delay=0, notebook_name=notebook_name)

        async def shutdown_kernel(self, kernel_id, *args, **kwargs):
            # a page left after its widgets connected sends its "close" request twice (the page template's and
            # the widget manager's): the second, for a kernel shut down or shutting down, is a no-op
            if kernel_id in self._going or kernel_id in self._gone:
                return None
            self._going.add(kernel_id)
            try:
                result = await super().shutdown_kernel(kernel_id, *args, **kwargs)
            finally:
                self._going.discard(kernel_id)
            self._gone.append(kernel_id)
            if not self._closing and getattr(self, "notebook_path", None) is not None:
                self.fill_if_needed(delay=0, notebook_name=self.notebook_path)  # room again: warm the next page
            return result

        async def shutdown_all(self, *args, **kwargs):
            self._closing = True
            return await super().shutdown_all(*args, **kwargs)

        async def cull_kernel_if_idle(self, kernel_id):
            if kernel_id in self._pooled_ids():  # a warm kernel waiting for the next page is not idle waste
                return None
            return await super().cull_kernel_if_idle(kernel_id)

        def room_for_a_page(self, notebook_name) -> bool:
            return self.get_pool_size(notebook_name) > 0 or self.kernels_alive() < max_kernels

    return BoundedKernelManager


def install(max_kernels: int, pool_size: int, lang: str, refill_delay: float = DEFAULT_REFILL_DELAY_S) -> None:
    """Patch Voilà (in this process) to bound its kernels, defer refills and show the busy page."""
    import tornado.web
    import voila.app
    import voila.tornado.handler as th

    factory = voila.app.voila_kernel_manager_factory

    def bounded_factory(base_class, preheat_kernel, default_pool_size, *args, **kwargs):
        cls = factory(base_class, True, pool_size, *args, **kwargs)
        return bounded(cls, max_kernels, pool_size, refill_delay)

    voila.app.voila_kernel_manager_factory = bounded_factory
    original_get = th.TornadoVoilaHandler.get.__wrapped__ if hasattr(th.TornadoVoilaHandler.get, "__wrapped__") \
        else th.TornadoVoilaHandler.get

    @tornado.web.authenticated
    async def get(self, path=None):
        # the page's "close" beacon (voila/api/shutdown) must carry the _xsrf cookie, which Voilà never sets:
        # without it the kernel of a closed page stays until culled
        _ = self.xsrf_token
        km = self.kernel_manager
        notebook = getattr(km, "notebook_path", None)
        if not path and hasattr(km, "refill_pending") and km.refill_pending(notebook) \
                and km.get_pool_size(notebook) == 0:
            km.refill_now(notebook)  # a visitor before the deferred refill: warm the kernel for them now
        if not path and hasattr(km, "room_for_a_page") and not km.room_for_a_page(notebook):
            self.set_status(503)
            self.set_header("Retry-After", "60")
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(busy_page(lang, max_kernels))
            return
        await original_get(self, path)

    th.TornadoVoilaHandler.get = get


def main(argv: list[str] | None = None) -> int:
    max_kernels = max(1, int(os.environ.get(ENV_MAX_KERNELS, "4")))
    pool_size = max(0, min(int(os.environ.get(ENV_POOL_SIZE, "2")), max_kernels))
    refill_delay = max(0.0, float(os.environ.get(ENV_REFILL_DELAY, DEFAULT_REFILL_DELAY_S)))
    install(max_kernels, pool_size, os.environ.get("VILLAGESTUDY_LANG", "zh"), refill_delay)
    from voila.app import main as voila_main

    sys.argv = ["voila", *(sys.argv[1:] if argv is None else argv)]
    return voila_main() or 0


if __name__ == "__main__":
    raise SystemExit(main())
