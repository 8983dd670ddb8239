"""summary.json (the stable machine interface), summary.csv (one row per cell) and summary.md (paste-ready)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from .errors import UserError
from .kinds import KINDS
from .protocol import PHASES
from .runfolder import RunFolder

COMMON_COLUMNS = ["scenario", "scenario_label", "runner", "kind", "engine", "provider", "model", "input_size",
                  "threads", "status", "processes", "iterations",
                  "latency_process_median_ms", "latency_process_median_ci_lo", "latency_process_median_ci_hi",
                  "between_process_spread",
                  "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
                  "latency_mean_ms", "latency_std_ms", "latency_min_ms", "latency_max_ms",
                  *[f"{p}_p50_ms" for p in PHASES], "cold_ms", "load_ms", "process_start_ms", "peak_rss_mib",
                  "peak_pss_mib", "base_rss_mib", "model_rss_mib", "other_cores_max",
                  "opencv_version", "opencv_build_hash", "ort_version", "parity",
                  "workers", "mode", "offered_rate", "clients", "achieved_rps", "failed_requests"]


def csv_columns() -> list[str]:
    """summary.csv's columns: the common ones, each scenario type's own (its kind's), then the error."""
    return [*COMMON_COLUMNS, *(c for kind in KINDS.values() for c in kind.csv_columns), "error"]


def write_all(run_dir: Path, summary: dict[str, Any]) -> None:
    folder = RunFolder(run_dir)
    write_atomic(folder.derived("summary.json"), json.dumps(summary, indent=2, ensure_ascii=False), run_dir)
    write_csv(folder.derived("summary.csv"), summary, run_dir)
    write_atomic(folder.derived("summary.md"), markdown(summary), run_dir)


def write_atomic(path: Path, text: str, run_dir: Path | None = None) -> Path:
    """Write a derived file whole or not at all: to a temporary file beside it, then renamed over it. An OSError
    (a full disk, a read-only folder) is a UserError that names the file and what to do."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        again = f"`python -m orchestrator report {run_dir}`" if run_dir is not None else "the command"
        raise UserError(f"cannot write {path} ({exc.strerror or exc}): free disk space or make the folder "
                        f"writable, then rerun {again}; the raw data is untouched") from None
    return path


def csv_row(cell: dict[str, Any]) -> dict[str, Any]:
    lat = cell["latency_ms"] or {}
    level = lat.get("process_median") or {}
    ci = level.get("ci95") or [None, None]
    row = {k: cell.get(k) for k in ("scenario", "scenario_label", "runner", "kind", "engine", "provider", "model",
                                    "input_size", "threads",
                                    "status", "processes", "iterations", "cold_ms", "load_ms", "process_start_ms",
                                    "error")}
    row.update({f"latency_{k}_ms": lat.get(k) for k in ("p50", "p90", "p99", "mean", "std", "min", "max")})
    row.update({"latency_process_median_ms": level.get("center"), "latency_process_median_ci_lo": ci[0],
                "latency_process_median_ci_hi": ci[1], "between_process_spread": level.get("spread")})
    row.update({f"{p}_p50_ms": (cell["phases_ms"] or {}).get(p, {}).get("p50") for p in PHASES})
    memory = cell["memory_mb"] or {}
    row.update({f"{k}_mib": memory.get(k) for k in ("peak_rss", "peak_pss", "base_rss", "model_rss")})
    row["other_cores_max"] = (cell.get("machine") or {}).get("other_cores_max")
    row["opencv_version"] = (cell["opencv"] or {}).get("version")
    row["opencv_build_hash"] = (cell["opencv"] or {}).get("build_hash")
    row["ort_version"] = (cell.get("ort") or {}).get("version")
    row["parity"] = cell["parity"]["status"]
    row.update({k: cell.get(k) for k in ("workers", "mode", "offered_rate", "clients", "achieved_rps")})
    row["failed_requests"] = sum(cell["errors"].values()) if cell.get("errors") is not None else None
    row.update({c: None for kind in KINDS.values() for c in kind.csv_columns})  # every kind's, filled for its own
    own = KINDS.get(cell.get("scenario", ""))
    if own:
        row.update(own.csv_row(cell))
    return row


def write_csv(path: Path, summary: dict[str, Any], run_dir: Path | None = None) -> None:
    """One row per cell, through the csv module: commas, quotes and newlines in a name are quoted."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_columns())
    writer.writeheader()
    for cell in summary["cells"]:
        writer.writerow(csv_row(cell))
    write_atomic(path, buf.getvalue(), run_dir)


def md(value: Any) -> str:
    """A config's string (a runner, a model, a claim) inside a Markdown table or heading: backslashes and pipes
    escaped, line breaks made spaces, so a name never adds a column or ends a row."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.splitlines())


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def markdown(summary: dict[str, Any]) -> str:
    """The article's table shape, one table per model: a column per runner, a row per measure."""
    lines = [f"# {md(summary['name'])}: YOLO inference, Go vs Python", ""]
    for (scenario, model, threads), cells in by_group(article_cells(summary["cells"])).items():
        lines += [f"## {md(scenario)}, {md(model)}, {threads} OpenCV thread(s)", "",
                  "| measure | " + " | ".join(md(c["runner"]) for c in cells) + " |",
                  "|---|" + "---|" * len(cells)]
        rows = {
            "mean latency per image (ms)": [_ms((c["latency_ms"] or {}).get("mean")) for c in cells],
            "median latency (ms) [95 % CI over processes]": [_median_ci(c) for c in cells],
            "between-process spread": [_spread(c) for c in cells],
            "p99 latency (ms)": [_ms((c["latency_ms"] or {}).get("p99")) for c in cells],
            "first inference, cold (ms)": [_ms(c["cold_ms"]) for c in cells],
            "peak memory, RSS (MiB)": [_ms((c["memory_mb"] or {}).get("peak_rss")) for c in cells],
            "peak memory, PSS (MiB)": [_ms((c["memory_mb"] or {}).get("peak_pss")) for c in cells],
            "runtime base / model and buffers, RSS (MiB)": [_base_model(c) for c in cells],
            "OpenCV": [md((c['opencv'] or {}).get('version', 'n/a')) for c in cells],
            "detections parity": [c["parity"]["status"] for c in cells],
            "status": [c["status"] for c in cells],
        }
        lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in rows.items()]
        lines.append("")
    for kind in KINDS.values():  # each scenario type's own section (call_overhead: the cost of one call)
        lines += kind.markdown([c for c in summary["cells"] if c["scenario"] == kind.name])
    if summary.get("claims"):
        lines += ["## Claims checked", "",
                  "| claim | claimed a / b | measured a / b [95 % CI] | own work a - b, ms [95 % CI] | verdict |",
                  "|---|---|---|---|---|"]
        for c in summary["claims"]:
            m, own = c["measured"], c.get("own_work")
            measured = "n/a" if not m else f"{m['ratio']:.3f}" + (
                f" [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]" if m["ci95"] else "")
            own_text = "n/a" if not own else (f"{own['difference']:+.2f} [{own['ci95'][0]:+.2f}, {own['ci95'][1]:+.2f}]"
                                              f" (claimed {c['claimed']['difference']:+.1f})")
            claimed = f"{c['claimed']['ratio']:.3f}" if c["claimed"]["ratio"] else "n/a"
            lines.append(f"| {md(c['claim'])} | {claimed} | {measured} | {own_text} | {md(c['verdict'])} |")
        lines.append("")
    verdicts = [c for c in summary["comparisons"] if c["metric"] in ("latency_p50", "ns_per_call")]
    if verdicts:
        lines += ["## Verdicts (median latency; ns per call for the call cost)", ""]
        lines += [f"- {md(c['a'])} vs {md(c['b'])}, {md(c['scenario'])}"
                  + ("" if c["model"] == "-" else f", {md(c['model'])}")
                  + f", {c['threads']} thread(s): {md(c['verdict'])}"
                  + ("" if c["fair"] else " (comparison not fair: see the report)") for c in verdicts]
        lines.append("")
    return "\n".join(lines)


def _median_ci(cell: dict[str, Any]) -> str:
    level = (cell["latency_ms"] or {}).get("process_median")
    if not level:
        return "n/a"
    ci = level["ci95"]
    return f"{level['center']:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")


def _spread(cell: dict[str, Any]) -> str:
    level = (cell["latency_ms"] or {}).get("process_median") or {}
    return "n/a" if level.get("spread") is None else f"±{level['spread'] * 100:.1f} %"


def _base_model(cell: dict[str, Any]) -> str:
    m = cell["memory_mb"] or {}
    return f"{_ms(m.get('base_rss'))} / {_ms(m.get('model_rss'))}"


def article_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cells of the article-shaped tables: those of the kinds of the lowest `article` rank in the run (single
    images when the run has them, else video and batch cells; concurrency, server and call cost have tables of
    their own)."""
    rank = {c["scenario"]: KINDS[c["scenario"]].article if c["scenario"] in KINDS else 0 for c in cells}
    first = min((r for r in rank.values() if r), default=0)
    return [c for c in cells if first and rank[c["scenario"]] == first]


def by_group(cells: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    """Cells by scenario variant, model and thread count: one article-shaped table each."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for cell in cells:
        groups.setdefault((cell["scenario_label"], cell["model"], cell["threads"]), []).append(cell)
    return groups
