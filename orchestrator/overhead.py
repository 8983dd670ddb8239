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


def native_overhead(cells: list[Any], summaries: list[dict[str, Any]], reference: str | None) -> list[dict[str, Any]]:
    if reference is None:
        return []
    refs = {c.key: (c, s) for c, s in zip(cells, summaries) if c.info["runner"] == reference and len(c.measured_ms())}
    out = []
    for cell, summ in zip(cells, summaries):
        key = cell.key
        if cell.info["runner"] == reference or key not in refs or not len(cell.measured_ms()):
            continue
        ref, ref_summ = refs[key]
        phases = {ph: _ratio(cell.process_medians(ph), ref.process_medians(ph)) for ph in PHASES}
        phases["total"] = _ratio(cell.process_medians(), ref.process_medians())
        mem, ref_mem = summ["memory_mb"], ref_summ["memory_mb"]
        out.append({"runner": cell.info["runner"], "reference": reference, "scenario": key[0], "model": key[1],
                    "threads": key[2], "phases": phases,
                    "peak_rss_ratio": mem["peak_rss"] / ref_mem["peak_rss"] if mem and ref_mem else None})
    return out


def _ratio(values: dict[int, float], reference: dict[int, float]) -> dict[str, Any]:
    rounds = sorted(set(values) & set(reference))
    p = statistics.paired_log_ratio([values[k] for k in rounds], [reference[k] for k in rounds])
    if p is None:
        return {"ratio": None, "ci95": None, "rounds": len(rounds)}
    return {"ratio": p.ratio, "ci95": p.ci95, "rounds": p.n}
