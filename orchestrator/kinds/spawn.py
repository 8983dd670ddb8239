"""spawn: the article's section 4.3, N sleeping workers started on one queue of tasks, no model (docs/protocol.md,
"spawn"). Its figures are the start-up, the memory the workers add and the tasks per second."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import configschema, statistics
from ..figures import median
from ..rundata import spawn_figure
from ..scenarios import flag
from ..yamldoc import Doc, integer, number
from . import Translate, chart
from ._pool import Pool

if TYPE_CHECKING:
    from ..matrix import Cell
    from ..rundata import CellData
    from ..scenarios import Scenario

MAX_WORKERS = 100_000  # docs/protocol.md's bounds of a spawn spec
MAX_TASKS = 10_000_000
FIGURES = ("startup_ms", "rss_mb", "rss_added_mb", "tasks_per_s")
CSV = (("spawn_startup_ms", "startup_ms"), ("spawn_rss_added_mib", "rss_added_mb"),
       ("spawn_tasks_per_s", "tasks_per_s"))  # summary.csv's columns: the p50 of these figures


class Spawn(Pool):
    name = "spawn"
    section = 5
    workers_default = (1000,)
    workers_most = MAX_WORKERS
    csv_columns = tuple(column for column, _figure in CSV)

    def parse(self, doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
        keys = super().parse(doc, kp, s)
        workers = keys["workers"]
        per = integer(doc, kp + ("tasks_per_worker",), s.get("tasks_per_worker", 10), 1)
        if max(workers) * per > MAX_TASKS:
            raise doc.fail(kp + ("tasks_per_worker",), f"{max(workers)} workers x {per} tasks is more than "
                                                       f"{MAX_TASKS} tasks; lower tasks_per_worker")
        keys.update({"tasks_per_worker": per,
                     "task_sleep_ms": number(doc, kp + ("task_sleep_ms",), s.get("task_sleep_ms", 10), 0, 10_000),
                     "print": flag(doc, kp + ("print",), s.get("print", False))})
        return keys

    def resolved(self, s: Scenario) -> dict[str, Any]:
        return {**super().resolved(s), "tasks_per_worker": s.tasks_per_worker, "task_sleep_ms": s.task_sleep_ms,
                "print": s.print}

    def spec(self, cell: Cell, base: dict[str, Any], repeat: int) -> dict[str, Any]:
        s = cell.scenario
        return {**super().spec(cell, base, repeat), "tasks": cell.variant["workers"] * s.tasks_per_worker,
                "task_sleep_ns": round(s.task_sleep_ms * 1e6), "print": s.print}

    def figures(self, cell: CellData, s: Scenario) -> dict[str, Any]:
        """Per figure: the geometric mean over processes of each one's value (the median of its measured
        samples; memory: its cold spawn, rundata.process_spawn) with its t interval, and the median of the cold
        (first) samples: the one the article's single run measured."""
        out: dict[str, Any] = {"workers": cell.info["variant"]["workers"], "mode": cell.info.get("mode")}
        for figure in FIGURES:
            level = statistics.process_level(list(cell.process_spawn(figure).values()))
            cold = [spawn_cold for st in cell.streams for spawn_cold in _cold(st.spawn_samples, figure)]
            out[figure] = None if level is None else {"p50": level.center, "ci95": level.ci95,
                                                      "spread": level.spread, "processes": level.n,
                                                      "cold": median(cold)}
        return out

    def charts(self, summaries: list[dict[str, Any]], cells: list[CellData], colours: dict[str, str],
               _: Translate) -> dict[str, bytes | None]:
        return {"spawn": spawn_bars(summaries, colours, _)}

    def csv_row(self, cell: dict[str, Any]) -> dict[str, Any]:
        return {column: (cell.get(figure) or {}).get("p50") for column, figure in CSV}

    def schema(self) -> dict[str, dict[str, Any]]:
        return {"tasks_per_worker": configschema.int_schema(1, "spawn: tasks per sample = workers x this (default 10)"),
                "task_sleep_ms": configschema.num_schema(0, 10_000, "spawn: each task sleeps this long (default 10)"),
                "print": configschema.bool_schema("spawn: each task writes the article's line to stderr "
                                                  "(default false)")}


def _cold(samples: list[dict[str, Any]], figure: str) -> list[float]:
    return [spawn_figure(samples[0], figure)] if samples and samples[0]["index"] == 0 else []


@chart
def spawn_bars(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate) -> bytes | None:
    """spawn: start-up, memory added and tasks per second of N sleeping workers, one bar per runner and N."""
    from ..charts import plt, png  # matplotlib: only when a report is drawn

    rows = [s for s in summaries if s.get("scenario") == "spawn" and s.get("startup_ms")]
    if not rows:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    labels = [f"{s['runner']}\nN={s['workers']}" for s in rows]
    for ax, key, ylabel in zip(axes, ("startup_ms", "rss_added_mb", "tasks_per_s"),
                               (_("start-up (ms)"), _("memory added (MiB)"), _("tasks per second"))):
        values = [s[key] or {} for s in rows]
        heights = [v.get("p50") or 0 for v in values]
        ci = [v.get("ci95") for v in values]
        errors = [[h - c[0] if c else 0 for h, c in zip(heights, ci)],
                  [c[1] - h if c else 0 for h, c in zip(heights, ci)]]
        ax.bar(labels, heights, yerr=errors, capsize=3, color=[colours.get(s["runner"], "#999999") for s in rows])
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return png(fig)


KIND = Spawn()
