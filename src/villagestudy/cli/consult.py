"""The consultation server command."""
from __future__ import annotations

from pathlib import Path


def cmd_consult(args) -> int:
    from ..consult.serve import run_from_args

    return run_from_args(args)


def add_commands(sub) -> None:
    """Register consult."""
    s = sub.add_parser("consult", help="serve the live consultation app (widgets) with Voilà",
                       description="Serve notebooks/consultation.ipynb with Voilà: pick a town and year, move the "
                                   "pillar weights, change the standards and the methods, and see the ranking, the "
                                   "map and the villages missing each standard update at once. Works offline. "
                                   "Listens on 127.0.0.1 unless --host 0.0.0.0 is given.")
    s.add_argument("study", nargs="?", type=Path, default=None, help="study folder (default: the bundled sample)")
    s.add_argument("--port", type=int, default=None, help="port (default 8866, or a free one when it is taken)")
    s.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1; 0.0.0.0 lets other computers connect)")
    s.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the app (default zh)")
    s.add_argument("--no-browser", action="store_true", help="do not open a browser")
    s.add_argument("--out", type=Path, default=Path("outputs") / "scenarios",
                   help="folder of saved scenarios (default outputs/scenarios)")
    s.set_defaults(func=cmd_consult)
