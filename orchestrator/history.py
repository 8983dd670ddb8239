"""Runs over time: `list` the runs in reports/, and `diff` two runs cell by cell, as benchstat compares.

Cells are matched by scenario variant, runner, model and thread count. Two runs share no rounds, so each matched
pair gets Welch's t test on the log process medians (orchestrator/statistics.py): the ratio new / old of their
geometric means with its 95 % CI and a p-value, Holm-corrected over all pairs; a change is called only when the
corrected p < 0.05 and the CI excludes 1, otherwise `~`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jinja2
import yaml

from . import exports, rundata, statistics
from .errors import UserError
from .runfolder import RunFolder

TEMPLATES = Path(__file__).parent / "templates"


def list_runs(reports: Path) -> list[dict[str, Any]]:
    """Every run folder in `reports`, finished or not: `status` says which (ok, aborted, damaged, empty) and
    `problems` what is broken; nothing here raises on a damaged folder."""
    if not reports.is_dir():
        return []
    runs = []
    for path in sorted(p for p in reports.iterdir() if p.is_dir()):
        folder = RunFolder(path)
        if not (folder.derived("summary.json").is_file() or folder.config.is_file() or folder.raw.is_dir()):
            continue  # not a run folder
        runs.append(_merged_entry(folder) if _is_merged(folder) else _run_entry(folder))
    return runs


def _is_merged(folder: RunFolder) -> bool:
    return (folder.path / "machines").is_dir() and not folder.raw.is_dir()


def _merged_entry(folder: RunFolder) -> dict[str, Any]:
    """A folder written by `merge`: its machines, each a run folder of its own under machines/."""
    entry: dict[str, Any] = {"run": folder.path.name, "name": None, "cells": None, "ok": None, "status": "merged",
                             "problems": [], "path": str(folder.path), "machine": None, "machines": []}
    try:
        summary = json.loads(folder.derived("summary.json").read_text(encoding="utf-8"))
        entry["name"] = summary.get("name")
        entry["machines"] = [m["name"] for m in summary["machines"]]
        entry["cells"] = sum(len(m["summary"]["cells"]) for m in summary["machines"])
        entry["ok"] = sum(c.get("status") == "ok" for m in summary["machines"] for c in m["summary"]["cells"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        entry["status"] = "damaged"
        entry["machines"] = sorted(p.name for p in (folder.path / "machines").iterdir() if p.is_dir())
        entry["problems"].append(f"{folder.derived('summary.json')} of this merged report is missing or damaged: "
                                 "run `python -m orchestrator merge` again on its machines/ folders")
    return entry


def _run_entry(folder: RunFolder) -> dict[str, Any]:
    entry: dict[str, Any] = {"run": folder.path.name, "name": None, "cells": None, "ok": None, "status": "ok",
                             "problems": [], "path": str(folder.path),
                             "machine": folder.read_machine().get("name"), "machines": []}
    problems = entry["problems"]
    summary_path = folder.derived("summary.json")
    summary = None
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            cells = summary["cells"]
            entry.update(name=summary.get("name"), cells=len(cells), ok=sum(c.get("status") == "ok" for c in cells))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            summary = None
            problems.append(f"{summary_path} is damaged: `python -m orchestrator report {folder.path}` rebuilds it")
    try:
        processes = folder.read_processes()
    except UserError as exc:
        processes = []
        problems.append(str(exc))
    problems += folder.problems
    if entry["name"] is None:
        entry["name"] = _config_name(folder, problems)
    elif not folder.config.is_file():
        problems.append(f"{folder.config} is missing: `report` and `diff` cannot read the run without it")
    if folder.cells.is_file():
        try:
            cells = len(folder.read_cells())
            entry["cells"] = cells if entry["cells"] is None else entry["cells"]
        except UserError as exc:
            problems.append(str(exc))
    elif folder.raw.is_dir() and processes:
        problems.append(f"{folder.cells} is missing: `report` and `diff` cannot read the run without it")
    if not summary_path.is_file():  # stopped before its summary was written (interrupted, killed, a crash)
        entry["status"] = "aborted"
        problems.append(f"no summary.json: the run stopped before its end; `python -m orchestrator report "
                        f"{folder.path}` renders what it measured" if processes and folder.cells.is_file() else
                        "no summary.json and no process recorded: the run stopped before any process ended")
    elif problems or not processes:
        entry["status"] = "damaged"
        if not processes:
            problems.append(f"no process recorded in {folder.processes}")
    return entry


def _config_name(folder: RunFolder, problems: list[str]) -> str | None:
    """The name in config.yaml, read leniently: `list` must not stop at one damaged folder."""
    if not folder.config.is_file():
        problems.append(f"{folder.config} is missing: `report` and `diff` cannot read the run without it")
        return None
    try:
        data = yaml.safe_load(folder.config.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        problems.append(f"{folder.config} is damaged")
        return None
    return data.get("name") if isinstance(data, dict) and isinstance(data.get("name"), str) else None


def format_list(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no runs yet: `make compare` makes one"
    width = max(len(r["run"]) for r in runs)
    lines = []
    for r in runs:
        cells = f"{r['ok']}/{r['cells']} cells ok" if r["ok"] is not None else \
            (f"{r['cells']} cells, no summary" if r["cells"] is not None else "no cells")
        status = "" if r["status"] in ("ok", "merged") else f"  [{r['status']}]"
        where = f"merged: {', '.join(r['machines'])}" if r.get("machines") else f"on {r.get('machine') or '?'}"
        lines.append(f"{r['run'].ljust(width)}  {r['name'] or '?'}  {where}  {cells}{status}")
        lines += [f"{' ' * width}    - {problem}" for problem in r["problems"]]
    return "\n".join(lines)


def diff(old_dir: Path, new_dir: Path) -> list[dict[str, Any]]:
    """One row per cell of either run; what either folder had damaged is said on stderr first, and so are two
    machines (a change between them is partly the machine's: `merge` is the tool that compares machines)."""
    old, new = _cells(old_dir), _cells(new_dir)
    machines = [RunFolder(d).read_machine().get("name") for d in (old_dir, new_dir)]
    if None not in machines and machines[0] != machines[1]:
        print(f"warning: the old run is of machine {machines[0]}, the new one of {machines[1]}: a change includes "
              "the machine's; `python -m orchestrator merge` puts two machines side by side", file=sys.stderr)
    keys = [k for k in old if k in new] + [k for k in new if k not in old] + [k for k in old if k not in new]
    return compare([({"scenario": k[0], "runner": k[1], "model": k[2], "threads": k[3]}, old.get(k), new.get(k))
                    for k in keys])


Pair = tuple[dict[str, Any], "rundata.CellData | None", "rundata.CellData | None"]


def compare(pairs: list[Pair]) -> list[dict[str, Any]]:
    """One row per (labels, old cell, new cell): the ratio new / old of the geometric means of their process
    medians with Welch's 95 % CI, Holm-corrected over every pair tested together. Used by `diff` (two runs of
    one machine) and `merge` (one runner on two machines)."""
    rows = []
    for labels, a, b in pairs:
        row: dict[str, Any] = {**labels, "old_ms": None, "new_ms": None, "ratio": None, "ci95": None,
                               "p_value": None}
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
    if _is_merged(RunFolder(run_dir)):
        raise UserError(f"{run_dir} is a merged report of several machines; diff one machine's runs (its "
                        f"{run_dir / 'machines'}/NAME folders), or merge again")
    if not RunFolder(run_dir).exists():
        raise UserError(f"{run_dir} is not a run folder (no raw/cells.json); `python -m orchestrator list` shows them")
    run = rundata.load(run_dir)
    for problem in run.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return {(c.info.get("label", "single"), c.info["runner"], c.info["model"], c.info["threads"]): c
            for c in run.cells}


def format_text(old_dir: Path, new_dir: Path, rows: list[dict[str, Any]]) -> str:
    header = ["scenario", "runner", "model", "threads", "old median ms", "new median ms", "change [95 % CI]",
              "p (Holm)"]
    table = [header] + [[r["scenario"], r["runner"], r["model"], str(r["threads"]), _ms(r["old_ms"]),
                         _ms(r["new_ms"]), r["change"],
                         f"{r['p_value_holm']:.3g}" if r.get("p_value_holm") is not None else ""] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    on = [RunFolder(d).read_machine().get("name") for d in (old_dir, new_dir)]
    lines = [f"old: {old_dir}" + (f" (machine {on[0]})" if on[0] else ""),
             f"new: {new_dir}" + (f" (machine {on[1]})" if on[1] else ""), ""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def write_html(old_dir: Path, new_dir: Path, rows: list[dict[str, Any]], out: Path) -> Path:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    page = env.get_template("diff.html.j2").render(old=str(old_dir), new=str(new_dir), rows=rows, ms=_ms)
    return exports.write_atomic(out, page)
