"""Serve the consultation notebook with Voilà: ``villagestudy consult``.

Voilà runs ``notebooks/consultation.ipynb`` in a kernel for each visitor and
shows only its outputs (the panel). Kernels come from a bounded, preheated pool
(:mod:`villagestudy.consult.voila_bounded`): at most ``max_kernels`` at once
(about 340 MB each), ``pool_size`` of them started in advance with the notebook
already run, so a page shows its first chart at once; a page load when all are
in use gets a short "busy, try again in a minute" page. A closed page frees its
kernel at once; a page left open without activity for ``cull_minutes`` loses it. The study folder, the language and the
scenario folder reach the notebook through environment variables
(``VILLAGESTUDY_STUDY``, ``VILLAGESTUDY_LANG``, ``VILLAGESTUDY_SCENARIOS``).

The server listens on 127.0.0.1 only, unless ``host`` says otherwise (e.g.
``0.0.0.0``, ``::`` or this computer's LAN address to let the tablets of a
meeting room connect). Beyond the loopback a random token is required: the
address printed carries it (``?token=...``), anyone without it is refused.
Everything the page needs (the widget manager, plotly.js) is served by Voilà
itself: the app works without internet. The server uses a template that
extends Voilà's ``lab`` (:data:`OFFLINE_TEMPLATE`, from
``consult/templates/voila/index.html.j2``, written to a temporary Jupyter data
folder for the server's lifetime) with four changes: no Font Awesome
stylesheets from a CDN (redundant: the widgets bundle Font Awesome); the
package's offline plotly.js (:data:`PLOTLY_BUNDLE`) and the drawer of the
app's figures, loaded by the page itself (the app's figures are data in HTML,
so the page loads no jupyterlab-plotly, nor any JupyterLab extension but the
widget manager); the app's first view (:mod:`villagestudy.consult.first_view`)
in the page as served, its ranking and map drawn before Voilà's JavaScript
runs (that script is deferred, so the browser paints the first view first);
and a page left before the widgets connected still frees its kernel at once.
"""
from __future__ import annotations

import gzip
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .._paths import NOTEBOOKS, SAMPLE_STUDY

__all__ = ["NOTEBOOK", "DEFAULT_PORT", "OFFLINE_TEMPLATE", "VOILA_INDEX", "PLOTLY_JS", "EXTENSIONS",
           "DEFAULT_MAX_KERNELS", "DEFAULT_POOL_SIZE", "DEFAULT_CULL_MINUTES", "voila_command",
           "write_offline_template", "free_port", "is_loopback", "probe_address", "app_url", "serve", "run_from_args"]

NOTEBOOK = NOTEBOOKS / "consultation.ipynb"
DEFAULT_PORT = 8866
ENV_STUDY, ENV_LANG, ENV_SCENARIOS = "VILLAGESTUDY_STUDY", "VILLAGESTUDY_LANG", "VILLAGESTUDY_SCENARIOS"
OFFLINE_TEMPLATE = "villagestudy-offline"
DEFAULT_MAX_KERNELS = 4  # about 340 MB each: a meeting of four screens on a laptop
DEFAULT_POOL_SIZE = 2
DEFAULT_CULL_MINUTES = 5
#: the template of the Voilà page (see its comments): offline, the first view served as HTML, kernels freed on leaving
VOILA_INDEX = Path(__file__).resolve().parent / "templates" / "voila" / "index.html.j2"
#: plotly.js's "basic" partial bundle (scatter, bar, pie: every trace the app draws; plotly.js-basic-dist-min,
#: gzipped, version and licence beside it): it starts in half the time of the reports' "cartesian" bundle
PLOTLY_BUNDLE = Path(__file__).resolve().parent / "assets" / "plotly-basic.min.js.gz"
#: the file of the template's static folder the page loads (``async``, in its head): the bundle, then the drawer
PLOTLY_JS = "villagestudy-plotly.js"
#: the only JupyterLab extensions the page loads: the widget manager (Voilà keeps the one of the installed
#: ipywidgets); the app's figures are drawn by the page's own plotly.js, so not jupyterlab-plotly (4.8 MB)
EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager8",
              "@voila-dashboards/widgets-manager7")


def write_offline_template(jupyter_data_dir: str | Path) -> Path:
    """Write the app's Voilà template under ``jupyter_data_dir`` (put that folder on ``JUPYTER_PATH``).

    The template is :data:`VOILA_INDEX`; beside it, in ``static/``, one
    script (:data:`PLOTLY_JS`): the package's offline plotly.js bundle
    (:data:`PLOTLY_BUNDLE`, its licence in a file beside) followed by the
    drawer of the app's figures (``templates/voila/plots.js``), which Voilà
    serves to the page. One file, so that the page can load it ``async`` from
    its head (drawn as soon as it has arrived, while the rest of the page is
    parsed) and the drawer still runs after plotly.js.

    Returns
    -------
    Path
        The template's folder.
    """
    folder = Path(jupyter_data_dir) / "voila" / "templates" / OFFLINE_TEMPLATE
    (folder / "static").mkdir(parents=True, exist_ok=True)
    (folder / "conf.json").write_text('{"base_template": "lab"}\n', encoding="utf-8")
    (folder / "index.html.j2").write_text(VOILA_INDEX.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "static" / PLOTLY_JS).write_bytes(gzip.decompress(PLOTLY_BUNDLE.read_bytes()) + b"\n;\n"
                                                + VOILA_INDEX.with_name("plots.js").read_bytes())
    licence = PLOTLY_BUNDLE.with_name("plotly-basic.LICENSE")
    (folder / "static" / licence.name).write_bytes(licence.read_bytes())
    return folder


def _family(host: str) -> int:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a name such as "localhost"
        return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]


def is_loopback(host: str) -> bool:
    """True when ``host`` is reachable from this computer only.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback("::")
    (True, True, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def probe_address(host: str) -> str:
    """The address to connect to in order to reach a server listening on ``host``.

    A wildcard (``0.0.0.0``, ``::``, ``""``) is reached on the loopback of its
    family; any other address is reached on itself.

    Examples
    --------
    >>> probe_address("0.0.0.0"), probe_address("::"), probe_address("192.0.2.7")
    ('127.0.0.1', '::1', '192.0.2.7')
    """
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def app_url(host: str, port: int, token: str | None = None) -> str:
    """The address to open (IPv6 in brackets, the token in the query).

    Examples
    --------
    >>> app_url("::1", 8866), app_url("192.0.2.7", 80, "abc")
    ('http://[::1]:8866/', 'http://192.0.2.7:80/?token=abc')
    """
    shown = probe_address(host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{int(port)}/" + (f"?token={token}" if token else "")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the OS picks it)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_free(port: int, host: str) -> bool:
    with socket.socket(_family(host), socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def voila_command(notebook: str | Path = NOTEBOOK, *, port: int = DEFAULT_PORT, host: str = "127.0.0.1",
                  template: str | None = OFFLINE_TEMPLATE, pool_size: int = DEFAULT_POOL_SIZE,
                  cull_minutes: float = DEFAULT_CULL_MINUTES, token: str | None = None) -> list[str]:
    """The command line of the bounded Voilà server (voila 0.5, :mod:`villagestudy.consult.voila_bounded`).

    No browser, this port only (no silent move to another), no tracebacks
    shown to visitors, only the widget manager among the JupyterLab extensions
    (:data:`EXTENSIONS`), ``pool_size`` preheated kernels, a kernel whose page is
    gone (a tablet asleep, a dropped network) shut down after ``cull_minutes``
    idle (checked every 30 s; a page closed in the browser frees its kernel at
    once; an open page is never cut off), and ``token`` required when given.
    The maximum number of kernels is read from ``VILLAGESTUDY_MAX_KERNELS``.
    """
    cmd = [sys.executable, "-m", "villagestudy.consult.voila_bounded", str(notebook), "--no-browser",
           f"--port={int(port)}", f"--Voila.ip={host}", "--Voila.port_retries=0", "--show_tracebacks=False",
           "--preheat_kernel=True", f"--pool_size={int(pool_size)}",
           "--MappingKernelManager.cull_interval=30",
           "--VoilaConfiguration.extension_allowlist=" + json.dumps(list(EXTENSIONS)),
           f"--MappingKernelManager.cull_idle_timeout={max(int(cull_minutes * 60), 60)}"]
    cmd.append(f"--Voila.token={token}" if token else "--Voila.token=")
    if template:
        cmd.append(f"--template={template}")
    return cmd


def _wait_listening(host: str, port: int, proc: subprocess.Popen, timeout: float) -> bool:
    """Poll the address the server actually listens on until it accepts a connection."""
    target = probe_address(host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((target, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def serve(study: str | Path | None = None, *, port: int | None = None, host: str = "127.0.0.1", lang: str = "zh",
          open_browser: bool = True, out_dir: str | Path | None = None, notebook: str | Path | None = None,
          startup_timeout: float = 90.0, max_kernels: int = DEFAULT_MAX_KERNELS, pool_size: int = DEFAULT_POOL_SIZE,
          cull_minutes: float = DEFAULT_CULL_MINUTES, token: str | None = None, on_ready=None) -> int:
    """Run the consultation app until interrupted; returns Voilà's exit code.

    Parameters
    ----------
    study : path, optional
        Study folder; default the bundled sample ``data/sample``.
    port : int, optional
        Default 8866, or a free port when 8866 is taken. A port given
        explicitly must be free.
    host : str
        Address to listen on: ``127.0.0.1`` (default, this computer only),
        ``0.0.0.0`` or ``::`` (every interface), or one address of this
        computer (e.g. its LAN address). Beyond the loopback a token is required.
    lang : {"zh", "en"}
    open_browser : bool
        Open the app in the default browser once the server listens.
    out_dir : path, optional
        Where "Save this scenario" writes (default ``outputs/scenarios`` under
        the current folder).
    max_kernels : int
        Kernels at most (pages open at once, preheated ones included); about 340 MB each.
    pool_size : int
        Kernels kept started in advance with the notebook run (at most ``max_kernels``).
    cull_minutes : float
        A kernel whose page has gone is shut down after this many idle minutes.
    token : str, optional
        The token to require; default a random one when ``host`` is not a
        loopback address, none on the loopback.
    on_ready : callable, optional
        Called with the app's address once the server listens (tests, benchmarks).
    """
    from ..errors import UsageError

    if study is None:
        study = SAMPLE_STUDY
    study = Path(study).expanduser().resolve()
    if not study.is_dir():
        raise UsageError(f"study folder not found: {study}")
    nb = Path(notebook or NOTEBOOK).resolve()
    if not nb.exists():
        raise UsageError(f"consultation notebook not found: {nb}")
    if int(max_kernels) < 1 or int(pool_size) < 0:
        raise UsageError("--max-kernels must be 1 or more and --pool-size 0 or more")
    pool_size = min(int(pool_size), int(max_kernels))
    try:
        _family(host)
    except (OSError, ValueError) as e:
        raise UsageError(f"--host {host!r} is not an address of this computer: {e}") from None
    if port is None:
        port = DEFAULT_PORT if _port_free(DEFAULT_PORT, host) else free_port(host)
    elif not _port_free(int(port), host):
        raise UsageError(f"port {port} is in use on {host} (or {host} is not an address of this computer): "
                         "choose another with --port or --host")
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(24)
    out_dir = Path(out_dir or Path("outputs") / "scenarios").expanduser().resolve()
    env = dict(os.environ)
    env[ENV_STUDY] = str(study)
    env[ENV_LANG] = "en" if str(lang).lower().startswith("en") else "zh"
    env[ENV_SCENARIOS] = str(out_dir)
    env["VILLAGESTUDY_MAX_KERNELS"] = str(int(max_kernels))
    env["VILLAGESTUDY_POOL_SIZE"] = str(pool_size)
    data_dir = tempfile.TemporaryDirectory(prefix="villagestudy-voila-")
    write_offline_template(data_dir.name)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (data_dir.name, os.environ.get("JUPYTER_PATH")) if p)
    cmd = voila_command(nb, port=int(port), host=host, pool_size=pool_size, cull_minutes=cull_minutes, token=token)
    from .._process import die_with_parent

    # its own session: Ctrl-C here stops it through terminate() below (Voilà would ask "Shutdown?" on a
    # terminal); and it dies with this process even when this one is killed outright
    proc = subprocess.Popen(cmd, env=env, cwd=str(nb.parent), start_new_session=True,
                            preexec_fn=lambda: die_with_parent(signal.SIGTERM))

    def _stop(signum, frame):  # SIGTERM: stop Voilà too, then leave
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _stop)
    try:
        if not _wait_listening(host, int(port), proc, startup_timeout):
            code = proc.poll()
            shown = [c if not c.startswith("--Voila.token=") or c == "--Voila.token=" else "--Voila.token=..."
                     for c in cmd]
            raise UsageError(f"Voilà did not start on {host} port {port} (exit code {code}); run with "
                             f"VILLAGESTUDY_DEBUG=1 or try `{' '.join(shown)}`")
        url = app_url(host, int(port), token)
        print(f"Consultation app: {url}", flush=True)
        print(f"  study: {study}", flush=True)
        print(f"  scenarios are saved to: {out_dir}", flush=True)
        print(f"  at most {max_kernels} pages open at once ({pool_size} kept ready)", flush=True)
        if not is_loopback(host):
            print(f"  listening beyond this computer on {host}: give people the whole address above, token "
                  "included (without it the app is refused)", flush=True)
            if probe_address(host) != host:
                print(f"  from another computer: http://<this computer's address>:{port}/?token={token}", flush=True)
        print("Press Ctrl+C to stop.", flush=True)
        if on_ready is not None:
            on_ready(url)
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, old)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        data_dir.cleanup()


def run_from_args(args) -> int:
    """The ``villagestudy consult`` subcommand."""
    from ..io import load_study
    load_study(args.study or SAMPLE_STUDY)  # fail fast, listing the problems, before starting a server
    return serve(args.study, port=args.port, host=args.host, lang=args.lang, open_browser=not args.no_browser,
                 out_dir=args.out, max_kernels=args.max_kernels, pool_size=args.pool_size,
                 cull_minutes=args.cull_minutes)
