"""Command ``compare``: does an outcome move with other indicators within towns?"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError
from ._common import _year

OUT_COLUMNS = ["term", "estimate", "ci_low", "ci_high", "p_value", "method", "n_villages", "n_clusters", "warning"]


def _ids(text: str) -> list[str]:
    ids = [p.strip() for p in text.split(",") if p.strip()]
    if not ids:
        raise UsageError("--by needs at least one indicator id, e.g. --by simpson_index,party_volunteer_rate")
    return ids


def cmd_compare(args) -> int:
    import pandas as pd

    from .. import catalog
    from ..io import load_study
    from ..metrics import compute_indicators
    from ..safe_text import neutralise_frame, terminal_safe
    from ..stats import InsufficientDataError, within_town_comparison

    by = _ids(args.by)
    unknown = [i for i in [args.outcome, *by] if i not in catalog.ids()]
    if unknown:
        raise UsageError(f"unknown indicator id(s): {', '.join(unknown)}; see `villagestudy indicators`")
    study = load_study(args.study)
    table = compute_indicators(study, year=args.year)
    flags = [i for i in [args.outcome, *by] if catalog.get(i).kind == "flag"]
    data = table.copy()
    for i in flags:  # yes/no indicators enter as 0/1
        data[i] = pd.to_numeric(data[i].astype("boolean").astype("Float64"), errors="coerce")
    try:
        out = within_town_comparison(data, args.outcome, by, group="town_id")
    except InsufficientDataError as e:
        print(f"villagestudy compare: not estimated: {terminal_safe(str(e))}", file=sys.stderr)
        return 2
    out = out[OUT_COLUMNS]
    if args.out:
        from .._atomic import write_table

        write_table(neutralise_frame(out), args.out, index=False)
        print(f"Wrote {len(out)} term(s) to {args.out}", file=sys.stderr)
    else:
        neutralise_frame(out).to_csv(sys.stdout, index=False)
    print(f"method: {out['method'].iloc[0]}; {int(out['n_villages'].iloc[0])} villages in "
          f"{int(out['n_clusters'].iloc[0])} towns", file=sys.stderr)
    for w in out.attrs.get("warnings", []):
        print(f"warning: {terminal_safe(w)}", file=sys.stderr)
    return 0


def add_commands(sub) -> None:
    """Register compare."""
    s = sub.add_parser("compare", help="compare villages within towns: an outcome on other indicators",
                       description="Regress one indicator on others with town fixed effects and write term, "
                                   "estimate, ci_low, ci_high, p_value, method, n_villages, n_clusters, warning. "
                                   "Below 30 towns p-values and intervals come from a wild cluster bootstrap "
                                   "(Webb weights below 12 towns); below 4 towns nothing is estimated (exit 2).")
    s.add_argument("study", type=Path, help="the study folder")
    s.add_argument("--outcome", required=True, metavar="ID", help="indicator id of the outcome")
    s.add_argument("--by", required=True, metavar="ID[,ID...]", help="indicator ids of the predictors, comma-separated")
    s.add_argument("--year", type=_year, help="year of income and governance indicators (default: the study's)")
    s.add_argument("--out", type=Path, help="output file (.csv, .xlsx or .parquet); default CSV to stdout")
    s.set_defaults(func=cmd_compare)
