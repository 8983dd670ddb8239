"""Each scenario's own figures for a cell (docs/report.md): FPS, throughput, achieved rate, ns per call.

A figure that has one value per process (throughput, FPS) is reported as the median over processes, with every
process's value beside it, so that the spread between processes stays visible.
"""

from __future__ import annotations

from typing import Any, Callable

from . import statistics, warmup
from .rundata import CellData
from .scenarios import Scenario


def for_cell(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    """The figures that orchestrator/registry.py names for the cell's scenario (none for single)."""
    figures = FIGURES.get(cell.info.get("scenario", "single"))
    return figures(cell, scenario) if figures else {}


def _median(values: list[float]) -> float | None:
    return statistics.describe(values)["p50"] if values else None


def _video(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    results = cell.results()
    warm = warmup.AUTO_RUNNER_WARMUP if scenario.warmup is None else scenario.warmup  # as the runner ran it
    fps = [(r["processed"] - warm) / (r["measured_wall_ns"] / 1e9) for r in results
           if r["measured_wall_ns"] > 0 and r["processed"] > warm]
    return {"fps": _median(fps), "fps_per_process": fps, "realtime": scenario.realtime,
            "frames_read": sum(r["frames_read"] for r in results), "processed": sum(r["processed"] for r in results),
            "dropped": sum(r["dropped"] for r in results),
            "source_fps": results[0]["source_fps"] if results else None}


def _concurrency(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    results = cell.results()
    throughput = [r["completed"] / (r["measured_wall_ns"] / 1e9) for r in results if r["measured_wall_ns"] > 0]
    return {"workers": cell.info["variant"]["workers"], "mode": results[0]["mode"] if results else None,
            "throughput_ips": _median(throughput), "throughput_per_process": throughput,
            "startup_ms": _median([r["startup_ns"] / 1e6 for r in results])}


def _server(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    figures = _concurrency(cell, scenario)
    results = cell.results()
    achieved = [r["completed"] / (r["measured_wall_ns"] / 1e9) for r in results if r["measured_wall_ns"] > 0]
    latencies = cell.measured_ms()
    bound = scenario.p99_bound_ms
    p99 = statistics.describe(latencies)["p99"] if len(latencies) else None
    queue = [v / 1e6 for t in cell.measured() for v in t["queue_ns"][t["queue_ns"] >= 0].tolist()]
    figures.pop("throughput_ips")
    figures.pop("throughput_per_process")
    return {**figures, "offered_rate": cell.info["variant"]["rate"], "achieved_rate": _median(achieved),
            "p99_bound_ms": bound, "p99_within_bound": None if bound is None or p99 is None else p99 <= bound,
            "queue_ms": {"p50": _median(queue), "p99": statistics.describe(queue)["p99"] if queue else None}}


def server_capacity(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per runner, model, thread and worker count of a server scenario with a p99 bound: the highest offered
    rate of the scan whose p99 met the bound (None when no rate did)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for s in summaries:
        if s["scenario"] == "server" and s.get("p99_bound_ms") is not None:
            key = (s["runner"], s["scenario_name"], s["model"], s["threads"], s["workers"])
            groups.setdefault(key, []).append(s)
    out = []
    for (runner, scenario, model, threads, workers), cells in groups.items():
        met = [c["offered_rate"] for c in cells if c["p99_within_bound"]]
        out.append({"runner": runner, "scenario": scenario, "model": model, "threads": threads, "workers": workers,
                    "p99_bound_ms": cells[0]["p99_bound_ms"], "rates": sorted(c["offered_rate"] for c in cells),
                    "highest_rate_within_bound": max(met) if met else None})
    return out


def _batch(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    batch = scenario.batch
    per_image = (cell.measured_ms() / batch).tolist()
    return {"batch": batch, "per_image_ms": {"p50": _median(per_image),
                                             "mean": statistics.describe(per_image)["mean"] if per_image else None}}


CALLS = (("opencv", "ns_per_call"), ("empty", "ns_per_call_empty"), ("mat", "ns_per_call_mat"),
         ("loop", "ns_per_loop"))


def _calls(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    """ns per call: the geometric mean of the process medians with its t interval over processes; `net` is the
    call less the language's empty loop (`loop`), the cost of the call itself."""
    out: dict[str, Any] = {}
    loop = statistics.process_level(list(cell.process_call_medians("loop").values()))
    for call, key in CALLS:
        level = statistics.process_level(list(cell.process_call_medians(call).values()))
        out[key] = None if level is None else {
            "p50": level.center, "ci95": level.ci95, "spread": level.spread, "processes": level.n,
            "samples": len(cell.call_ns(call)),
            "net": level.center - loop.center if loop and call != "loop" else None}
    return out


# Each scenario's figures (the keys registry.ScenarioType.figures names), by scenario.
FIGURES: dict[str, Callable[[CellData, Scenario], dict[str, Any]]] = {
    "video": _video, "concurrency": _concurrency, "server": _server, "batch": _batch, "call_overhead": _calls}
