"""call_overhead: the cost of one call from the language into OpenCV (and into compiled code at all), no model
(docs/protocol.md, "call_overhead"). Its figures are ns per call, per process and over processes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import configschema, statistics
from ..exports import md
from ..yamldoc import Doc, integer
from . import Kind, Translate

if TYPE_CHECKING:
    from ..matrix import Cell
    from ..rundata import CellData
    from ..scenarios import Scenario

CALLS = (("opencv", "ns_per_call"), ("empty", "ns_per_call_empty"), ("mat", "ns_per_call_mat"),
         ("loop", "ns_per_loop"))


class CallOverhead(Kind):
    name = "call_overhead"
    section = 7

    def parse(self, doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
        return {"calls_per_sample": integer(doc, kp + ("calls_per_sample",), s.get("calls_per_sample", 10000), 1)}

    def resolved(self, s: Scenario) -> dict[str, Any]:
        return {"calls_per_sample": s.calls_per_sample}

    def spec(self, cell: Cell, base: dict[str, Any], repeat: int) -> dict[str, Any]:
        return {"calls_per_sample": cell.scenario.calls_per_sample}

    def figures(self, cell: CellData, s: Scenario) -> dict[str, Any]:
        """ns per call: the geometric mean of the process medians with its t interval over processes; `net` is
        the call less the language's empty loop (`loop`), the cost of the call itself."""
        out: dict[str, Any] = {}
        loop = statistics.process_level(list(cell.process_call_medians("loop").values()))
        for call, key in CALLS:
            level = statistics.process_level(list(cell.process_call_medians(call).values()))
            out[key] = None if level is None else {
                "p50": level.center, "ci95": level.ci95, "spread": level.spread, "processes": level.n,
                "samples": len(cell.call_ns(call)),
                "net": level.center - loop.center if loop and call != "loop" else None}
        return out

    def charts(self, summaries: list[dict[str, Any]], cells: list[CellData], colours: dict[str, str],
               _: Translate) -> dict[str, bytes | None]:
        from .. import charts  # matplotlib: only when a report is drawn

        return {"calls": charts.bars(summaries, "call_overhead",
                                     lambda s: (s["ns_per_call"]["p50"], s["ns_per_call"]["ci95"]) if s["ns_per_call"]
                                     else (None, None),
                                     _("ns per cv::countNonZero call"), colours)}

    def markdown(self, cells: list[dict[str, Any]]) -> list[str]:
        calls = [c for c in cells if c.get("ns_per_call")]
        if not calls:
            return []
        lines = ["## Cost of one binding call (ns)", "",
                 "| runner | cv::countNonZero [95 % CI] | net of the loop | Mat + call + free | empty call | loop |",
                 "|---|---|---|---|---|---|"]
        lines += [f"| {md(c['runner'])} | {_ns(c['ns_per_call'])} | {_net(c['ns_per_call'])} | "
                  f"{_ns(c.get('ns_per_call_mat'))} | {_ns(c['ns_per_call_empty'])} | {_ns(c.get('ns_per_loop'))} |"
                  for c in calls]
        lines.append("")
        return lines

    def schema(self) -> dict[str, dict[str, Any]]:
        return {"calls_per_sample": configschema.int_schema(1, "call_overhead: binding calls timed together as one "
                                                            "sample (default 10000)")}


def _ns(figure: dict[str, Any] | None) -> str:
    if not figure or figure.get("p50") is None:
        return "n/a"
    ci = figure.get("ci95")
    return f"{figure['p50']:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "")


def _net(figure: dict[str, Any] | None) -> str:
    return "n/a" if not figure or figure.get("net") is None else f"{figure['net']:.1f}"


KIND = CallOverhead()
