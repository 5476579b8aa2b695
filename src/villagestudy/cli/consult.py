"""The consultation server command."""
from __future__ import annotations

from pathlib import Path


def cmd_consult(args) -> int:
    from ..consult.serve import run_from_args

    return run_from_args(args)


def add_commands(sub) -> None:
    """Register consult."""
    from ..consult.serve import DEFAULT_CULL_MINUTES, DEFAULT_MAX_KERNELS, DEFAULT_POOL_SIZE

    s = sub.add_parser("consult", help="serve the live consultation app (widgets) with Voilà",
                       description="Serve notebooks/consultation.ipynb with Voilà: pick a town and year, move the "
                                   "pillar weights, change the standards and the methods, and see the ranking, the "
                                   "map and the villages missing each standard update at once. Works offline. "
                                   "Listens on 127.0.0.1 unless --host says otherwise; beyond this computer a "
                                   "random token is required (printed in the address).")
    s.add_argument("study", nargs="?", type=Path, default=None, help="study folder (default: the bundled sample)")
    s.add_argument("--port", type=int, default=None, help="port (default 8866, or a free one when it is taken)")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0, :: or this computer's LAN address let "
                        "other computers connect, with a token)")
    s.add_argument("--max-kernels", type=int, default=DEFAULT_MAX_KERNELS,
                   help=f"pages open at once, at most (about 340 MB each; default {DEFAULT_MAX_KERNELS})")
    s.add_argument("--pool-size", type=int, default=DEFAULT_POOL_SIZE,
                   help=f"kernels kept ready with the app already run, so a page opens at once "
                        f"(default {DEFAULT_POOL_SIZE})")
    s.add_argument("--cull-minutes", type=float, default=DEFAULT_CULL_MINUTES,
                   help=f"free the kernel of a page gone away after this many idle minutes "
                        f"(default {DEFAULT_CULL_MINUTES})")
    s.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the app (default zh)")
    s.add_argument("--no-browser", action="store_true", help="do not open a browser")
    s.add_argument("--out", type=Path, default=Path("outputs") / "scenarios",
                   help="folder of saved scenarios (default outputs/scenarios)")
    s.set_defaults(func=cmd_consult)
