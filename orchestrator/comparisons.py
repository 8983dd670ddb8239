"""Comparing two runners' cells: output parity, fairness checks, ratios with CIs and tests, and verdicts."""

from __future__ import annotations

from typing import Any

from . import parity, statistics
from .rundata import CellData


def check_parity(cells: list[CellData], pairs: list[tuple], tolerances: dict[str, float]) -> list[dict[str, Any]]:
    """For each compared pair and cell key (scenario variant, model, threads): match the two runners' detections."""
    by_key = {(c.info["runner"],) + c.key: c for c in cells}
    results = []
    for a_name, b_name in pairs:
        for cell in cells:
            if cell.info["runner"] != a_name:
                continue
            other = by_key.get((b_name,) + cell.key)
            if other is None:
                continue
            results.append(_parity_pair(cell, other, tolerances))
    return results


def _base(a: CellData, b: CellData) -> dict[str, Any]:
    return {"a": a.info["runner"], "b": b.info["runner"], "scenario": a.info.get("label", "single"),
            "model": a.info["model"], "threads": a.info["threads"]}


def _parity_pair(a: CellData, b: CellData, tolerances: dict[str, float]) -> dict[str, Any]:
    base = _base(a, b)
    ha, hb = a.hello(), b.hello()
    da, db = a.detections(), b.detections()
    if a.info.get("scenario") == "video":  # real-time play can drop different frames: match the common ones
        common = set(da) & set(db)
        da, db = {k: v for k, v in da.items() if k in common}, {k: v for k, v in db.items() if k in common}
    if not (ha and hb and da and db):
        return {**base, "status": "n/a", "same_build": None, "tolerance": None, "mismatches": [],
                "reason": "one side has no detections (the cell failed)"}
    same = ha["opencv_build_hash"] == hb["opencv_build_hash"]
    tol = parity.Tolerance(tolerances.get("iou", 0.99), tolerances.get("score", 1e-3)) if same else \
        parity.Tolerance(tolerances.get("cross_build_iou", 0.9), tolerances.get("cross_build_score", 0.05))
    mismatches = parity.compare(da, db, tol)
    return {**base, "status": "fail" if mismatches else "pass", "same_build": same,
            "tolerance": {"iou": tol.iou, "score": tol.score}, "mismatches": mismatches,
            "images": len(set(da) | set(db)), "detections": sum(len(r["detections"]) for r in da.values())}


def attach_parity(summaries: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    """Each cell's parity: pass when every compared pair that includes it passed."""
    for s in summaries:
        key = (s["scenario_label"], s["model"], s["threads"])
        mine = [r for r in results
                if s["runner"] in (r["a"], r["b"]) and (r["scenario"], r["model"], r["threads"]) == key]
        checked = [r for r in mine if r["status"] != "n/a"]
        against = [r["b"] if r["a"] == s["runner"] else r["a"] for r in checked]
        status = "n/a" if not checked else ("fail" if any(r["status"] == "fail" for r in checked) else "pass")
        s["parity"] = {"status": status, "against": against,
                       "mismatches": sum(len(r["mismatches"]) for r in checked)}


def compare_cells(cells: list[CellData], summaries: list[dict[str, Any]], pairs: list[tuple],
                  parity_results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ratios a/b for each compared pair: latency median and p99 (or ns per call) with bootstrap CIs and a
    Mann-Whitney test, Holm-corrected over the run; throughput and peak RSS as plain ratios."""
    by_key = {(c.info["runner"],) + c.key: (c, s) for c, s in zip(cells, summaries)}
    entries = []
    for a_name, b_name in pairs:
        for cell, summ in zip(cells, summaries):
            if cell.info["runner"] != a_name:
                continue
            match = by_key.get((b_name,) + cell.key)
            if match is None:
                continue
            entries += _compare_pair(cell, summ, *match, parity_results)
    tested = [e for e in entries if e["p_value"] is not None]
    for e, adjusted in zip(tested, statistics.holm([e["p_value"] for e in tested])):
        e["p_value_holm"] = adjusted
        e["significant"] = adjusted < 0.05 and not (e["ci95"][0] <= 1 <= e["ci95"][1])
        e["verdict"] = _verdict(e)
    return entries


def _tested(base: dict, metric: str, a: list[float], b: list[float], q: float) -> dict[str, Any]:
    ratio = statistics.describe(a)[f"p{q:g}"] / statistics.describe(b)[f"p{q:g}"]
    return {**base, "metric": metric, "ratio": ratio, "ci95": statistics.ratio_ci(a, b, q),
            "p_value": statistics.mann_whitney_p(a, b), "significant": False, "verdict": ""}


def _compare_pair(a: CellData, sa: dict, b: CellData, sb: dict, parity_results: list[dict]) -> list[dict]:
    fairness = _fairness(sa, sb, a, b, parity_results)
    base = {**_base(a, b), "fair": all(f["ok"] for f in fairness), "fairness": fairness}
    if a.info.get("scenario") == "call_overhead":
        return [_tested(base, metric, a.call_ns(call), b.call_ns(call), 50)
                for metric, call in (("ns_per_call", "opencv"), ("ns_per_call_empty", "empty"))
                if a.call_ns(call) and b.call_ns(call)]
    out = []
    la, lb = a.measured_ms(), b.measured_ms()
    if not (la and lb):
        missing = next(s for s, values in ((sa, la), (sb, lb)) if not values)
        return [{**base, "metric": "latency_p50", "ratio": None, "ci95": None, "p_value": None, "significant": False,
                 "verdict": f"no verdict: {missing['runner']} has no measurement ({missing['error']})"}]
    out = [_tested(base, "latency_p50", la, lb, 50), _tested(base, "latency_p99", la, lb, 99)]
    ta, tb = sa.get("throughput_ips"), sb.get("throughput_ips")
    if ta and tb:
        out.append({**base, "metric": "throughput", "ratio": ta / tb, "ci95": None, "p_value": None,
                    "significant": None, "verdict": f"{ta:.2f} vs {tb:.2f} images/s"})
    if sa["memory_mb"] and sb["memory_mb"]:
        out.append({**base, "metric": "peak_rss", "ratio": sa["memory_mb"]["peak_rss"] / sb["memory_mb"]["peak_rss"],
                    "ci95": None, "p_value": None, "significant": None, "verdict": _memory_verdict(sa, sb)})
    return out


def _fairness(sa: dict, sb: dict, a: CellData, b: CellData, parity_results: list[dict]) -> list[dict[str, Any]]:
    checks = []
    oa, ob = sa["opencv"] or {}, sb["opencv"] or {}
    same_build = bool(oa) and oa.get("build_hash") == ob.get("build_hash")
    checks.append({"check": "same OpenCV build", "ok": same_build,
                   "detail": f"{sa['runner']}: {oa.get('version')} ({str(oa.get('build_hash'))[:12]}), "
                             f"{sb['runner']}: {ob.get('version')} ({str(ob.get('build_hash'))[:12]})"})
    ta, tb = sa["threads_observed"], sb["threads_observed"]
    ra, rb = sa["threads_requested"], sb["threads_requested"]
    checks.append({"check": "same OpenCV threads", "ok": ta is not None and ta == tb and ra == rb,
                   "detail": f"configured {ra} / {rb}, reported by OpenCV {ta} / {tb}, "
                             f"OS threads seen {sa['os_threads_max']} / {sb['os_threads_max']}"})
    checks.append(_accelerator_check(sa, sb))
    key = (sa["scenario_label"], sa["model"], sa["threads"])
    match = next((p for p in parity_results if {p["a"], p["b"]} == {sa["runner"], sb["runner"]}
                  and (p["scenario"], p["model"], p["threads"]) == key), None)
    status = match["status"] if match else "n/a"
    if sa["scenario"] == "call_overhead":  # a micro-benchmark: nothing is detected, so nothing can differ
        checks.append({"check": "same detections", "ok": True, "detail": "no detections in this scenario"})
    else:
        checks.append({"check": "same detections", "ok": status == "pass",
                       "detail": f"parity {status}" + (f", {len(match['mismatches'])} mismatch(es)" if match and
                                                       match["mismatches"] else "")})
    checks.append({"check": "both cells completed", "ok": sa["status"] == "ok" and sb["status"] == "ok",
                   "detail": f"{sa['runner']}: {sa['status']}, {sb['runner']}: {sb['status']}"})
    return checks


def _accelerator_check(sa: dict, sb: dict) -> dict[str, Any]:
    """The requested target was really there on both sides (OpenCV falls back to the CPU without failing)."""
    problems = []
    for s in (sa, sb):
        error = s["error"] or ""
        if error.startswith("backend_unavailable") or error.startswith("fell back to CPU"):
            problems.append(f"{s['runner']}: {error.split(':')[0]}")
        elif s["target"] and s["target"]["requested"] not in s["target"]["available"]:
            problems.append(f"{s['runner']}: {s['target']['requested']} not available")
    requested = (sa["target"] or sb["target"] or {}).get("requested", "n/a")
    return {"check": "requested target used", "ok": not problems,
            "detail": "; ".join(problems) if problems else f"target {requested} available on both sides, no fallback"}


def _verdict(e: dict[str, Any]) -> str:
    parity_check = next(f for f in e["fairness"] if f["check"] == "same detections")
    if not parity_check["ok"] and e["metric"] not in ("ns_per_call", "ns_per_call_empty"):
        return "no verdict: the runners did not produce the same detections"
    if not e["significant"]:
        return "no significant difference (~)"
    lo, hi = e["ci95"]
    if e["ratio"] < 1:
        return f"{e['a']} faster by {(1 - e['ratio']) * 100:.1f} % [{(1 - hi) * 100:.1f}, {(1 - lo) * 100:.1f}]"
    return f"{e['b']} faster by {(1 - 1 / e['ratio']) * 100:.1f} % [{(1 - 1 / lo) * 100:.1f}, {(1 - 1 / hi) * 100:.1f}]"


def _memory_verdict(sa: dict, sb: dict) -> str:
    ma, mb = sa["memory_mb"]["peak_rss"], sb["memory_mb"]["peak_rss"]
    smaller, larger = (sa, sb) if ma < mb else (sb, sa)
    return (f"{smaller['runner']} peaks {abs(ma - mb):.0f} MiB lower "
            f"({smaller['memory_mb']['peak_rss']:.0f} vs {larger['memory_mb']['peak_rss']:.0f} MiB)")
