"""Each scenario's own figures for a cell (docs/report.md): FPS, throughput, achieved rate, ns per call.

A figure that has one value per process (throughput, FPS) is reported as the median over processes, with every
process's value beside it, so that the spread between processes stays visible. Each scenario's figures are its
kind's (orchestrator/kinds/<type>.py); this module looks them up and holds the helpers they share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import statistics
from .kinds import KINDS, RunFigure

if TYPE_CHECKING:
    from .rundata import CellData
    from .scenarios import Scenario


def for_cell(cell: CellData, scenario: Scenario) -> dict[str, Any]:
    """The figures that orchestrator/registry.py names for the cell's scenario (none for single)."""
    kind = KINDS.get(cell.info.get("scenario", "single"))
    return kind.figures(cell, scenario) if kind else {}


def median(values: list[float]) -> float | None:
    return statistics.describe(values)["p50"] if values else None


def run_figures() -> dict[str, RunFigure]:
    """The figures over a whole run's cell summaries that the kinds compute, by their key in summary.json."""
    return {key: figure for kind in KINDS.values() for key, figure in kind.run_figures().items()}


def for_run(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Every run-level figure of the kinds (server_capacity, http_capacity, ...) over the run's cell summaries."""
    return {key: figure(summaries) for key, figure in run_figures().items()}
