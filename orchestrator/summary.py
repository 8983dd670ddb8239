"""From a run folder's raw data to summary.json: per-cell figures, parity and comparisons.

Everything here reads only the run folder (config.yaml, environment.json, raw/), so `orchestrator report RUN_DIR`
rebuilds the same summary on any machine, without the models or the runners.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import claims, comparisons, figures, overhead, rundata, statistics
from .protocol import PHASES
from .rundata import CellData

SCHEMA_VERSION = 1
MIB = 1024 * 1024
MIN_ITERATIONS = 10  # hyperfine's floor: fewer measured runs say little about a distribution
CV_WARNING = 0.10  # pyperf warns when the standard deviation reaches 10 % of the mean


def build(run_dir: Path) -> dict[str, Any]:
    run = rundata.load(run_dir)
    config, cells = run.config, run.cells
    summaries = [summarize_cell(c, run.scenario(c)) for c in cells]
    pairs = [tuple(p) for p in config.get("compare", [])]
    parity_results = comparisons.check_parity(cells, pairs, config.get("parity", {}))
    comparisons.attach_parity(summaries, parity_results)
    entries = comparisons.compare_cells(cells, summaries, pairs, parity_results)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "name": config.get("name"),
        "description": config.get("description", ""),
        "scenarios": config.get("scenarios", []),
        "cells": summaries,
        "comparisons": entries,
        "parity": parity_results,
        "native_overhead": overhead.native_overhead(cells, summaries, config.get("reference")),
        "server_capacity": figures.server_capacity(summaries),
        "claims": claims.check(config.get("claims", []), summaries, cells),
        "order": [{"cell": p["cell"], "repeat": p["repeat"], "order": p["order"]} for p in run.processes],
        "environment_digest": {k: run.environment.get(k) for k in ("os", "cpu_model", "logical_cpus", "ram_gb")},
    }


def summarize_cell(cell: CellData, scenario: dict[str, Any]) -> dict[str, Any]:
    info, hello = cell.info, cell.hello()
    errors = [p["error"] for p in cell.processes if p.get("status") != "ok" and p.get("error")]
    statuses = {p.get("status") for p in cell.processes}
    status = "skipped" if not cell.processes or statuses == {"skipped"} else ("failed" if errors else "ok")
    if info.get("build_error"):
        status, errors = "failed", [info["build_error"]]
    latencies = cell.measured_ms()
    out: dict[str, Any] = {
        "id": info["id"], "runner": info["runner"], "kind": info["kind"], "model": info["model"],
        "input_size": info["input_size"], "threads": info["threads"], "scenario": info.get("scenario", "single"),
        "scenario_label": info.get("label", "single"), "scenario_name": info.get("scenario_name", "single"),
        "variant": info.get("variant", {}),
        "status": status, "error": errors[0] if errors else None,
        "processes": sum(1 for p in cell.processes if p.get("status") == "ok"),
        "iterations": len(latencies),
        "latency_ms": None, "phases_ms": None, "cold_ms": None, "load_ms": None, "process_start_ms": None,
        "memory_mb": None,
        "opencv": {"version": hello["opencv_version"], "build_hash": hello["opencv_build_hash"]} if hello else None,
        "language_version": hello["language_version"] if hello else None,
        "threads_requested": info.get("threads_requested", info["threads"]),
        "threads_observed": hello["threads"] if hello else None,
        "os_threads_max": max((s.threads for samples in cell.samples for s in samples), default=None),
        "target": {"requested": hello["target"], "available": hello["available_targets"]} if hello else None,
        "warnings": [],
        "warmup": {"mode": "auto", "detected": cell.warmup_detected()} if cell.auto_warmup else None,
    }
    if latencies:
        out["latency_ms"] = statistics.describe(latencies)
        out["latency_ms"]["ci95_median"] = statistics.bootstrap_ci(latencies, 50)
        out["latency_ms"]["ci95_p99"] = statistics.bootstrap_ci(latencies, 99)
        out["phases_ms"] = {ph: _p50_mean(cell.phase_ms(ph)) for ph in PHASES}
        out["warnings"] = _warnings(cell, latencies) + _min_time(latencies, scenario.get("min_time_s", 3))
    colds = [s.iterations[0]["total_ns"] / 1e6 for s in cell.streams if s.iterations and s.iterations[0]["index"] == 0]
    loads = [s.load["load_ns"] / 1e6 for s in cell.streams if s.load]
    starts = [p["startup_ms"] for p in cell.processes if p.get("startup_ms") is not None]
    out["cold_ms"] = _median(colds)
    out["load_ms"] = _median(loads)
    out["process_start_ms"] = _median(starts)
    out["memory_mb"] = _memory(cell)
    out["cpu_percent"] = _cpu(cell)
    out.update(figures.for_cell(cell, scenario))
    return out


def _p50_mean(values: list[float]) -> dict[str, float]:
    d = statistics.describe(values)
    return {"p50": d["p50"], "mean": d["mean"]}


def _median(values: list[float]) -> float | None:
    return statistics.describe(values)["p50"] if values else None


def _cpu(cell: CellData) -> dict[str, float] | None:
    """CPU use of the runner's process tree as sampled (100 = one core busy): mean and peak over the samples."""
    values = [s.cpu_percent for samples in cell.samples for s in samples[1:]]  # the first has no interval
    if not values:
        return None
    return {"mean": round(sum(values) / len(values), 1), "max": round(max(values), 1)}


def _memory(cell: CellData) -> dict[str, Any] | None:
    sampled = [max((s.rss_bytes for s in samples), default=0) for samples in cell.samples]
    own = [s.end["peak_rss_bytes"] for s in cell.streams if s.end]
    if not any(sampled) and not own:
        return None
    return {
        # The larger of the runner's own peak and the sampled one: sampling can miss a short spike.
        "peak_rss": round(max(sampled + own) / MIB, 1),
        "peak_rss_self": round(max(own) / MIB, 1) if own else None,
        "peak_rss_sampled": round(max(sampled) / MIB, 1) if any(sampled) else None,
        "samples": sum(len(s) for s in cell.samples),
    }


def _min_time(latencies: list[float], min_time_s: float) -> list[str]:
    """Flag a cell that measured less than min_time_s in total (hyperfine's 3 s floor): too short to trust."""
    total_s = sum(latencies) / 1000
    if total_s >= min_time_s:
        return []
    return [f"measured only {total_s:.1f} s in total (under {min_time_s:g} s): raise scenario.iterations or "
            "scenario.repeats"]


def _warnings(cell: CellData, latencies: list[float]) -> list[str]:
    warnings = []
    if cell.auto_warmup and None in cell.warmup_detected():
        warnings.append("warmup: auto found no steady state in some process; all its iterations were kept")
    if len(latencies) < MIN_ITERATIONS:
        warnings.append(f"only {len(latencies)} measured iterations (fewer than {MIN_ITERATIONS}): "
                        "raise scenario.iterations")
    cv = statistics.coefficient_of_variation(latencies)
    if cv >= CV_WARNING:
        warnings.append(f"latency varies a lot (std = {cv:.0%} of the mean): the machine may be busy")
    flagged = statistics.outliers(latencies)
    if flagged:
        warnings.append(f"{len(flagged)} outlier(s) by modified Z-score > {statistics.OUTLIER_Z} "
                        "(kept in every statistic)")
    per_process = [[r.get("latency_ns", r["total_ns"]) / 1e6 for r in records] for records in cell.measured()]
    per_process = [v for v in per_process if v]
    if len(per_process) >= 2:
        first = statistics.describe(per_process[0])["p50"]
        rest = statistics.describe([x for v in per_process[1:] for x in v])["p50"]
        if first > 1.1 * rest:
            warnings.append(f"the first process was {first / rest - 1:.0%} slower than the others "
                            "(caches or CPU frequency still warming up)")
    return warnings
