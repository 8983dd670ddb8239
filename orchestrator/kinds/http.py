"""http: each runner is an HTTP inference server, loaded by vegeta in open loop (offered rates) or closed loop
(concurrent clients) while it runs (docs/protocol.md, "http"; orchestrator/serving.py, orchestrator/load.py).
Its figures are the clients' (answered rate, latency, errors), the server's and what the HTTP layer costs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import configschema, scenarios, statistics
from ..figures import median
from ..load import PYTHON_WEB_STACK
from ..yamldoc import Doc, integer, number
from . import RunFigure, Translate, chart
from ._pool import Pool

if TYPE_CHECKING:
    from ..matrix import Cell
    from ..rundata import CellData
    from ..scenarios import Scenario

MAX_WORKERS = 1024
MAX_CLIENTS = 10_000  # every load is bounded: in clients, rate, duration and per-request timeout
MAX_RATE = 100_000.0
MAX_DURATION_S = 600.0


class Http(Pool):
    name = "http"
    section = 4
    workers_default = (1,)
    workers_most = MAX_WORKERS

    def parse(self, doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
        keys = super().parse(doc, kp, s)
        rates = scenarios.rates(doc, kp, s, required=False, high=MAX_RATE)
        given = s.get("clients") not in (None, [])  # config.yaml of a run writes [] for none
        clients = scenarios.int_list(doc, kp + ("clients",), s["clients"], 1, MAX_CLIENTS) if given else ()
        if not rates and not clients:
            raise doc.fail(kp + ("rates",), "an http scenario needs `rates` (open loop, requests per second) or "
                                            "`clients` (closed loop, concurrent clients), or both")
        keys.update({"rates": rates, "clients": clients, "p99_bound_ms": scenarios.p99_bound(doc, kp, s),
                     "queue": integer(doc, kp + ("queue",), s.get("queue", 1024), 0),
                     "max_body_mb": number(doc, kp + ("max_body_mb",), s.get("max_body_mb", 16), 0.001, 1024),
                     "duration_s": number(doc, kp + ("duration_s",), s.get("duration_s", 5), 0.1, MAX_DURATION_S),
                     "request_timeout_s": number(doc, kp + ("request_timeout_s",), s.get("request_timeout_s", 30),
                                                 0.1, MAX_DURATION_S)})
        return keys

    def resolved(self, s: Scenario) -> dict[str, Any]:
        return {**super().resolved(s), "rates": list(s.rates), "clients": list(s.clients),
                "p99_bound_ms": s.p99_bound_ms, "queue": s.queue, "max_body_mb": s.max_body_mb,
                "duration_s": s.duration_s, "request_timeout_s": s.request_timeout_s}

    def variants(self, s: Scenario) -> list[dict[str, Any]]:
        return [{"workers": w, **load} for w in s.workers
                for load in [{"rate": r} for r in s.rates] + [{"clients": c} for c in s.clients]]

    def spec(self, cell: Cell, base: dict[str, Any], repeat: int) -> dict[str, Any]:
        s = cell.scenario
        return {**super().spec(cell, base, repeat),
                "http": {"queue": s.queue, "max_body_bytes": round(s.max_body_mb * 2**20), "port": 0,
                         "python_path": str(PYTHON_WEB_STACK)}}

    def figures(self, cell: CellData, s: Scenario) -> dict[str, Any]:
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
        bound = s.p99_bound_ms
        p99 = described["p99"] if described else None
        # What HTTP adds to the server's own handling: client p50 less handler p50 of the same process. Only in
        # open loop without a failed request: under a closed loop or past capacity the two medians are of requests
        # queued differently (and timed-out requests have no client latency), so their difference is not the
        # layer's.
        layer = [float(np.median(r.ok_latency_ns())) / 1e6 - float(np.median(t["handler_ns"])) / 1e6
                 for r, t in per if r.ok.all() and len(r) and len(t)] if "rate" in variant else []
        return {
            "workers": variant["workers"], "mode": cell.info.get("mode"),
            "load": "open" if "rate" in variant else "closed",
            "offered_rate": variant.get("rate"), "clients": variant.get("clients"),
            "requests": sent, "answered": int(sum(r.ok.sum() for _, r in ok)),
            "achieved_rps": median(list(cell.process_throughput().values())),
            "achieved_rps_per_process": list(cell.process_throughput().values()),
            "client_ms": None if described is None else {k: described[k] for k in ("p50", "p90", "p99", "mean")},
            "errors": errors, "error_rate": sum(errors.values()) / sent if sent else None,
            "server_ms": {"service_p50": median(service.tolist()), "handler_p50": median(handler.tolist()),
                          "queue_p50": median(queue.tolist())} if server else None,
            "http_layer_ms": median(layer),
            "server_cpu_percent": _window(cell, lambda x: x.cpu_percent, np.mean),
            "server_peak_rss_mb": _window(cell, lambda x: x.rss_bytes / 2**20, np.max),
            "p99_bound_ms": bound, "p99_within_bound": None if bound is None or p99 is None else p99 <= bound,
        }

    def run_figures(self) -> dict[str, RunFigure]:
        return {"http_capacity": http_capacity, "http_overhead": http_overhead}

    def charts(self, summaries: list[dict[str, Any]], cells: list[CellData], colours: dict[str, str],
               _: Translate) -> dict[str, bytes | None]:
        return {"http_open": http_open_loop(summaries, colours, _),
                "http_closed": http_closed_loop(summaries, colours, _)}

    def schema(self) -> dict[str, dict[str, Any]]:
        js = configschema
        return {
            "queue": js.int_schema(0, "http: requests that may wait for a network; beyond, 503 (default 1024)"),
            "max_body_mb": js.num_schema(0.001, 1024, "http: larger request bodies get 413 (default 16)"),
            "clients": js.one_or_list(js.int_schema(1), "http: closed-loop concurrent clients, one cell each",
                                      min_items=0),
            "duration_s": js.num_schema(0.1, MAX_DURATION_S, "http: how long vegeta sends per process (default 5)"),
            "request_timeout_s": js.num_schema(0.1, MAX_DURATION_S, "http: a request not answered by then is a timeout "
                                               "(default 30)"),
        }


def _window(cell: CellData, value: Callable[[Any], float], reduce: Callable[[Any], Any]) -> float | None:
    """A sampled figure of the server while vegeta sent its load (median over processes)."""
    per = []
    for meta, samples in zip(cell.processes, cell.samples):
        window = ((meta.get("load") or {}).get("window_s")) or None
        inside = [value(s) for s in samples if window and window[0] <= s.t_s <= window[1]]
        if meta.get("status") == "ok" and inside:
            per.append(float(reduce(inside)))
    return round(median(per), 1) if per else None


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


def _http_groups(summaries: list[dict[str, Any]], load: str) -> dict[tuple, list[dict[str, Any]]]:
    """http cells of one load kind (open: by rate, closed: by clients), per runner, model, threads, networks."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for s in summaries:
        if s.get("scenario") == "http" and s.get("load") == load and s.get("client_ms"):
            groups.setdefault((s["runner"], s["model"], s["threads"], s["workers"]), []).append(s)
    return groups


@chart
def http_open_loop(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate) -> bytes | None:
    """http, open loop: answered against offered rate (left) and client p50/p99 against offered rate (right)."""
    from ..charts import legend_label, plt, png  # matplotlib: only when a report is drawn

    groups = _http_groups(summaries, "open")
    if not groups:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    top = 0.0
    for (runner, model, threads, workers), cells in groups.items():
        cells = sorted(cells, key=lambda c: c["offered_rate"])
        rates = [c["offered_rate"] for c in cells]
        top = max(top, *rates)
        colour, name = colours.get(runner, "#000000"), f"{runner} ({model}, {threads}t, K={workers})"
        left.plot(rates, [c["achieved_rps"] or 0 for c in cells], marker="o", color=colour, label=legend_label(name))
        right.plot(rates, [c["client_ms"]["p99"] for c in cells], marker="o", color=colour, label=f"{name} p99")
        right.plot(rates, [c["client_ms"]["p50"] for c in cells], marker=".", linestyle="--", color=colour)
    left.plot([0, top], [0, top], color="#999999", linewidth=1, linestyle=":")  # every request answered
    bound = next((c.get("p99_bound_ms") for cells in groups.values() for c in cells if c.get("p99_bound_ms")), None)
    if bound:
        right.axhline(bound, color="#b30000", linewidth=1, linestyle=":")
    left.set_ylabel(_("answered (requests/s)"))
    right.set_ylabel(_("client latency (ms)"))
    right.set_yscale("log")
    for ax in (left, right):
        ax.set_xlabel(_("offered rate (requests/s)"))
        ax.grid(alpha=0.3)
    left.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


@chart
def http_closed_loop(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate) -> bytes | None:
    """http, closed loop: client p50/p99 (left) and the server's peak RSS under load (right) against clients."""
    from ..charts import legend_label, plt, png  # matplotlib: only when a report is drawn

    groups = _http_groups(summaries, "closed")
    if not groups:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for (runner, model, threads, workers), cells in groups.items():
        cells = sorted(cells, key=lambda c: c["clients"])
        clients = [c["clients"] for c in cells]
        colour, name = colours.get(runner, "#000000"), f"{runner} ({model}, {threads}t, K={workers})"
        left.plot(clients, [c["client_ms"]["p99"] for c in cells], marker="o", color=colour, label=f"{name} p99")
        left.plot(clients, [c["client_ms"]["p50"] for c in cells], marker=".", linestyle="--", color=colour)
        right.plot(clients, [c["server_peak_rss_mb"] or 0 for c in cells], marker="o", color=colour,
                   label=legend_label(name))
    left.set_ylabel(_("client latency (ms)"))
    left.set_yscale("log")
    right.set_ylabel(_("server peak RSS under load (MiB)"))
    for ax in (left, right):
        ax.set_xlabel(_("concurrent clients"))
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    left.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


KIND = Http()
