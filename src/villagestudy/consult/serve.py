"""Serve the consultation notebook with Voilà: ``villagestudy consult``.

Voilà runs ``notebooks/consultation.ipynb`` in a new kernel for each visitor
and shows only its outputs (the panel). The study folder, the language and the
scenario folder reach the notebook through environment variables
(``VILLAGESTUDY_STUDY``, ``VILLAGESTUDY_LANG``, ``VILLAGESTUDY_SCENARIOS``).

The server listens on 127.0.0.1 only, unless ``host`` says otherwise (e.g.
``0.0.0.0`` to let the tablets of a meeting room connect). Everything the page
needs (the widget manager, plotly.js of the jupyterlab-plotly extension) is
served by Voilà itself: the app works without internet. Voilà's ``lab``
template also links two Font Awesome stylesheets from a CDN (redundant: the
widgets bundle Font Awesome); the server uses a template that extends ``lab``
without them (:data:`OFFLINE_TEMPLATE`, written to a temporary Jupyter data
folder for the server's lifetime).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .._paths import NOTEBOOKS, SAMPLE_STUDY

__all__ = ["NOTEBOOK", "DEFAULT_PORT", "OFFLINE_TEMPLATE", "voila_command", "write_offline_template", "free_port",
           "serve", "run_from_args"]

NOTEBOOK = NOTEBOOKS / "consultation.ipynb"
DEFAULT_PORT = 8866
ENV_STUDY, ENV_LANG, ENV_SCENARIOS = "VILLAGESTUDY_STUDY", "VILLAGESTUDY_LANG", "VILLAGESTUDY_SCENARIOS"
OFFLINE_TEMPLATE = "villagestudy-offline"
_OFFLINE_INDEX = """{%- extends 'voila/templates/lab/index.html.j2' -%}
{% import "spinner.macro.html.j2" as spinner %}
{#- Voila's lab template without its Font Awesome stylesheets from a CDN (the widgets bundle Font Awesome). -#}
{%- block notebook_css -%}
  {% if frontend == "voila" %}
    {{ resources.include_js("static/voila-style.js") }}
  {% endif %}
  {{ spinner.css() }}
  <style>
    .jp-mod-noOutputs.jp-mod-noInput { display: none; }
  </style>
  {{ super.super() }}
{%- endblock notebook_css -%}
"""


def write_offline_template(jupyter_data_dir: str | Path) -> Path:
    """Write the offline Voilà template under ``jupyter_data_dir`` (put that folder on ``JUPYTER_PATH``)."""
    folder = Path(jupyter_data_dir) / "voila" / "templates" / OFFLINE_TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.json").write_text('{"base_template": "lab"}\n', encoding="utf-8")
    (folder / "index.html.j2").write_text(_OFFLINE_INDEX, encoding="utf-8")
    return folder


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_free(port: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def voila_command(notebook: str | Path = NOTEBOOK, *, port: int = DEFAULT_PORT, host: str = "127.0.0.1",
                  template: str | None = OFFLINE_TEMPLATE) -> list[str]:
    """The Voilà command line (voila 0.5).

    No browser, this port only (no silent move to another), no tracebacks
    shown to visitors, and the kernel of a page closed for 10 minutes shut
    down (each visit starts a kernel; open pages are never culled).
    """
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={int(port)}",
           f"--Voila.ip={host}", "--Voila.port_retries=0", "--show_tracebacks=False",
           "--MappingKernelManager.cull_interval=60", "--MappingKernelManager.cull_idle_timeout=600"]
    if template:
        cmd.append(f"--template={template}")
    return cmd


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def serve(study: str | Path | None = None, *, port: int | None = None, host: str = "127.0.0.1", lang: str = "zh",
          open_browser: bool = True, out_dir: str | Path | None = None, notebook: str | Path | None = None,
          startup_timeout: float = 60.0) -> int:
    """Run the consultation app until interrupted; returns Voilà's exit code.

    Parameters
    ----------
    study : path, optional
        Study folder; default the bundled sample ``data/sample``.
    port : int, optional
        Default 8866, or a free port when 8866 is taken. A port given
        explicitly must be free.
    host : str
        Interface to listen on: ``127.0.0.1`` (default, this computer only)
        or ``0.0.0.0`` (every interface: anyone on the network can open it).
    lang : {"zh", "en"}
    open_browser : bool
        Open the app in the default browser once the server listens.
    out_dir : path, optional
        Where "Save this scenario" writes (default ``outputs/scenarios`` under
        the current folder).
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
    bind_check = "127.0.0.1" if host in ("127.0.0.1", "localhost") else host
    if port is None:
        port = DEFAULT_PORT if _port_free(DEFAULT_PORT, bind_check) else free_port(bind_check)
    elif not _port_free(int(port), bind_check):
        raise UsageError(f"port {port} is in use on {host}: choose another with --port")
    out_dir = Path(out_dir or Path("outputs") / "scenarios").expanduser().resolve()
    env = dict(os.environ)
    env[ENV_STUDY] = str(study)
    env[ENV_LANG] = "en" if str(lang).lower().startswith("en") else "zh"
    env[ENV_SCENARIOS] = str(out_dir)
    data_dir = tempfile.TemporaryDirectory(prefix="villagestudy-voila-")
    write_offline_template(data_dir.name)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (data_dir.name, os.environ.get("JUPYTER_PATH")) if p)
    cmd = voila_command(nb, port=int(port), host=host)
    proc = subprocess.Popen(cmd, env=env, cwd=str(nb.parent))

    def _stop(signum, frame):  # SIGTERM: stop Voilà too, then leave
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _stop)
    try:
        if not _wait_listening(int(port), proc, startup_timeout):
            code = proc.poll()
            raise UsageError(f"Voilà did not start (exit code {code}); run with VILLAGESTUDY_DEBUG=1 or try "
                             f"`{' '.join(cmd)}`")
        shown = "127.0.0.1" if host in ("127.0.0.1", "0.0.0.0", "localhost") else host
        url = f"http://{shown}:{port}/"
        print(f"Consultation app: {url}", flush=True)
        print(f"  study: {study}", flush=True)
        print(f"  scenarios are saved to: {out_dir}", flush=True)
        if host == "0.0.0.0":
            print("  listening on every interface: anyone on this network can open it "
                  f"(http://<this computer's address>:{port}/)", flush=True)
        print("Press Ctrl+C to stop.", flush=True)
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
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        data_dir.cleanup()


def run_from_args(args) -> int:
    """The ``villagestudy consult`` subcommand."""
    from ..io import load_study
    load_study(args.study or SAMPLE_STUDY)  # fail fast, listing the problems, before starting a server
    return serve(args.study, port=args.port, host=args.host, lang=args.lang, open_browser=not args.no_browser,
                 out_dir=args.out)
