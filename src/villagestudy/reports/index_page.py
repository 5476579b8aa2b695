"""The index page of a batch: every town, its status, key figures and links (HTML from a template)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from .._atomic import atomic_path
from ..formatting import MISSING, fmt_value
from ..i18n import t
from .display import render
from .provenance import provenance_html


def key_figures(indicators: pd.DataFrame, missed: pd.DataFrame, villages: pd.DataFrame) -> dict[str, dict]:
    """Per town: villages, residents, weak villages and villages missing a standard.

    Parameters
    ----------
    indicators, missed : DataFrame
        A Comparison's ``indicators`` and ``missed`` tables (the batch passes
        those of its study-wide context: the numbers the reports show).
    villages : DataFrame
        The study's villages (``town_id``, ``resident_pop``).
    """
    flagged = missed.loc[missed["missed"].fillna(False).astype(bool)]
    missing = flagged.groupby("town_id")["village_id"].nunique()
    residents = villages.groupby("town_id")["resident_pop"].sum(min_count=1)
    out: dict[str, dict] = {}
    for town_id, group in indicators.groupby("town_id"):
        weak = group["weak_village"]
        out[str(town_id)] = {
            "villages": int(len(group)),
            "residents": _whole(residents.get(town_id)),
            "weak": None if weak.isna().all() else int(weak.fillna(False).astype(bool).sum()),
            "missing": int(missing.get(town_id, 0)),
        }
    return out


def _whole(v) -> int | None:
    """A count for people, or None when missing or not finite (never an OverflowError)."""
    return int(v) if v is not None and np.isfinite(v) else None


COLUMNS = ("town", "id", "status", "villages", "residents", "weak", "missing", "report")


def write_index(out_dir: Path, results, provenance: dict, lang: str = "zh", tmp_dir: Path | None = None) -> Path:
    """Write ``index.html`` (atomically) listing the given rows.

    ``results`` are the rows of :func:`villagestudy.reports.outfolder.folder_rows`:
    every town report in the folder, this run's among them. Beside each report
    the page links its PDF and spreadsheet when they exist; a failed town that
    still has an earlier report links to that.
    """
    rows = []
    for r in results:
        kf = r.key_figures or {}
        links = []
        if r.status != "failed":
            links.append((r.html, t("idx_open", lang)))
        elif getattr(r, "has_report", False):
            links.append((r.html, t("idx_earlier", lang)))
        if r.status != "failed":
            for suffix, key in ((".pdf", "idx_pdf"), (".xlsx", "idx_xlsx")):
                if (out_dir / f"{r.safe_name}{suffix}").exists():
                    links.append((f"{r.safe_name}{suffix}", t(key, lang)))
        rows.append({"status": r.status, "status_text": t(f"idx_{r.status}", lang), "town_name": r.town_name,
                     "town_id": r.town_id, "error": r.error if r.status == "failed" else None, "log": r.log,
                     "figures": [fmt_value(kf.get(k), "n", lang, missing=MISSING)
                                 for k in ("villages", "residents", "weak", "missing")],
                     "links": links})
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "reused", "kept", "failed")}
    page = render("index_page.html.j2", lang_code="en" if lang == "en" else "zh-CN",
                  title=t("idx_title", lang), study=str(provenance.get("study", "")),
                  summary=t("idx_summary", lang, n=len(results), **counts),
                  headers=[t(f"idx_{k}", lang) for k in COLUMNS], rows=rows,
                  error_label=t("idx_error", lang), log_label=t("idx_log", lang),
                  provenance_title=t("rep_provenance", lang), provenance=provenance_html(provenance, lang),
                  css=Markup(_css()))
    target = out_dir / "index.html"
    with atomic_path(target, tmp_dir=tmp_dir) as tmp:
        tmp.write_text(str(page), encoding="utf-8")
    return target


def _css() -> str:
    from .display import TEMPLATES

    return (TEMPLATES / "html" / "report.css").read_text(encoding="utf-8")
