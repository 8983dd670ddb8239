"""From a run folder's raw data to summary.json: per-cell figures, parity and comparisons.

Everything here reads only the run folder (config.yaml, environment.json, raw/), so `orchestrator report RUN_DIR`
rebuilds the same summary on any machine, without the models or the runners.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import claims, execution, overhead, parity, statistics, warmup
from .protocol import PHASES, Stream, read_file

SCHEMA_VERSION = 1
MIB = 1024 * 1024
MIN_ITERATIONS = 10  # hyperfine's floor: fewer measured runs say little about a distribution
CV_WARNING = 0.10  # pyperf warns when the standard deviation reaches 10 % of the mean


@dataclass
class CellData:
    """One cell's raw data gathered over its processes."""

    info: dict[str, Any]
    auto_warmup: bool = False
    processes: list[dict[str, Any]] = field(default_factory=list)  # meta of each process
    streams: list[Stream] = field(default_factory=list)
    samples: list[list[Any]] = field(default_factory=list)

    def warmup_detected(self) -> list[int | None]:
        """With `warmup: auto`, per process: how many iterations after the cold one were still warming up."""
        return [warmup.steady_start([r["total_ns"] for r in s.measured()]) for s in self.streams]

    def measured(self) -> list[list[dict[str, Any]]]:
        """Measured iteration records per process (with `warmup: auto`, from the detected steady state on)."""
        if not self.auto_warmup:
            return [s.measured() for s in self.streams]
        return [s.measured()[k or 0:] for s, k in zip(self.streams, self.warmup_detected())]

    def measured_ms(self) -> list[float]:
        return [r["total_ns"] / 1e6 for records in self.measured() for r in records]

    def phase_ms(self, phase: str) -> list[float]:
        return [r["phases_ns"][phase] / 1e6 for records in self.measured() for r in records]

    def hello(self) -> dict[str, Any] | None:
        return next((s.hello for s in self.streams if s.hello), None)

    def detections(self) -> dict[str, dict[str, Any]]:
        return next((s.detections for s in self.streams if s.detections), {})


def load_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any], list[CellData], list[dict[str, Any]]]:
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    env_path = run_dir / "environment.json"
    environment = json.loads(env_path.read_text(encoding="utf-8")) if env_path.is_file() else {}
    raw = run_dir / "raw"
    auto = config.get("scenario", {}).get("warmup") == "auto"
    cells = {c["id"]: CellData(c, auto) for c in json.loads((raw / "cells.json").read_text(encoding="utf-8"))}
    processes = []
    meta_path = raw / "processes.jsonl"
    lines = meta_path.read_text(encoding="utf-8").splitlines() if meta_path.is_file() else []
    for line in lines:
        meta = json.loads(line)
        processes.append(meta)
        cell = cells[meta["cell"]]
        paths = execution.process_paths(raw / meta["cell"], meta["repeat"])
        cell.processes.append(meta)
        cell.streams.append(read_file(str(paths["jsonl"])) if paths["jsonl"].is_file() else Stream())
        cell.samples.append(execution.read_samples(paths["samples.csv"]))
    return config, environment, list(cells.values()), processes


def build(run_dir: Path) -> dict[str, Any]:
    config, environment, cells, processes = load_run(run_dir)
    summaries = [summarize_cell(c) for c in cells]
    pairs = [tuple(p) for p in config.get("compare", [])]
    tolerances = config.get("parity", {})
    parity_results = check_parity(cells, pairs, tolerances)
    _attach_parity(summaries, parity_results)
    _attach_min_time(summaries, cells, config.get("scenario", {}).get("min_time_s", 3))
    comparisons = compare_cells(cells, summaries, pairs, parity_results)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "name": config.get("name"),
        "description": config.get("description", ""),
        "scenario": config.get("scenario", {}),
        "cells": summaries,
        "comparisons": comparisons,
        "parity": parity_results,
        "native_overhead": overhead.native_overhead(cells, summaries, config.get("reference")),
        "claims": claims.check(config.get("claims", []), summaries, comparisons, cells),
        "order": [{"cell": p["cell"], "repeat": p["repeat"], "order": p["order"]} for p in processes],
        "environment_digest": {k: environment.get(k) for k in ("os", "cpu_model", "logical_cpus", "ram_gb")},
    }


def summarize_cell(cell: CellData) -> dict[str, Any]:
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
        "status": status, "error": errors[0] if errors else None,
        "processes": sum(1 for p in cell.processes if p.get("status") == "ok"),
        "iterations": len(latencies),
        "latency_ms": None, "phases_ms": None, "cold_ms": None, "load_ms": None, "startup_ms": None,
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
        out["warnings"] = _warnings(cell, latencies)
    colds = [s.iterations[0]["total_ns"] / 1e6 for s in cell.streams if s.iterations and s.iterations[0]["index"] == 0]
    loads = [s.load["load_ns"] / 1e6 for s in cell.streams if s.load]
    startups = [p["startup_ms"] for p in cell.processes if p.get("startup_ms") is not None]
    out["cold_ms"] = _median(colds)
    out["load_ms"] = _median(loads)
    out["startup_ms"] = _median(startups)
    out["memory_mb"] = _memory(cell)
    return out


def _p50_mean(values: list[float]) -> dict[str, float]:
    d = statistics.describe(values)
    return {"p50": d["p50"], "mean": d["mean"]}


def _median(values: list[float]) -> float | None:
    return statistics.describe(values)["p50"] if values else None


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


def _attach_min_time(summaries: list[dict[str, Any]], cells: list[CellData], min_time_s: float) -> None:
    """Flag cells that measured less than min_time_s in total (hyperfine's 3 s floor): too short to trust."""
    for summ, cell in zip(summaries, cells):
        total_s = sum(cell.measured_ms()) / 1000
        if cell.measured_ms() and total_s < min_time_s:
            summ["warnings"].append(f"measured only {total_s:.1f} s in total (under {min_time_s:g} s): "
                                    "raise scenario.iterations or scenario.repeats")


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
    per_process = [[r["total_ns"] / 1e6 for r in records] for records in cell.measured()]
    per_process = [v for v in per_process if v]
    if len(per_process) >= 2:
        first = statistics.describe(per_process[0])["p50"]
        rest = statistics.describe([x for v in per_process[1:] for x in v])["p50"]
        if first > 1.1 * rest:
            warnings.append(f"the first process was {first / rest - 1:.0%} slower than the others "
                            "(caches or CPU frequency still warming up)")
    return warnings


def _group_key(info: dict[str, Any]) -> tuple:
    return (info["model"], info["threads"])


def check_parity(cells: list[CellData], pairs: list[tuple], tolerances: dict[str, float]) -> list[dict[str, Any]]:
    """For each compared pair, model and thread count: match the detections of the two runners."""
    by_key = {(c.info["runner"],) + _group_key(c.info): c for c in cells}
    results = []
    for a_name, b_name in pairs:
        for cell in cells:
            if cell.info["runner"] != a_name:
                continue
            other = by_key.get((b_name,) + _group_key(cell.info))
            if other is None:
                continue
            results.append(_parity_pair(cell, other, tolerances))
    return results


def _parity_pair(a: CellData, b: CellData, tolerances: dict[str, float]) -> dict[str, Any]:
    base = {"a": a.info["runner"], "b": b.info["runner"], "model": a.info["model"], "threads": a.info["threads"]}
    ha, hb = a.hello(), b.hello()
    da, db = a.detections(), b.detections()
    if not (ha and hb and da and db):
        return {**base, "status": "n/a", "same_build": None, "tolerance": None, "mismatches": [],
                "reason": "one side has no detections (the cell failed)"}
    same = ha["opencv_build_hash"] == hb["opencv_build_hash"]
    tol = parity.Tolerance(tolerances.get("iou", 0.99), tolerances.get("score", 1e-3)) if same else \
        parity.Tolerance(tolerances.get("cross_build_iou", 0.9), tolerances.get("cross_build_score", 0.05))
    mismatches = parity.compare(da, db, tol)
    return {**base, "status": "fail" if mismatches else "pass", "same_build": same,
            "tolerance": {"iou": tol.iou, "score": tol.score}, "mismatches": mismatches,
            "images": len(set(da) | set(db)), "detections": sum(len(r["detections"]) for r in da.values())}


def _attach_parity(summaries: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    for s in summaries:
        mine = [r for r in results if s["runner"] in (r["a"], r["b"]) and (s["model"], s["threads"]) ==
                (r["model"], r["threads"])]
        checked = [r for r in mine if r["status"] != "n/a"]
        against = [r["b"] if r["a"] == s["runner"] else r["a"] for r in checked]
        status = "n/a" if not checked else ("fail" if any(r["status"] == "fail" for r in checked) else "pass")
        s["parity"] = {"status": status, "against": against,
                       "mismatches": sum(len(r["mismatches"]) for r in checked)}


def compare_cells(cells: list[CellData], summaries: list[dict[str, Any]], pairs: list[tuple],
                  parity_results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ratios a/b for each compared pair: latency median and p99 with bootstrap CIs and a test, and peak RSS."""
    by_key = {(c.info["runner"],) + _group_key(c.info): (c, s) for c, s in zip(cells, summaries)}
    entries = []
    for a_name, b_name in pairs:
        for cell, summ in zip(cells, summaries):
            if cell.info["runner"] != a_name:
                continue
            match = by_key.get((b_name,) + _group_key(cell.info))
            if match is None:
                continue
            entries += _compare_pair(cell, summ, *match, parity_results)
    latency = [e for e in entries if e["p_value"] is not None]
    for e, adjusted in zip(latency, statistics.holm([e["p_value"] for e in latency])):
        e["p_value_holm"] = adjusted
        e["significant"] = adjusted < 0.05 and not (e["ci95"][0] <= 1 <= e["ci95"][1])
        e["verdict"] = _verdict(e)
    return entries


def _compare_pair(a: CellData, sa: dict, b: CellData, sb: dict, parity_results: list[dict]) -> list[dict]:
    base = {"a": sa["runner"], "b": sb["runner"], "model": sa["model"], "threads": sa["threads"]}
    fairness = _fairness(sa, sb, a, b, parity_results)
    fair = all(f["ok"] for f in fairness)
    out = []
    la, lb = a.measured_ms(), b.measured_ms()
    if not (la and lb):
        missing = next(s for s, values in ((sa, la), (sb, lb)) if not values)
        return [{**base, "metric": "latency_p50", "ratio": None, "ci95": None, "p_value": None, "significant": False,
                 "verdict": f"no verdict: {missing['runner']} has no measurement ({missing['error']})",
                 "fair": fair, "fairness": fairness}]
    for metric, q in (("latency_p50", 50), ("latency_p99", 99)):
        ratio = statistics.describe(la)["p" + str(q)] / statistics.describe(lb)["p" + str(q)]
        out.append({**base, "metric": metric, "ratio": ratio, "ci95": statistics.ratio_ci(la, lb, q),
                    "p_value": statistics.mann_whitney_p(la, lb), "significant": False, "verdict": "",
                    "fair": fair, "fairness": fairness})
    if sa["memory_mb"] and sb["memory_mb"]:
        out.append({**base, "metric": "peak_rss", "ratio": sa["memory_mb"]["peak_rss"] / sb["memory_mb"]["peak_rss"],
                    "ci95": None, "p_value": None, "significant": None,
                    "verdict": _memory_verdict(sa, sb), "fair": fair, "fairness": fairness})
    return out


def _fairness(sa: dict, sb: dict, a: CellData, b: CellData, parity_results: list[dict]) -> list[dict[str, Any]]:
    checks = []
    oa, ob = sa["opencv"] or {}, sb["opencv"] or {}
    same_build = bool(oa) and oa.get("build_hash") == ob.get("build_hash")
    checks.append({"check": "same OpenCV build", "ok": same_build,
                   "detail": f"{sa['runner']}: {oa.get('version')} ({str(oa.get('build_hash'))[:12]}), "
                             f"{sb['runner']}: {ob.get('version')} ({str(ob.get('build_hash'))[:12]})"})
    ta, tb = sa["threads_observed"], sb["threads_observed"]
    ra, rb = sa["threads_requested"], sb["threads_requested"]
    checks.append({"check": "same OpenCV threads", "ok": ta is not None and ta == tb and ra == rb,
                   "detail": f"configured {ra} / {rb}, reported by OpenCV {ta} / {tb}, "
                             f"OS threads seen {sa['os_threads_max']} / {sb['os_threads_max']}"})
    checks.append(_accelerator_check(sa, sb))
    match = next((p for p in parity_results if {p["a"], p["b"]} == {sa["runner"], sb["runner"]}
                  and (p["model"], p["threads"]) == (sa["model"], sa["threads"])), None)
    status = match["status"] if match else "n/a"
    checks.append({"check": "same detections", "ok": status == "pass",
                   "detail": f"parity {status}" + (f", {len(match['mismatches'])} mismatch(es)" if match and
                                                   match["mismatches"] else "")})
    checks.append({"check": "both cells completed", "ok": sa["status"] == "ok" and sb["status"] == "ok",
                   "detail": f"{sa['runner']}: {sa['status']}, {sb['runner']}: {sb['status']}"})
    return checks


def _accelerator_check(sa: dict, sb: dict) -> dict[str, Any]:
    """The requested target was really there on both sides (OpenCV falls back to the CPU without failing)."""
    problems = []
    for s in (sa, sb):
        error = s["error"] or ""
        if error.startswith("backend_unavailable") or error.startswith("fell back to CPU"):
            problems.append(f"{s['runner']}: {error.split(':')[0]}")
        elif s["target"] and s["target"]["requested"] not in s["target"]["available"]:
            problems.append(f"{s['runner']}: {s['target']['requested']} not available")
    requested = (sa["target"] or sb["target"] or {}).get("requested", "n/a")
    return {"check": "requested target used", "ok": not problems,
            "detail": "; ".join(problems) if problems else f"target {requested} available on both sides, no fallback"}


def _verdict(e: dict[str, Any]) -> str:
    parity_check = next(f for f in e["fairness"] if f["check"] == "same detections")
    if not parity_check["ok"]:
        return "no verdict: the runners did not produce the same detections"
    if not e["significant"]:
        return "no significant difference (~)"
    lo, hi = e["ci95"]
    if e["ratio"] < 1:
        return f"{e['a']} faster by {(1 - e['ratio']) * 100:.1f} % [{(1 - hi) * 100:.1f}, {(1 - lo) * 100:.1f}]"
    return f"{e['b']} faster by {(1 - 1 / e['ratio']) * 100:.1f} % [{(1 - 1 / lo) * 100:.1f}, {(1 - 1 / hi) * 100:.1f}]"


def _memory_verdict(sa: dict, sb: dict) -> str:
    ma, mb = sa["memory_mb"]["peak_rss"], sb["memory_mb"]["peak_rss"]
    smaller, larger = (sa, sb) if ma < mb else (sb, sa)
    return (f"{smaller['runner']} peaks {abs(ma - mb):.0f} MiB lower "
            f"({smaller['memory_mb']['peak_rss']:.0f} vs {larger['memory_mb']['peak_rss']:.0f} MiB)")
