"""Holding a published claim against this run.

A claim gives two numbers measured on someone else's machine ("Python 48.2 ms, Go 42.7 ms"). Absolute values do
not travel between machines, ratios do more nearly: so a claim is checked as the ratio a / b it implies against
the ratio measured here, with its bootstrap 95 % CI.

A metric with one value per cell (peak memory, throughput, start-up) has no CI: a band of +-5 % around the
measured ratio stands in for it.

Verdicts: `consistent` (the claimed ratio lies in the measured CI), `same direction, different size` (the CI
is on the claimed side of 1 but excludes the claimed ratio), `not confirmed` (the CI contains 1: no significant
difference here), `contradicted` (the CI is on the other side of 1), `not comparable` (a side is missing, or
the runners did not find the same objects).
"""

from __future__ import annotations

from typing import Any

from . import statistics

QUANTILE = {"latency_mean": None, "latency_p50": 50, "latency_p99": 99}


def check(claims: list[dict[str, Any]], summaries: list[dict[str, Any]], cells: list[Any]) -> list[dict[str, Any]]:
    return [_check_one(c, summaries, cells) for c in claims]


def _check_one(claim: dict[str, Any], summaries: list[dict[str, Any]], cells: list[Any]) -> dict[str, Any]:
    claimed = claim["a_value"] / claim["b_value"] if claim["b_value"] else None
    out = {"claim": claim["claim"], "metric": claim["metric"], "a": claim["a"], "b": claim["b"],
           "claimed": {"a": claim["a_value"], "b": claim["b_value"], "ratio": claimed},
           "measured": None, "model": None, "verdict": "not comparable", "detail": ""}
    pair = _find_pair(claim, summaries, cells)
    if pair is None:
        out["detail"] = f"no cell of this run has data for both {claim['a']} and {claim['b']}"
        return out
    (ca, sa), (cb, sb) = pair
    out["model"] = sa["model"]
    if claim["metric"] != "ns_per_call" and "fail" in (sa["parity"]["status"], sb["parity"]["status"]):
        out["detail"] = "the runners did not produce the same detections in this run"
        return out
    if claim["metric"] in PLAIN:
        value, unit = PLAIN[claim["metric"]]
        ma, mb = value(sa), value(sb)
        if not (ma and mb):
            out["detail"] = f"this run measured no {claim['metric']} for both runners"
            return out
        out["measured"] = {"a": ma, "b": mb, "ratio": ma / mb, "ci95": None, "unit": unit}
        # One value per cell has no CI: a band of +-PLAIN_BAND stands in for one, so that a 1 % difference in
        # peak memory or throughput is not read as a confirmed direction.
        lo, hi = ma / mb * (1 - PLAIN_BAND), ma / mb * (1 + PLAIN_BAND)
    elif claim["metric"] == "ns_per_call":
        a, b = ca.call_ns("opencv"), cb.call_ns("opencv")
        lo, hi = statistics.ratio_ci(a, b, 50)
        ma, mb = statistics.describe(a)["p50"], statistics.describe(b)["p50"]
        out["measured"] = {"a": ma, "b": mb, "ratio": ma / mb, "ci95": [lo, hi], "unit": "ns"}
    else:
        a, b = ca.measured_ms(), cb.measured_ms()
        q = QUANTILE[claim["metric"]]
        stat = (lambda v: statistics.describe(v)["mean"]) if q is None else \
            (lambda v: statistics.describe(v)[f"p{q}"])
        lo, hi = statistics.ratio_ci(a, b, q) if q is not None else statistics.ratio_ci_mean(a, b)
        out["measured"] = {"a": stat(a), "b": stat(b), "ratio": stat(a) / stat(b), "ci95": [lo, hi], "unit": "ms"}
    interval = "+-5 % band around the ratio" if claim["metric"] in PLAIN else "95 % CI of the ratio"
    out["verdict"], out["detail"] = _verdict(claimed, lo, hi, interval)
    return out


NEEDS = {"ns_per_call": "call_overhead", "throughput": "concurrency", "startup": "concurrency"}
PLAIN_BAND = 0.05
# Metrics with one value per cell (a peak, a rate): checked as a plain ratio with a +-5 % band, not a CI.
PLAIN = {
    "peak_rss": (lambda s: (s["memory_mb"] or {}).get("peak_rss"), "MiB"),
    "throughput": (lambda s: s.get("throughput_ips"), "images/s"),
    "startup": (lambda s: s.get("startup_ms"), "ms"),
}


def _find_pair(claim: dict[str, Any], summaries: list[dict[str, Any]], cells: list[Any]) -> tuple | None:
    """The first two cells of the claim's runners that share a scenario variant, model and thread count and
    carry the claim's metric (ns_per_call: call_overhead cells; throughput: the most workers; else timed cells)."""
    kind = NEEDS.get(claim["metric"])
    usable = [(c, s) for c, s in zip(cells, summaries)
              if (s["scenario"] == kind if kind else c.measured_ms() and s["scenario"] != "call_overhead")]
    if kind == "concurrency":
        usable.sort(key=lambda cs: -cs[1].get("workers", 0))
    by = {(s["runner"], s["scenario_label"], s["model"], s["threads"]): (c, s) for c, s in usable}
    for (runner, scenario, model, threads), a in by.items():
        other = (claim["b"], scenario, model, threads)
        if runner == claim["a"] and claim.get("model") in (None, model) and other in by:
            return a, by[other]
    return None


def _verdict(claimed: float | None, lo: float, hi: float, interval: str = "95 % CI of the ratio"
             ) -> tuple[str, str]:
    if claimed is None:
        return "not comparable", "the claim's b value is 0"
    span = f"measured {interval} [{lo:.3f}, {hi:.3f}]"
    text = f"claimed ratio {claimed:.3f}, {span}"
    if lo <= claimed <= hi:
        return "consistent", text
    claimed_side = (claimed > 1) - (claimed < 1)
    if lo <= 1 <= hi:
        return "not confirmed", text + ": no significant difference on this machine"
    measured_side = 1 if lo > 1 else -1
    if claimed_side == measured_side:
        return "same direction, different size", text
    return "contradicted", text
