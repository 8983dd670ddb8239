"""Runs over time: `list` the runs in reports/, and `diff` two runs cell by cell, as benchstat compares.

Cells are matched by scenario variant, runner, model and thread count. Two runs share no rounds, so each matched
pair gets Welch's t test on the log process medians (orchestrator/statistics.py): the ratio new / old of their
geometric means with its 95 % CI and a p-value, Holm-corrected over all pairs; a change is called only when the
corrected p < 0.05 and the CI excludes 1, otherwise `~`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from . import rundata, statistics
from .errors import UserError
from .runfolder import RunFolder

TEMPLATES = Path(__file__).parent / "templates"


def list_runs(reports: Path) -> list[dict[str, Any]]:
    runs = []
    for summary_path in sorted(reports.glob("*/summary.json")):
        s = json.loads(summary_path.read_text(encoding="utf-8"))
        ok = sum(c["status"] == "ok" for c in s["cells"])
        runs.append({"run": summary_path.parent.name, "name": s.get("name"), "cells": len(s["cells"]), "ok": ok,
                     "path": str(summary_path.parent)})
    return runs


def format_list(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no runs yet: `make compare` makes one"
    width = max(len(r["run"]) for r in runs)
    return "\n".join(f"{r['run'].ljust(width)}  {r['name']}  {r['ok']}/{r['cells']} cells ok" for r in runs)


def diff(old_dir: Path, new_dir: Path) -> list[dict[str, Any]]:
    old, new = _cells(old_dir), _cells(new_dir)
    rows = []
    for key in [k for k in old if k in new] + [k for k in new if k not in old] + [k for k in old if k not in new]:
        a, b = old.get(key), new.get(key)
        row: dict[str, Any] = {"scenario": key[0], "runner": key[1], "model": key[2], "threads": key[3],
                               "old_ms": None, "new_ms": None, "ratio": None, "ci95": None, "p_value": None}
        # Two runs share no rounds: Welch's t test on the log process medians (orchestrator/statistics.py).
        la = list(a.process_medians().values()) if a else []
        lb = list(b.process_medians().values()) if b else []
        if la:
            row["old_ms"] = statistics.process_level(la).center  # type: ignore[union-attr]
        if lb:
            row["new_ms"] = statistics.process_level(lb).center  # type: ignore[union-attr]
        test = statistics.welch_log_ratio(lb, la) if la and lb else None
        if test is not None and test.p_value is not None:
            row.update(ratio=test.ratio, ci95=test.ci95, p_value=test.p_value)
        rows.append(row)
    tested = [r for r in rows if r["p_value"] is not None]
    for r, p in zip(tested, statistics.holm([r["p_value"] for r in tested])):
        r["p_value_holm"] = p
        r["change"] = _change(r, p)
    for r in rows:
        r.setdefault("change", "only in the old run" if r["new_ms"] is None and r["old_ms"] is not None else
                     "only in the new run" if r["old_ms"] is None and r["new_ms"] is not None else
                     "too few processes to test (need 2 per run)" if r["old_ms"] and r["new_ms"] else "no data")
    return rows


def _change(row: dict[str, Any], p: float) -> str:
    lo, hi = row["ci95"]
    if p >= 0.05 or lo <= 1 <= hi:
        return "~"
    return f"{(row['ratio'] - 1) * 100:+.1f} % [{(lo - 1) * 100:+.1f}, {(hi - 1) * 100:+.1f}]"


def _cells(run_dir: Path) -> dict[tuple, rundata.CellData]:
    if not RunFolder(run_dir).exists():
        raise UserError(f"{run_dir} is not a run folder (no raw/cells.json); `python -m orchestrator list` shows them")
    return {(c.info.get("label", "single"), c.info["runner"], c.info["model"], c.info["threads"]): c
            for c in rundata.load(run_dir).cells}


def format_text(old_dir: Path, new_dir: Path, rows: list[dict[str, Any]]) -> str:
    header = ["scenario", "runner", "model", "threads", "old median ms", "new median ms", "change [95 % CI]",
              "p (Holm)"]
    table = [header] + [[r["scenario"], r["runner"], r["model"], str(r["threads"]), _ms(r["old_ms"]),
                         _ms(r["new_ms"]), r["change"],
                         f"{r['p_value_holm']:.3g}" if r.get("p_value_holm") is not None else ""] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [f"old: {old_dir}", f"new: {new_dir}", ""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def write_html(old_dir: Path, new_dir: Path, rows: list[dict[str, Any]], out: Path) -> Path:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    out.write_text(env.get_template("diff.html.j2").render(old=str(old_dir), new=str(new_dir), rows=rows, ms=_ms),
                   encoding="utf-8")
    return out
