"""Overhead over native: each runner's phases divided by the C++ runner's, the floor that OpenCV itself sets.

Go and Python both call the same C++ library, so "which language is faster" is best read as "how far is each
from calling OpenCV directly". Each phase is compared like every comparison of the report: the paired
log-ratio of the process medians over the rounds the two cells share, with its t interval
(orchestrator/statistics.py), so that a gap in the inference phase (the same native call) shows with the
interval it deserves.
"""

from __future__ import annotations

from typing import Any

from . import statistics
from .protocol import PHASES
from .rundata import CellData


def native_overhead(cells: list[CellData], reference: str | None) -> list[dict[str, Any]]:
    if reference is None:
        return []
    refs = {c.key: c for c in cells if c.info["runner"] == reference and len(c.measured_ms())}
    return [_overhead(c, refs[c.key], reference) for c in cells
            if c.info["runner"] != reference and c.key in refs and len(c.measured_ms())]


def _overhead(cell: CellData, ref: CellData, reference: str) -> dict[str, Any]:
    key = cell.key
    phases = {ph: _ratio(cell.process_medians(ph), ref.process_medians(ph)) for ph in PHASES}
    phases["total"] = _ratio(cell.process_medians(), ref.process_medians())
    mem, ref_mem = cell.summary["memory_mb"], ref.summary["memory_mb"]
    return {"runner": cell.info["runner"], "reference": reference, "scenario": key[0], "model": key[1],
            "threads": key[2], "phases": phases,
            "peak_rss_ratio": mem["peak_rss"] / ref_mem["peak_rss"] if mem and ref_mem else None}


def _ratio(values: dict[int, float], reference: dict[int, float]) -> dict[str, Any]:
    rounds = sorted(set(values) & set(reference))
    p = statistics.paired_log_ratio([values[k] for k in rounds], [reference[k] for k in rounds])
    if p is None:
        return {"ratio": None, "ci95": None, "rounds": len(rounds)}
    return {"ratio": p.ratio, "ci95": p.ci95, "rounds": p.n}
