"""server: requests arrive on a seeded Poisson schedule at each offered rate, whether or not a worker is free;
latency runs from arrival to result (docs/protocol.md, "server"; MLPerf's Server scenario)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import configschema, matrix, scenarios, statistics
from ..figures import median
from ..yamldoc import Doc, integer
from . import RunFigure, Translate, chart
from ._pool import Pool
from .concurrency import KIND as CONCURRENCY

if TYPE_CHECKING:
    from ..matrix import Cell
    from ..rundata import CellData
    from ..scenarios import Scenario


class Server(Pool):
    name = "server"
    section = 3

    def parse(self, doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
        keys = super().parse(doc, kp, s)
        keys["rates"] = scenarios.rates(doc, kp, s, required=True)
        keys["p99_bound_ms"] = scenarios.p99_bound(doc, kp, s)
        keys["seed"] = integer(doc, kp + ("seed",), s.get("seed", 1), 0)
        return keys

    def resolved(self, s: Scenario) -> dict[str, Any]:
        return {**super().resolved(s), "rates": list(s.rates), "p99_bound_ms": s.p99_bound_ms, "seed": s.seed}

    def variants(self, s: Scenario) -> list[dict[str, Any]]:
        return [{"workers": w, "rate": r} for w in s.workers for r in s.rates]

    def spec(self, cell: Cell, base: dict[str, Any], repeat: int) -> dict[str, Any]:
        rate = cell.variant["rate"]
        return {**super().spec(cell, base, repeat), "rate": rate,
                "arrivals_ns": matrix.arrivals_ns(rate, base["iterations"], cell.scenario.seed + repeat)}

    def figures(self, cell: CellData, s: Scenario) -> dict[str, Any]:
        figures = CONCURRENCY.figures(cell, s)
        results = cell.results()
        achieved = [r["completed"] / (r["measured_wall_ns"] / 1e9) for r in results if r["measured_wall_ns"] > 0]
        latencies = cell.measured_ms()
        bound = s.p99_bound_ms
        p99 = statistics.describe(latencies)["p99"] if len(latencies) else None
        queue = [v / 1e6 for t in cell.measured() for v in t["queue_ns"][t["queue_ns"] >= 0].tolist()]
        figures.pop("throughput_ips")
        figures.pop("throughput_per_process")
        return {**figures, "offered_rate": cell.info["variant"]["rate"], "achieved_rate": median(achieved),
                "p99_bound_ms": bound, "p99_within_bound": None if bound is None or p99 is None else p99 <= bound,
                "queue_ms": {"p50": median(queue), "p99": statistics.describe(queue)["p99"] if queue else None}}

    def run_figures(self) -> dict[str, RunFigure]:
        return {"server_capacity": server_capacity}

    def charts(self, summaries: list[dict[str, Any]], cells: list[CellData], colours: dict[str, str],
               _: Translate) -> dict[str, bytes | None]:
        return {"server": latency_vs_rate(summaries, colours, _)}

    def schema(self) -> dict[str, dict[str, Any]]:
        return {"seed": configschema.int_schema(0, "server: seed of the Poisson arrival schedule (default 1)")}


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


@chart
def latency_vs_rate(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate) -> bytes | None:
    """Server: p50 and p99 latency (arrival to result) against the offered request rate."""
    from ..charts import by_runner, plt, png  # matplotlib: only when a report is drawn

    groups = {k: v for k, v in by_runner(summaries, "server").items() if any(s["latency_ms"] for s in v)}
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for (runner, _scenario, model, threads), cells in groups.items():
        cells = sorted((c for c in cells if c["latency_ms"]), key=lambda c: (c["workers"], c["offered_rate"]))
        for workers in sorted({c["workers"] for c in cells}):
            row = [c for c in cells if c["workers"] == workers]
            colour = colours.get(runner, "#000000")
            rates = [c["offered_rate"] for c in row]
            name = f"{runner} ({model}, {threads}t, w={workers})"
            ax.plot(rates, [c["latency_ms"]["p99"] for c in row], marker="o", color=colour, label=f"{name} p99")
            ax.plot(rates, [c["latency_ms"]["p50"] for c in row], marker=".", linestyle="--", color=colour,
                    label=f"{name} p50")
        bound = cells[0].get("p99_bound_ms") if cells else None
        if bound:
            ax.axhline(bound, color="#b30000", linewidth=1, linestyle=":")
    ax.set_xlabel(_("offered rate (requests/s)"))
    ax.set_ylabel(_("latency, arrival to result (ms)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


KIND = Server()
