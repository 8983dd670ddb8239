"""Comparing two runners' cells: output parity, fairness checks, ratios with CIs and tests, and verdicts."""

from __future__ import annotations

from typing import Any

from . import parity, quiet, statistics, verdicts
from .config import Parity
from .engines import ORT_PROVIDER_NAMES
from .engines import tag as engines_tag
from .messages import Message, msg
from .parity import Tolerance
from .registry import scenario_type
from .rundata import CellData, matched


def check_parity(cells: list[CellData], pairs: list[tuple], tolerances: Parity) -> list[dict[str, Any]]:
    """For each compared pair and cell key (scenario variant, model, threads): match the two runners' detections."""
    return [_parity_pair(a, b, tolerances) for a_name, b_name in pairs for a, b in matched(cells, a_name, b_name)]


def _base(a: CellData, b: CellData) -> dict[str, Any]:
    return {"a": a.info["runner"], "b": b.info["runner"], "scenario": a.info.get("label", "single"),
            "model": a.info["model"], "threads": a.info["threads"]}


def _parity_pair(a: CellData, b: CellData, tolerances: Parity) -> dict[str, Any]:
    base = _base(a, b)
    ha, hb = a.hello(), b.hello()
    da, db = _common(a, b)
    if not (ha and hb and da and db):
        return {**base, "status": "n/a", "same_build": None, "tolerance": None, "mismatches": [],
                "reason": "one side has no detections (the cell failed)"}
    same = ha["opencv_build_hash"] == hb["opencv_build_hash"] and _same_ort_release(ha, hb)
    tol = parity.Tolerance(tolerances.iou, tolerances.score) if same else \
        parity.Tolerance(tolerances.cross_build_iou, tolerances.cross_build_score)
    mismatches = parity.compare(da, db, tol)
    return {**base, "status": "fail" if mismatches else "pass", "same_build": same,
            "tolerance": {"iou": tol.iou, "score": tol.score}, "mismatches": mismatches,
            "images": len(set(da) | set(db)), "detections": sum(len(r["detections"]) for r in da.values())}


def _same_ort_release(ha: dict[str, Any], hb: dict[str, Any]) -> bool:
    """Both sides ran OpenCV DNN, or the same ONNX Runtime release (linked or loaded: the same compiled code)."""
    oa, ob = ha.get("ort"), hb.get("ort")
    if oa is None and ob is None:
        return True
    return isinstance(oa, dict) and isinstance(ob, dict) and oa.get("version") is not None and \
        oa.get("version") == ob.get("version")


def engine_parity(cells: list[CellData], tolerances: Parity) -> list[dict[str, Any]]:
    """Each runner's OpenCV cells against its ONNX Runtime cells (one per provider) of the same scenario variant,
    model and threads: two engines never compute bit-identical outputs, so the cross-build tolerances apply."""
    tol = Tolerance(tolerances.cross_build_iou, tolerances.cross_build_score)
    by_key: dict[tuple, dict[tuple[str, str], CellData]] = {}
    for c in cells:
        key = (c.info["runner"], c.info.get("scenario_name"), repr(c.info.get("variant", {})), c.info["model"],
               c.info["threads"])
        by_key.setdefault(key, {})[(c.info.get("engine", "opencv"), c.info.get("provider", ""))] = c
    out = []
    for of_key in by_key.values():
        base = of_key.get(("opencv", ""))
        for (engine, provider), other in of_key.items():
            if base is not None and engine != "opencv":
                out.append(_engine_parity_pair(base, other, engines_tag(engine, provider), tol))
    return out


def _engine_parity_pair(base: CellData, other: CellData, tag: str, tol: Tolerance) -> dict[str, Any]:
    entry = {"runner": base.info["runner"], "scenario": base.info.get("label", "single"),
             "model": base.info["model"], "threads": base.info["threads"], "a": "opencv", "b": tag,
             "tolerance": {"iou": tol.iou, "score": tol.score}}
    da, db = _common(base, other)
    if not (da and db):
        return {**entry, "status": "n/a", "mismatches": [], "reason": "one side has no detections (the cell failed)"}
    mismatches = parity.compare(da, db, tol)
    return {**entry, "status": "fail" if mismatches else "pass", "mismatches": mismatches,
            "images": len(set(da) | set(db)), "detections": sum(len(r["detections"]) for r in da.values())}


def serving_parity(cells: list[CellData], tolerances: Parity) -> list[dict[str, Any]]:
    """Each http cell's answers over HTTP against the same runner's single scenario (same model and engine; the
    same thread count where the run has it): the server must find what the runner finds without a socket."""
    tol = Tolerance(tolerances.iou, tolerances.score)
    singles: dict[tuple, list[CellData]] = {}
    for c in cells:
        if c.info.get("scenario") == "single":
            singles.setdefault(_engine_key(c), []).append(c)
    out = []
    for c in cells:
        if not c.serves or _engine_key(c) not in singles:
            continue
        single = sorted(singles[_engine_key(c)], key=lambda s: s.info["threads"] != c.info["threads"])[0]
        entry = {"runner": c.info["runner"], "scenario": c.info.get("label"), "model": c.info["model"],
                 "threads": c.info["threads"], "against": single.info.get("label", "single"),
                 "tolerance": {"iou": tol.iou, "score": tol.score}}
        da, db = c.detections(), single.detections()
        if not (da and db):
            out.append({**entry, "status": "n/a", "mismatches": [], "reason": "one side has no detections"})
            continue
        mismatches = parity.compare(da, db, tol)
        out.append({**entry, "status": "fail" if mismatches else "pass", "mismatches": mismatches,
                    "images": len(set(da) | set(db))})
    return out


def _engine_key(c: CellData) -> tuple:
    return (c.info["runner"], c.info["model"], c.info.get("engine", "opencv"), c.info.get("provider", ""))


def _common(a: CellData, b: CellData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two cells' detections; for video only the frames both processed (real-time play drops frames)."""
    da, db = a.detections(), b.detections()
    if scenario_type(a.info.get("scenario", "single")).frames:
        common = set(da) & set(db)
        da, db = {k: v for k, v in da.items() if k in common}, {k: v for k, v in db.items() if k in common}
    return da, db


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


def compare_cells(cells: list[CellData], pairs: list[tuple], parity_results: list[dict[str, Any]],
                  min_effect: float = verdicts.DEFAULT_MIN_EFFECT) -> list[dict[str, Any]]:
    """For each compared pair and matching cell: median latency (or ns per call), throughput and memory as
    paired log-ratios over rounds (orchestrator/statistics.py), p99 from order statistics; p-values
    Holm-corrected per metric; each tested entry gets one of the outcomes of orchestrator/verdicts.py."""
    entries = []
    for a_name, b_name in pairs:
        for a, b in matched(cells, a_name, b_name):
            entries += _compare_pair(a, a.summary, b, b.summary, parity_results)
    # Holm within each metric, over the comparisons that can get a verdict (enough rounds, same work, a quiet
    # machine): the family-wise error of the run's latency verdicts stays at alpha, without tests that can never
    # become verdicts diluting them.
    families: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        if e.get("p_value") is not None and e["rounds"] >= verdicts.MIN_ROUNDS and not _blocker(e):
            families.setdefault(e["metric"], []).append(e)
    for family in families.values():
        for e, adjusted in zip(family, statistics.holm([e["p_value"] for e in family])):
            e["p_value_holm"] = adjusted
    for e in entries:
        if "paired" in e:
            _decide(e, e.pop("paired"), min_effect)
    return entries


WORD = {"latency_p50": "faster", "ns_per_call": "faster", "ns_per_call_empty": "faster",
        "ns_per_call_mat": "faster", "throughput": "lower_throughput", "peak_rss": "smaller", "peak_pss": "smaller",
        "spawn_startup": "faster", "spawn_memory": "smaller", "tasks_per_s": "lower_throughput"}
HIGHER_IS_BETTER = ("throughput", "tasks_per_s")


def _decide(e: dict[str, Any], paired: statistics.Paired, min_effect: float) -> None:
    blocker = _blocker(e)
    if blocker:
        e.update(outcome="no_verdict", significant=False, **_says(blocker))
        return
    v = verdicts.decide(paired, e.get("p_value_holm"), min_effect, e["a"], e["b"], WORD[e["metric"]])
    winner = v.winner
    if e["metric"] in HIGHER_IS_BETTER and winner:  # the side with the lower throughput loses
        winner = e["b"] if winner == e["a"] else e["a"]
    e.update(outcome=v.outcome, winner=winner, rounds_needed=v.rounds_needed, significant=v.outcome == "faster",
             min_effect=min_effect, **_says(v.message))


def _says(m: Message) -> dict[str, Any]:
    """An entry's verdict: the English text, and the message the report renders in its language."""
    return {"verdict": m.text(), "message": m.as_dict()}


def _blocker(e: dict[str, Any]) -> Message | None:
    """Why a comparison gets no verdict at all, whatever its numbers: different work, or a busy machine."""
    checks = {f["check"]: f for f in e["fairness"]}
    if not checks["same detections"]["ok"]:
        return msg("no_verdict_parity")
    if not checks["both cells completed"]["ok"]:
        return msg("no_verdict_failed", detail=checks["both cells completed"]["detail"])
    if not checks["machine quiet"]["ok"]:
        return msg("no_verdict_busy", **checks["machine quiet"]["load"])
    return None


def _paired_entry(base: dict, metric: str, a: dict[int, float], b: dict[int, float], unit: str) -> dict[str, Any]:
    rounds = sorted(set(a) & set(b))
    p = statistics.paired_log_ratio([a[k] for k in rounds], [b[k] for k in rounds])
    la, lb = statistics.process_level(list(a.values())), statistics.process_level(list(b.values()))
    out = {**base, "metric": metric, "ratio": None, "ci95": None, "ci90": None, "p_value": None,
           "rounds": len(rounds), "unit": unit, "spread_a": la.spread if la else None,
           "spread_b": lb.spread if lb else None, "significant": False, "outcome": "no_verdict", "verdict": ""}
    if p is None:
        return {**out, **_says(msg("no_common_round"))}
    return {**out, "ratio": p.ratio, "ci95": p.ci95, "ci90": p.ci90, "p_value": p.p_value, "paired": p}


def _unit(a: CellData, b: CellData, rounds: int) -> str:
    per = [len(t) for c in (a, b) for t in c.measured() if len(t)]
    each = f"{min(per)}" if per and min(per) == max(per) else (f"{min(per)}-{max(per)}" if per else "0")
    return f"n = {rounds} rounds x {each} iterations"


def _compare_pair(a: CellData, sa: dict, b: CellData, sb: dict, parity_results: list[dict]) -> list[dict]:
    fairness = _fairness(sa, sb, a, b, parity_results)
    base = {**_base(a, b), "fair": all(f["ok"] for f in fairness), "fairness": fairness}
    kind = scenario_type(a.info.get("scenario", "single"))
    if kind.spawn_samples or kind.call_samples:  # samples, not iterations: each declared metric per process
        per_process = [(metric, lambda c, f=figure: c.process_spawn(f)) for metric, figure in kind.sample_metrics] + \
            [(metric, lambda c, x=call: c.process_call_medians(x)) for metric, call in kind.call_metrics]
        out = []
        for metric, values in per_process:
            ma, mb = values(a), values(b)
            if ma and mb:
                out.append(_paired_entry(base, metric, ma, mb, f"n = {len(set(ma) & set(mb))} rounds"))
        return out
    la, lb = a.process_medians(), b.process_medians()
    if not (la and lb):
        missing = next(s for s, values in ((sa, la), (sb, lb)) if not values)
        return [{**base, "metric": "latency_p50", "ratio": None, "ci95": None, "p_value": None, "significant": False,
                 "outcome": "no_verdict", **_says(msg("no_measurement", runner=missing["runner"],
                                                      error=missing["error"]))}]
    rounds = len(set(la) & set(lb))
    out = [_paired_entry(base, "latency_p50", la, lb, _unit(a, b, rounds)), _p99(base, a, b)]
    ta, tb = (a.process_throughput(), b.process_throughput()) if kind.throughput else ({}, {})
    if ta and tb:
        out.append(_paired_entry(base, "throughput", ta, tb, f"n = {len(set(ta) & set(tb))} rounds"))
    ma, mb = a.process_memory(), b.process_memory()
    for metric in ("peak_rss", "peak_pss"):
        va = {k: m[metric] for k, m in ma.items() if m[metric]}
        vb = {k: m[metric] for k, m in mb.items() if m[metric]}
        if va and vb:
            out.append(_paired_entry(base, metric, va, vb, f"n = {len(set(va) & set(vb))} rounds"))
    return out


def _p99(base: dict, a: CellData, b: CellData) -> dict[str, Any]:
    """p99 over the pooled iterations of each cell's completed processes, with a conservative, approximate ratio
    interval from order statistics, or withheld when the cells have too few iterations for one. Descriptive: p99
    gets no test of its own, and the test of the medians says nothing about it."""
    xa, xb = a.completed_ms(), b.completed_ms()
    if not (len(xa) and len(xb)):
        return {**base, "metric": "latency_p99", "ratio": None, "ci95": None, "p_value": None, "significant": None,
                "outcome": "descriptive", "n": [len(xa), len(xb)], **_says(msg("p99_no_process"))}
    ra, rb = statistics.describe(xa)["p99"], statistics.describe(xb)["p99"]
    ci = statistics.quantile_ratio_ci(xa, xb, 0.99)
    out = {**base, "metric": "latency_p99", "ratio": ra / rb, "ci95": ci, "p_value": None, "significant": None,
           "outcome": "descriptive", "n": [len(xa), len(xb)]}
    if ci is None:
        return {**out, **_says(msg("p99_too_few", n=min(len(xa), len(xb)),
                                   need=statistics.quantile_ci_min_n(0.99, 0.975)))}
    return {**out, **_says(msg("p99_ratio", ratio=ra / rb, lo=ci[0], hi=ci[1]))}


def _fairness(sa: dict, sb: dict, a: CellData, b: CellData, parity_results: list[dict]) -> list[dict[str, Any]]:
    checks = []
    oa, ob = sa["opencv"] or {}, sb["opencv"] or {}
    same_build = bool(oa) and oa.get("build_hash") == ob.get("build_hash")
    checks.append({"check": "same OpenCV build", "ok": same_build,
                   "detail": f"{sa['runner']}: {oa.get('version')} ({str(oa.get('build_hash'))[:12]}), "
                             f"{sb['runner']}: {ob.get('version')} ({str(ob.get('build_hash'))[:12]})"})
    ta, tb = sa["threads_observed"], sb["threads_observed"]
    ra, rb = sa["threads_requested"], sb["threads_requested"]
    policy = " (threads: pool, one policy for every runner)" if sa.get("threads_policy") == "pool" and \
        sb.get("threads_policy") == "pool" else ""
    modes = f", modes {sa.get('mode')} / {sb.get('mode')}" if sa.get("mode") else ""
    checks.append({"check": "same OpenCV threads", "ok": ta is not None and ta == tb and ra == rb,
                   "detail": f"configured {ra} / {rb}{policy}, reported by OpenCV {ta} / {tb}, "
                             f"OS threads seen {sa['os_threads_max']} / {sb['os_threads_max']}{modes}"})
    if sa.get("engine") == "onnxruntime" or sb.get("engine") == "onnxruntime":
        checks += _ort_checks(sa, sb)
    checks.append(_accelerator_check(sa, sb))
    checks.append(_quiet_check(a, b))
    key = (sa["scenario_label"], sa["model"], sa["threads"])
    match = next((p for p in parity_results if {p["a"], p["b"]} == {sa["runner"], sb["runner"]}
                  and (p["scenario"], p["model"], p["threads"]) == key), None)
    status = match["status"] if match else "n/a"
    if not scenario_type(sa["scenario"]).model:  # a micro-benchmark: nothing is detected, so nothing can differ
        checks.append({"check": "same detections", "ok": True, "detail": "no detections in this scenario"})
    else:
        checks.append({"check": "same detections", "ok": status == "pass",
                       "detail": f"parity {status}" + (f", {len(match['mismatches'])} mismatch(es)" if match and
                                                       match["mismatches"] else "")})
    checks.append({"check": "both cells completed", "ok": sa["status"] == "ok" and sb["status"] == "ok",
                   "detail": f"{sa['runner']}: {sa['status']}, {sb['runner']}: {sb['status']}"})
    return checks


def _ort_checks(sa: dict, sb: dict) -> list[dict[str, Any]]:
    """Same ONNX Runtime release, and the same session options, on both sides. A Python runner runs the ORT
    linked into its wheel's extension module, the native runners load the wheel's libonnxruntime: the same
    release and build, not the same file, and the check says so rather than calling it "same library"."""
    oa, ob = sa.get("ort") or {}, sb.get("ort") or {}
    if not (oa and ob):
        versions = [f"{s['runner']}: {o.get('version', 'no ORT')}" for s, o in ((sa, oa), (sb, ob))]
        return [{"check": "same ONNX Runtime release", "ok": False, "detail": ", ".join(versions)}]
    same = oa.get("version") is not None and oa.get("version") == ob.get("version")
    ha, hb = str(oa.get("library_sha256")), str(ob.get("library_sha256"))
    if ha == hb:
        how = f"the same library ({ha[:12]})"
    else:
        linked = [s["runner"] for s, o in ((sa, oa), (sb, ob)) if o.get("linked")]
        how = (f"{'same release, ' if same else ''}{' and '.join(linked)} links its own copy" if linked
               else "different library files") + f" ({ha[:12]} / {hb[:12]})"
    detail = f"{sa['runner']}: {oa.get('version')}, {sb['runner']}: {ob.get('version')}; {how}"
    options_same = oa.get("session_options") is not None and oa.get("session_options") == ob.get("session_options")
    return [{"check": "same ONNX Runtime release", "ok": same, "detail": detail},
            {"check": "same ONNX Runtime session options", "ok": options_same,
             "detail": f"{oa.get('session_options')}" if options_same else
                       f"{sa['runner']}: {oa.get('session_options')}, {sb['runner']}: {ob.get('session_options')}"}]


def _quiet_check(a: CellData, b: CellData) -> dict[str, Any]:
    """Nothing else used the CPU while the two cells' processes ran (orchestrator/quiet.py)."""
    busy = set(a.busy_rounds()) | set(b.busy_rounds())
    loads = [m["machine"] for c in (a, b) for m in c.processes if m.get("machine")]
    if not loads:
        return {"check": "machine quiet", "ok": True, "detail": "not measured in this run"}
    worst = max(m["other_cores"] for m in loads)
    threshold = loads[0].get("threshold", quiet.BUSY_CORES)
    if busy:
        return {"check": "machine quiet", "ok": False,
                "detail": f"other work used up to {worst:.2f} cores in {len(busy)} round(s) "
                          f"(threshold {threshold:g})",
                "load": {"worst": worst, "rounds": len(busy), "threshold": threshold}}
    return {"check": "machine quiet", "ok": True,
            "detail": f"other work used at most {worst:.2f} cores (threshold {threshold:g})"}


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
    if sa.get("engine") == "onnxruntime":
        want = ORT_PROVIDER_NAMES.get(sa.get("provider", ""), "?")
        used = {s["runner"]: ((s.get("ort") or {}).get("session_providers") or ["none reported"])[0] for s in (sa, sb)}
        if not problems:  # both completed: each session's first provider must be the one asked for
            problems = [f"{runner}: the session uses {got}, not {want}" for runner, got in used.items() if got != want]
        what = f"provider {sa.get('provider')} used ({', '.join(f'{r}: {p}' for r, p in used.items())}), no fallback"
    else:
        what = f"target {requested} available on both sides, no fallback"
    return {"check": "requested target used", "ok": not problems,
            "detail": "; ".join(problems) if problems else what}
