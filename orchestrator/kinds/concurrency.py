"""concurrency: N workers, each with its own network, drain one queue of images (docs/protocol.md,
"concurrency"). Its figures are the throughput and the workers' start-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..figures import median
from . import Translate, chart
from ._pool import Pool

if TYPE_CHECKING:
    from ..rundata import CellData
    from ..scenarios import Scenario


class Concurrency(Pool):
    name = "concurrency"
    section = 2

    def figures(self, cell: CellData, s: Scenario) -> dict[str, Any]:
        results = cell.results()
        throughput = [r["completed"] / (r["measured_wall_ns"] / 1e9) for r in results if r["measured_wall_ns"] > 0]
        return {"workers": cell.info["variant"]["workers"], "mode": results[0]["mode"] if results else None,
                "throughput_ips": median(throughput), "throughput_per_process": throughput,
                "startup_ms": median([r["startup_ns"] / 1e6 for r in results])}

    def charts(self, summaries: list[dict[str, Any]], cells: list[CellData], colours: dict[str, str],
               _: Translate) -> dict[str, bytes | None]:
        return {"throughput": throughput_vs_workers(summaries, colours, _)}


@chart
def throughput_vs_workers(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate) -> bytes | None:
    """Concurrency: images per second and p99 latency against the worker count, one line per runner."""
    from ..charts import by_runner, plt, png  # matplotlib: only when a report is drawn

    groups = {k: v for k, v in by_runner(summaries, "concurrency").items() if any(s["throughput_ips"] for s in v)}
    if not groups:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for (runner, scenario, model, threads), cells in groups.items():
        cells = sorted((c for c in cells if c["throughput_ips"]), key=lambda c: c["workers"])
        dashed = "--" if scenario != "concurrency" else "-"
        style = {"color": colours.get(runner, "#000000"), "marker": "o", "linestyle": dashed,
                 "label": f"{runner} ({scenario}, {model}, {threads}t)"}
        left.plot([c["workers"] for c in cells], [c["throughput_ips"] for c in cells], **style)
        right.plot([c["workers"] for c in cells], [c["latency_ms"]["p99"] for c in cells], **style)
    left.set_ylabel(_("throughput (images/s)"))
    right.set_ylabel(_("p99 latency per image (ms)"))
    for ax in (left, right):
        ax.set_xlabel(_("workers"))
        ax.grid(alpha=0.3)
    left.legend(fontsize=7)
    fig.tight_layout()
    return png(fig)


KIND = Concurrency()
