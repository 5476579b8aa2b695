"""Pages generated from the package itself at build time, so the documentation cannot drift.

- ``_generated/indicators.rst``: the indicator catalog (``villagestudy/data/indicators.toml``);
- ``_generated/cli.rst``: every command and option, from ``villagestudy.cli.build_parser``;
- ``_generated/landuse.rst``: the DLBM land-use table (``villagestudy/data/landuse_dlbm.toml``);
- ``_generated/guides.inc``: a toctree of the other Markdown guides in ``docs/`` (e.g. dask.md).
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

GENERATED = "_generated"
#: pages of docs/ that the main toctree lists itself; every other docs/*.md is a guide
MAIN_PAGES = {"getting-started", "study-format", "land-data"}
_USAGE_WIDTH = 78  # the page's code block, not the terminal that builds the docs
_RST_SPECIAL = re.compile(r"([\\*`|_])")


def esc(text: object) -> str:
    """Text from the package as literal reStructuredText (no markup, no references)."""
    return _RST_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _list_table(header: list[str] | None, rows: list[list[str]], widths: list[int]) -> list[str]:
    out = [".. list-table::"] + (["   :header-rows: 1"] if header else []) + [
        "   :widths: " + " ".join(map(str, widths)), ""]
    for row in ([header] if header else []) + rows:
        out.append("   * - " + (row[0] or "\\-"))
        out += ["     - " + (cell or "\\-") for cell in row[1:]]
    return out + [""]


def indicators_page() -> str:
    from villagestudy import catalog
    from villagestudy.catalog import PILLAR_LABELS, PILLARS
    from villagestudy.settings import STANDARDS

    direction = {1: "higher is better / 越高越好", -1: "lower is better / 越低越好", 0: "descriptive / 描述性"}
    lines = ["Indicator catalog 指标目录", "=" * 40, "",
             "Generated from ``villagestudy/data/indicators.toml`` when the documentation is built. "
             "Every report, map, widget and the composite index take names, units, directions and "
             "standards from this one catalog. ``villagestudy indicators`` prints it and "
             "``villagestudy.catalog.as_frame()`` returns it as a table.", ""]
    for pillar in PILLARS:
        ids = catalog.ids(pillar)
        if not ids:
            continue
        title = f"{PILLAR_LABELS[pillar]['en']} {PILLAR_LABELS[pillar]['zh']}"
        lines += [title, "-" * (len(title) * 2), ""]
        for i in ids:
            ind = catalog.get(i)
            head = f"{esc(ind.name_en)} {esc(ind.name_zh)}"
            lines += [head, "~" * (len(head) * 2), ""]
            rows = [["id", f"``{ind.id}``"], ["unit", f"{esc(ind.unit_en)} / {esc(ind.unit_zh)}"],
                    ["formula", esc(ind.formula)], ["公式", esc(ind.formula_zh)],
                    ["direction", direction.get(ind.direction, str(ind.direction))],
                    ["in the default index", "yes" if ind.in_index else "no"]]
            if ind.standard:
                std = STANDARDS.get(ind.standard)
                text = f"``{ind.standard}`` {esc(ind.comparison or '>=')} default {esc(std.default if std else '')}"
                if std:
                    text += f" {esc(std.unit)}; {esc(std.label_en)} / {esc(std.label_zh)}; source: {esc(std.source)}"
                rows.append(["standard", text])
            rows.append(["needs", ", ".join(f"``{n}``" for n in ind.needs)])
            rows.append(["source", esc(ind.source)])
            lines += _list_table(None, rows, [20, 80])
    return "\n".join(lines) + "\n"


def _action_rows(parser: argparse.ArgumentParser) -> list[list[str]]:
    rows = []
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = ", ".join(f"``{s}``" for s in a.option_strings) or f"``{a.dest}``"
        if a.option_strings and a.nargs != 0:
            name += f" ``{a.metavar or a.dest.upper()}``"
        extra = []
        if a.choices:
            extra.append("one of " + ", ".join(f"``{c}``" for c in a.choices))
        if a.required and a.option_strings:
            extra.append("required")
        rows.append([name, esc(a.help or "") + (" (" + "; ".join(extra) + ")" if extra else "")])
    return rows


def cli_page() -> str:
    from villagestudy.cli import build_parser

    parser = build_parser()
    parser.prog = "villagestudy"
    lines = ["Command line", "============", "", "Generated from the command-line parser "
             "(``villagestudy.cli.build_parser``) when the documentation is built. Every command reports "
             "bad input as a list of problems (file, row, column) and exits with code 2.", "",
             esc(parser.description or ""), ""]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    for name, p in sub.choices.items():
        title = f"villagestudy {name}"
        lines += [title, "-" * len(title), "", esc(helps.get(name) or ""), "", ".. code-block:: text", ""]
        usage = p._get_formatter().__class__(p.prog, width=_USAGE_WIDTH)
        usage.add_usage(p.usage, p._actions, p._mutually_exclusive_groups)
        lines += ["   " + line for line in usage.format_help().strip().splitlines()] + [""]
        if p.description:
            lines += [esc(p.description), ""]
        rows = _action_rows(p)
        if rows:
            lines += _list_table(["argument", "meaning"], rows, [30, 70])
    return "\n".join(lines) + "\n"


def landuse_page() -> str:
    from villagestudy.io.adapters import default_landuse_table, landuse_sources

    lines = ["Land-use codes (DLBM) 地类编码", "=" * 40, "",
             "Generated from ``villagestudy/data/landuse_dlbm.toml``. A code is matched by its longest "
             "listed prefix (``0101`` by ``01``; ``0201K`` by ``02``); a study overrides entries in "
             "``study.toml`` under ``[landuse_map]``. Sources:", ""]
    lines += [f"- {esc(s)}" for s in landuse_sources()] + [""]
    rows = [[f"``{c['code']}``", esc(c["name_zh"]), esc(c["name_en"]), f"``{c['land_use']}``"]
            for c in default_landuse_table()]
    lines += _list_table(["code prefix", "类别", "class", "land use"], rows, [12, 30, 43, 15])
    return "\n".join(lines) + "\n"


def guides_page(srcdir: Path) -> str:
    pages = sorted(p.stem for p in srcdir.glob("*.md") if p.stem not in MAIN_PAGES)
    lines = [".. toctree::", "   :maxdepth: 1", "   :caption: Guides", ""]
    return "\n".join(lines + [f"   ../{p}" for p in pages]) + "\n"


def _write(path: Path, text: str) -> None:
    """Write only on change, so an unchanged page is not rebuilt."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def generate(app) -> None:
    out = Path(app.srcdir) / GENERATED
    pages = {"indicators.rst": indicators_page(), "cli.rst": cli_page(), "landuse.rst": landuse_page(),
             "guides.inc": guides_page(Path(app.srcdir))}
    for name, text in pages.items():
        _write(out / name, text)
    for stale in out.glob("*.rst"):  # a page this extension no longer writes (the api/ folder is autosummary's)
        if stale.name not in pages:
            stale.unlink()


_BARS = re.compile(r"(?<![`\\])\|(\w+)\|")


def plain_bars(app, what, name, obj, options, lines) -> None:
    """Docstrings as their authors meant them.

    ``|skew|`` means an absolute value, not a reStructuredText substitution; an
    ``Example`` heading is the ``Examples`` section.
    """
    for i, line in enumerate(lines):
        # numpydoc knows "Examples", not "Example": the section would be dropped from the page
        if line.strip() == "Example" and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            lines[i], lines[i + 1] = line.replace("Example", "Examples"), lines[i + 1].replace("-", "--", 1)
        if "|" in line and "``" not in line:
            lines[i] = _BARS.sub(r"\\|\1\\|", line)


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", plain_bars, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
