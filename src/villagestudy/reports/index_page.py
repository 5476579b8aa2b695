"""The index page of a batch: every town, its status, key figures and a link."""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from .._atomic import atomic_path

TEXT = {
    "zh": {"title": "村（社区）比较研究报告", "town": "镇（街道）", "id": "编码", "status": "状态",
           "villages": "村（社区）数", "residents": "常住人口", "weak": "薄弱村", "missing": "未达标村",
           "report": "报告", "ok": "已生成", "reused": "未变化，沿用", "failed": "失败", "open": "打开",
           "kept": "本次未运行，保留此前报告", "earlier": "此前报告",
           "provenance": "生成信息", "fingerprint": "数据指纹", "version": "软件版本", "parameters": "参数",
           "made": "生成时间", "study": "研究", "synthetic": "注意：本研究数据为虚构的合成数据。",
           "error": "错误", "log": "日志",
           "summary": "共 {n} 个镇街：{ok} 个已生成，{reused} 个沿用，{kept} 个保留此前报告，{failed} 个失败。"},
    "en": {"title": "Village comparison reports", "town": "Town", "id": "Code", "status": "Status",
           "villages": "Villages", "residents": "Residents", "weak": "Weak villages", "missing": "Missing a standard",
           "report": "Report", "ok": "made", "reused": "unchanged, reused", "failed": "failed", "open": "open",
           "kept": "not in this run, earlier report kept", "earlier": "earlier report",
           "provenance": "Provenance", "fingerprint": "Data fingerprint", "version": "Package version",
           "parameters": "Parameters", "made": "Made", "study": "Study",
           "synthetic": "Note: the data of this study are synthetic (fictional).", "error": "Error", "log": "log",
           "summary": "{n} towns: {ok} made, {reused} reused, {kept} earlier reports kept, {failed} failed."},
}


def key_figures(study, year: int | None = None) -> dict[str, dict]:
    """Per town: villages, residents, weak villages and villages missing a standard."""
    from ..metrics import compute_indicators

    table = compute_indicators(study, year=year)
    missing = None
    try:
        from ..metrics.standards import missed_standards

        missed = missed_standards(table, study.settings)
        missing = missed.loc[missed["missed"].fillna(False).astype(bool)].groupby("town_id")["village_id"].nunique()
    except ImportError:  # pragma: no cover - standards module always present once built
        pass
    residents = study.villages.groupby("town_id")["resident_pop"].sum(min_count=1)
    out: dict[str, dict] = {}
    for town_id, group in table.groupby("town_id"):
        weak = group["weak_village"]
        out[str(town_id)] = {
            "villages": int(len(group)),
            "residents": _whole(residents.get(town_id)),
            "weak": None if weak.isna().all() else int(weak.fillna(False).astype(bool).sum()),
            "missing": None if missing is None else int(missing.get(town_id, 0)),
        }
    return out


def _whole(v) -> int | None:
    """A count for people, or None when missing or not finite (never an OverflowError)."""
    return int(v) if v is not None and np.isfinite(v) else None


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, int):
        return f"{v:,}"
    return html.escape(str(v))


def provenance_html(provenance: dict, lang: str = "zh") -> str:
    t = TEXT[lang]
    params = json.dumps(provenance.get("parameters", {}), ensure_ascii=False, sort_keys=True)
    rows = [(t["study"], provenance.get("study")), (t["fingerprint"], provenance.get("data_fingerprint")),
            (t["version"], provenance.get("package_version")), (t["parameters"], params),
            (t["made"], provenance.get("made"))]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code></td></tr>" for k, v in rows)
    synthetic = f'<p class="vs-note">{html.escape(t["synthetic"])}</p>' if provenance.get("synthetic") else ""
    return f'<section class="vs-provenance"><h2>{html.escape(t["provenance"])}</h2>{synthetic}<table>{body}</table></section>'


def write_index(out_dir: Path, results, provenance: dict, lang: str = "zh", tmp_dir: Path | None = None) -> Path:
    """Write ``index.html`` (atomically) listing the given rows.

    ``results`` are the rows of :func:`villagestudy.reports.outfolder.folder_rows`:
    every town report in the folder, this run's among them.
    """
    t = TEXT[lang]
    rows = []
    for r in results:
        kf = r.key_figures or {}
        status = html.escape(t[r.status])
        if r.status == "failed":
            link = (f'<a href="{html.escape(r.html)}">{html.escape(t["earlier"])}</a>'
                    if getattr(r, "has_report", False) else "—")
            status += f'<div class="err">{html.escape(t["error"])}: {html.escape(r.error or "")}</div>'
            if r.log:
                status += f'<a href="{html.escape(r.log)}">{html.escape(t["log"])}</a>'
        else:
            link = f'<a href="{html.escape(r.html)}">{html.escape(t["open"])}</a>'
        rows.append(
            f'<tr class="{html.escape(r.status)}"><td>{html.escape(r.town_name)}</td><td>{html.escape(r.town_id)}</td>'
            f"<td>{status}</td><td>{_fmt(kf.get('villages'))}</td><td>{_fmt(kf.get('residents'))}</td>"
            f"<td>{_fmt(kf.get('weak'))}</td><td>{_fmt(kf.get('missing'))}</td><td>{link}</td></tr>")
    n_ok = sum(r.status == "ok" for r in results)
    n_reused = sum(r.status == "reused" for r in results)
    n_failed = sum(r.status == "failed" for r in results)
    n_kept = sum(r.status == "kept" for r in results)
    summary = t["summary"].format(n=len(results), ok=n_ok, reused=n_reused, kept=n_kept, failed=n_failed)
    head = "".join(f"<th>{html.escape(t[k])}</th>" for k in
                   ("town", "id", "status", "villages", "residents", "weak", "missing", "report"))
    page = f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{html.escape(t['title'])} · {html.escape(str(provenance.get('study', '')))}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em auto; max-width: 1100px; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
tr.failed td {{ background: #fdecea; }} tr.reused td {{ color: #555; }} .err {{ color: #b00020; font-size: 12px; }}
.vs-note {{ background: #fff6d6; padding: 6px 10px; }} .vs-provenance {{ font-size: 13px; margin-top: 2em; }}
</style></head><body>
<h1>{html.escape(t['title'])}</h1>
<p>{html.escape(summary)}</p>
<table id="towns"><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>
{provenance_html(provenance, lang)}
</body></html>
"""
    target = out_dir / "index.html"
    with atomic_path(target, tmp_dir=tmp_dir) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
