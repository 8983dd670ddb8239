"""From a run folder's raw data to summary.json: per-cell figures, parity and comparisons.

Everything here reads only the run folder (config.yaml, environment.json, raw/), so `orchestrator report RUN_DIR`
rebuilds the same summary on any machine, without the models or the runners.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import claims, comparisons, engines, figures, overhead, quiet, rundata, scenarios, statistics, verdicts
from .messages import Message, msg
from .protocol import PHASES
from .rundata import CellData
from .runfolder import RunFolder
from .sampling import SampleTable
from .scenarios import Scenario

SCHEMA_VERSION = 4  # 4: "run" (planned, done, interrupted)
MIN_ITERATIONS = 10  # hyperfine's floor: fewer measured runs say little about a distribution
CV_WARNING = 0.10  # pyperf warns when the standard deviation reaches 10 % of the mean
SPREAD_WARNING = 0.05  # process medians 5 % apart: beyond the 3 % spread that the default 10 rounds are planned for


def run_state(run: rundata.Run) -> dict[str, Any]:
    """Processes planned and done, and the signal that interrupted the run (None when it ran to its end)."""
    state = RunFolder(run.path).read_state()
    return {"planned": state.get("planned", len(run.processes)), "done": len(run.processes),
            "interrupted": state.get("interrupted")}


def build(run: rundata.Run) -> dict[str, Any]:
    """summary.json of a loaded run folder."""
    config, cells = run.config, run.cells
    for c in cells:
        c.summary = summarize_cell(c, run.scenario(c))
    summaries = [c.summary for c in cells]
    pairs = config.compare
    parity_results = comparisons.check_parity(cells, pairs, config.parity)
    comparisons.attach_parity(summaries, parity_results)
    min_effect = config.min_effect
    entries = comparisons.compare_cells(cells, pairs, parity_results, min_effect)
    out = {
        "schema_version": SCHEMA_VERSION,
        "design": {"unit": "process", "pairing": "rounds", "test": "paired t test on log process medians",
                   "alpha": verdicts.ALPHA, "correction": "holm", "min_effect": min_effect,
                   "min_rounds": verdicts.MIN_ROUNDS, "busy_cores": config.busy_cores,
                   "order": config.order, "seed": config.seed},
        "run_id": run.path.name,
        "run": run_state(run),
        "name": config.name,
        "description": config.description,
        "scenarios": [scenarios.resolved(s) for s in config.scenarios],
        "cells": summaries,
        "comparisons": entries,
        "parity": parity_results,
        "engine_parity": comparisons.engine_parity(cells, config.parity),
        "engine_table": engines.table(summaries),
        "native_overhead": overhead.native_overhead(cells, config.reference),
        **figures.for_run(summaries),  # each kind's run-level figures (server_capacity, http_capacity, ...)
        "http_parity": comparisons.serving_parity(cells, config.parity),
        "claims": claims.check(config.claims, cells, run.environment),
        "order": [{"cell": p["cell"], "repeat": p["repeat"], "order": p["order"]} for p in run.processes],
        "environment_digest": {k: run.environment.get(k) for k in ("os", "cpu_model", "logical_cpus", "ram_gb")},
        "machine": RunFolder(run.path).read_machine() or None,
    }
    if run.problems:  # only a damaged folder has it: what was found broken when it was read back
        out["damaged"] = list(run.problems)
    return out


def summarize_cell(cell: CellData, scenario: Scenario) -> dict[str, Any]:
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
        "engine": info.get("engine", "opencv"), "provider": info.get("provider", ""),
        "ort": _ort(hello, cell),
        "status": status, "error": errors[0] if errors else None,
        "processes": sum(1 for p in cell.processes if p.get("status") == "ok"),
        "iterations": len(latencies),
        "latency_ms": None, "phases_ms": None, "cold_ms": None, "load_ms": None, "process_start_ms": None,
        "memory_mb": None,
        "opencv": {"version": hello["opencv_version"], "build_hash": hello["opencv_build_hash"]} if hello else None,
        "language_version": hello["language_version"] if hello else None,
        "threads_requested": info.get("threads_requested", info["threads"]),
        "threads_policy": info.get("threads_policy"), "mode": info.get("mode"),
        "threads_observed": hello["threads"] if hello else None,
        "os_threads_max": max((int(SampleTable.of(s).threads.max()) for s in cell.samples if len(s)), default=None),
        "target": {"requested": hello["target"], "available": hello["available_targets"]} if hello else None,
        "warnings": [],
        "warmup": {"mode": "auto" if cell.auto_warmup else "fixed", "detected": cell.warmup_detected()},
        "machine": _machine(cell),
    }
    if len(latencies):
        medians = cell.process_medians()
        level = statistics.process_level(list(medians.values()))
        out["latency_ms"] = statistics.describe(latencies)
        out["latency_ms"]["process_median"] = level.as_dict() if level else None
        out["latency_ms"]["ci95_p99"] = statistics.quantile_ci(latencies, 0.99)
        out["phases_ms"] = {ph: _p50_mean(cell.phase_ms(ph)) for ph in PHASES}
        messages = (_warnings(cell, latencies, level) + _min_time(latencies, scenario.min_time_s)
                    + _warmup_warnings(cell, scenario))
        out["warnings"] = [m.as_dict() for m in messages]
    colds = [s.iterations[0]["total_ns"] / 1e6 for s in cell.streams if s.iterations and s.iterations[0]["index"] == 0]
    loads = [s.load["load_ns"] / 1e6 for s in cell.streams if s.load]
    starts = [p["startup_ms"] for p in cell.processes if p.get("startup_ms") is not None]
    out["cold_ms"] = figures.median(colds)
    out["load_ms"] = figures.median(loads)
    out["process_start_ms"] = figures.median(starts)
    out["memory_mb"] = _memory(cell)
    out["cpu_percent"] = _cpu(cell)
    out["sampler_cpu_percent"] = _sampler_cost(cell)
    out.update(figures.for_cell(cell, scenario))
    return out


def _ort(hello: dict[str, Any] | None, cell: CellData) -> dict[str, Any] | None:
    """What ONNX Runtime a cell ran: its release, the file whose code ran, and the session's providers."""
    ort = (hello or {}).get("ort")
    if not isinstance(ort, dict):  # absent, or a stream the validator refused: nothing to report
        return None
    providers = next((s.load.get("providers") for s in cell.streams if s.load and s.load.get("providers")), None)
    return {**{k: ort.get(k) for k in ("version", "library_sha256", "linked", "library", "provider",
                                        "session_options")}, "session_providers": providers}


def _p50_mean(values: list[float]) -> dict[str, float]:
    d = statistics.describe(values)
    return {"p50": d["p50"], "mean": d["mean"]}


def _cpu(cell: CellData) -> dict[str, float] | None:
    """CPU use of the runner's process tree as sampled (100 = one core busy): mean and peak over the samples."""
    parts = [SampleTable.of(samples).cpu_percent[1:] for samples in cell.samples]  # the first has no interval
    values = np.concatenate(parts) if parts else np.zeros(0)
    if not len(values):
        return None
    return {"mean": round(sum(values.tolist()) / len(values), 1), "max": round(float(values.max()), 1)}


def _memory(cell: CellData) -> dict[str, Any] | None:
    """Memory per process in MiB, summarised over processes (median, and the t interval of the peak RSS):
    peak RSS, peak PSS, the runtime's base (at hello, before the model) and the rest (model and buffers)."""
    per = cell.process_memory()
    if not per:
        return None
    values = list(per.values())

    def med(key: str) -> float | None:
        got = [v[key] for v in values if v[key] is not None]
        return round(statistics.median(got), 1) if got else None

    model = [v["peak_rss"] - v["base_rss"] for v in values if v["base_rss"] is not None]
    model_pss = [v["peak_pss"] - v["base_pss"] for v in values if v["base_pss"] is not None and v["peak_pss"]]
    level = statistics.process_level([v["peak_rss"] for v in values])
    return {
        "peak_rss": med("peak_rss"),
        "peak_rss_ci95": level.ci95 if level else None,
        "peak_rss_max": round(max(v["peak_rss"] for v in values), 1),
        "peak_pss": med("peak_pss"),
        "base_rss": med("base_rss"),
        "base_pss": med("base_pss"),
        "model_rss": round(statistics.median(model), 1) if model else None,
        "model_pss": round(statistics.median(model_pss), 1) if model_pss else None,
        "processes": len(values),
        "samples": sum(len(s) for s in cell.samples),
    }


def _machine(cell: CellData) -> dict[str, Any] | None:
    """What else ran on the machine during this cell's processes (orchestrator/quiet.py)."""
    loads = [m["machine"] for m in cell.processes if m.get("machine")]
    if not loads:
        return None
    return {"other_cores_max": max(m["other_cores"] for m in loads),
            "other_cores_median": statistics.median([m["other_cores"] for m in loads]),
            "steal_cores_max": max(m["steal_cores"] for m in loads),
            "busy_processes": sum(1 for m in loads if m["busy"]), "processes": len(loads),
            "threshold": loads[0].get("threshold", quiet.BUSY_CORES)}


def _sampler_cost(cell: CellData) -> dict[str, float | None] | None:
    """The memory sampler's own CPU time as a share of one core: while the runner iterated (what could tax its
    timed regions) and over the whole processes (start-up included, where it samples fast)."""
    metas = [m for m in cell.processes if "sampler_cpu_s" in m]
    if not metas:
        return None
    wall = sum(m.get("wall_s") or 0 for m in metas)
    measuring = [m["sampler_measuring"] for m in metas if m.get("sampler_measuring")]
    m_wall = sum(x["wall_s"] for x in measuring)
    return {"measuring": round(100 * sum(x["cpu_s"] for x in measuring) / m_wall, 3) if m_wall > 0 else None,
            "whole": round(100 * sum(m["sampler_cpu_s"] for m in metas) / wall, 3) if wall > 0 else None}


def _min_time(latencies: np.ndarray, min_time_s: float) -> list[Message]:
    """Flag a cell that measured less than min_time_s in total (hyperfine's 3 s floor): too short to trust."""
    total_s = float(latencies.sum()) / 1000
    return [] if total_s >= min_time_s else [msg("short_measurement", total_s=total_s, min_s=min_time_s)]


def _warnings(cell: CellData, latencies: np.ndarray, level: statistics.Level | None) -> list[Message]:
    warnings = []
    if cell.auto_warmup and None in cell.warmup_detected():
        warnings.append(msg("auto_no_steady"))
    if len(latencies) < MIN_ITERATIONS:
        warnings.append(msg("few_iterations", n=len(latencies), min=MIN_ITERATIONS))
    cv = statistics.coefficient_of_variation(latencies)
    if cv >= CV_WARNING:
        warnings.append(msg("high_cv", cv=cv))
    if level and level.spread is not None and level.spread >= SPREAD_WARNING:
        warnings.append(msg("process_spread", spread=level.spread))
    busy = cell.busy_rounds()
    if busy:
        warnings.append(msg("busy_processes", n=len(busy), worst=max(m["other_cores"] for m in busy.values())))
    flagged = statistics.outliers(latencies)
    if flagged:
        warnings.append(msg("outliers", n=len(flagged), z=statistics.OUTLIER_Z))
    return warnings


def _warmup_warnings(cell: CellData, scenario: Scenario) -> list[Message]:
    """auto: say how much was dropped; fixed: say when the stream was still settling after the warm-up."""
    detected = [k for k in cell.warmup_detected() if k]
    if not detected:
        return []
    if cell.auto_warmup:
        return [msg("auto_dropped", dropped=sum(detected), processes=len(detected))]
    return [msg("still_settling", warmup=scenario.warmup, processes=len(detected), first=max(detected))]
