"""Each scenario's own figures for a cell (docs/report.md): FPS, throughput, achieved rate, ns per call.

A figure that has one value per process (throughput, FPS) is reported as the median over processes, with every
process's value beside it, so that the spread between processes stays visible.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import statistics, warmup
from .rundata import CellData, spawn_figure
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


SPAWN_FIGURES = ("startup_ms", "rss_mb", "rss_added_mb", "tasks_per_s")


def _spawn(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    """Per figure: the geometric mean over processes of each one's value (the median of its measured samples;
    memory: its cold spawn, rundata.process_spawn) with its t interval, and the median of the cold (first)
    samples: the one the article's single run measured."""
    out: dict[str, Any] = {"workers": cell.info["variant"]["workers"], "mode": cell.info.get("mode")}
    for figure in SPAWN_FIGURES:
        level = statistics.process_level(list(cell.process_spawn(figure).values()))
        cold = [spawn_cold for s in cell.streams for spawn_cold in _cold(s.spawn_samples, figure)]
        out[figure] = None if level is None else {"p50": level.center, "ci95": level.ci95, "spread": level.spread,
                                                  "processes": level.n, "cold": _median(cold)}
    return out


def _cold(samples: list[dict[str, Any]], figure: str) -> list[float]:
    return [spawn_figure(samples[0], figure)] if samples and samples[0]["index"] == 0 else []


def _http(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    """A server under one load: what its clients got (vegeta), what the server did, and what HTTP cost."""
    variant = cell.info["variant"]
    ok = [(m, r) for m, r in zip(cell.processes, cell.requests) if m.get("status") == "ok" and len(r)]
    client = cell.completed_ms()
    described = statistics.describe(client) if len(client) else None
    errors: dict[str, int] = {}
    for _, r in ok:
        for kind, n in r.errors().items():
            errors[kind] = errors.get(kind, 0) + n
    sent = sum(len(r) for _, r in ok)
    # The server's records of the load: after those of the parity pass, which came first, one at a time.
    per = [(r, t[(m.get("load") or {}).get("parity_images", 0):])
           for m, r, t in zip(cell.processes, cell.requests, cell.measured()) if m.get("status") == "ok"]
    server = [t for _, t in per if len(t)]
    handler = np.concatenate([t["handler_ns"] for t in server]) / 1e6 if server else np.zeros(0)
    service = np.concatenate([t.latency_ns() for t in server]) / 1e6 if server else np.zeros(0)
    queue = np.concatenate([t["queue_ns"] for t in server]) / 1e6 if server else np.zeros(0)
    bound = scenario.p99_bound_ms
    p99 = described["p99"] if described else None
    # What HTTP adds to the server's own handling: client p50 less handler p50 of the same process. Only in open
    # loop without a failed request: under a closed loop or past capacity the two medians are of requests queued
    # differently (and timed-out requests have no client latency), so their difference is not the layer's.
    layer = [float(np.median(r.ok_latency_ns())) / 1e6 - float(np.median(t["handler_ns"])) / 1e6
             for r, t in per if r.ok.all() and len(r) and len(t)] if "rate" in variant else []
    return {
        "workers": variant["workers"], "mode": cell.info.get("mode"),
        "load": "open" if "rate" in variant else "closed",
        "offered_rate": variant.get("rate"), "clients": variant.get("clients"),
        "requests": sent, "answered": int(sum(r.ok.sum() for _, r in ok)),
        "achieved_rps": _median(list(cell.process_throughput().values())),
        "achieved_rps_per_process": list(cell.process_throughput().values()),
        "client_ms": None if described is None else {k: described[k] for k in ("p50", "p90", "p99", "mean")},
        "errors": errors, "error_rate": sum(errors.values()) / sent if sent else None,
        "server_ms": {"service_p50": _median(service.tolist()), "handler_p50": _median(handler.tolist()),
                      "queue_p50": _median(queue.tolist())} if server else None,
        "http_layer_ms": _median(layer),
        "server_cpu_percent": _window(cell, lambda s: s.cpu_percent, np.mean),
        "server_peak_rss_mb": _window(cell, lambda s: s.rss_bytes / 2**20, np.max),
        "p99_bound_ms": bound, "p99_within_bound": None if bound is None or p99 is None else p99 <= bound,
    }


def _window(cell: CellData, value: Callable[[Any], float], reduce: Callable[[Any], Any]) -> float | None:
    """A sampled figure of the server while vegeta sent its load (median over processes)."""
    per = []
    for meta, samples in zip(cell.processes, cell.samples):
        window = ((meta.get("load") or {}).get("window_s")) or None
        inside = [value(s) for s in samples if window and window[0] <= s.t_s <= window[1]]
        if meta.get("status") == "ok" and inside:
            per.append(float(reduce(inside)))
    return round(_median(per), 1) if per else None


def http_capacity(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per runner, model, threads, engine and network count of an http scenario: the highest offered rate whose
    p99 stayed within the bound with no failed request, and the answered rate there (the headline's answer)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for s in summaries:
        if s["scenario"] == "http" and s.get("offered_rate") is not None and s.get("p99_bound_ms") is not None:
            key = (s["runner"], s["scenario_name"], s["model"], s["threads"], s["workers"], s.get("engine", "opencv"))
            groups.setdefault(key, []).append(s)
    out = []
    for (runner, scenario, model, threads, workers, engine), cells in groups.items():
        met = [c for c in cells if c["status"] == "ok" and c["p99_within_bound"] and not c["errors"]]
        best = max(met, key=lambda c: c["offered_rate"]) if met else None
        out.append({"runner": runner, "scenario": scenario, "model": model, "threads": threads, "workers": workers,
                    "engine": engine, "p99_bound_ms": cells[0]["p99_bound_ms"],
                    "rates": sorted(c["offered_rate"] for c in cells),
                    "highest_rate_within_bound": best["offered_rate"] if best else None,
                    "achieved_rps_there": best["achieved_rps"] if best else None,
                    "p99_ms_there": best["client_ms"]["p99"] if best and best["client_ms"] else None})
    return out


def http_overhead(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The HTTP layer's cost per request as the issue defines it: client p50 at the lowest offered rate minus the
    same runner's single-scenario p50 (same model, threads, engine), beside the in-cell estimate (client p50 minus
    the server's own handler time)."""
    singles = {(s["runner"], s["model"], s["threads"], s.get("engine", "opencv")): s for s in summaries
               if s["scenario"] == "single" and s["status"] == "ok" and s["latency_ms"]}
    lowest: dict[tuple, dict[str, Any]] = {}
    for s in summaries:
        if s["scenario"] == "http" and s.get("offered_rate") is not None and s["status"] == "ok" and s["client_ms"]:
            key = (s["runner"], s["model"], s["threads"], s.get("engine", "opencv"), s["workers"])
            if key not in lowest or s["offered_rate"] < lowest[key]["offered_rate"]:
                lowest[key] = s
    out = []
    for (runner, model, threads, engine, workers), s in lowest.items():
        single = singles.get((runner, model, threads, engine))
        out.append({"runner": runner, "model": model, "threads": threads, "engine": engine, "workers": workers,
                    "rate": s["offered_rate"], "client_p50_ms": s["client_ms"]["p50"],
                    "single_p50_ms": single["latency_ms"]["p50"] if single else None,
                    "overhead_ms": s["client_ms"]["p50"] - single["latency_ms"]["p50"] if single else None,
                    "http_layer_ms": s["http_layer_ms"]})
    return out


# Each scenario's figures (the keys registry.ScenarioType.figures names), by scenario.
FIGURES: dict[str, Callable[[CellData, Scenario], dict[str, Any]]] = {
    "video": _video, "concurrency": _concurrency, "server": _server, "batch": _batch, "call_overhead": _calls,
    "spawn": _spawn, "http": _http}
