"""Holding a published claim against this run, for what the claim says.

A claim gives two numbers measured on someone else's machine ("Python 48.2 ms, Go 42.7 ms"). Two views:

- The ratio a / b against the ratio measured here, from the paired per-process values with their t interval
  (orchestrator/statistics.py): memory, throughput, ns per call, and latency.
- For latency, also the absolute difference of the language's own work: everything but the inference phase
  (decode, preprocess, postprocess), a - b in milliseconds per image, paired per round. This is the view that
  travels: the article measured on a GPU box, where inference takes another time than on this machine's CPU, so
  its ratio of totals mixes the engine's speed into the language's; the milliseconds that the language adds
  around the same native call do not depend on the accelerator. A latency claim's verdict is this view's; the
  ratio view is shown beside it.

Verdicts, checked in this order: `not comparable` (a side is missing, the runners did not find the same
objects, or the run measured something else than the claim is about), `not confirmed` (the interval contains
1, or 0 for a difference: no difference shown here), `consistent` (the claimed value is inside the interval),
`same direction, different size`, `contradicted` (the interval is on the other side).

A claim about N workers (`workers: 1000`) is checked only against cells with that many workers, one about C
clients (`clients: 1000`) only against http cells with that many; the article's start-up, memory and tasks-per-
second figures of 1000 sleeping workers (`startup`, `spawn_memory`, `tasks_per_s`) are judged on the spawn
scenario, which runs its code, never on the concurrency scenario's start-up, which loads one network per worker: a
different quantity. `spawn_memory` is the memory the N workers add (RSS with them less RSS before them): the
runner's process also holds OpenCV, which the article's bare programs did not. As with comparisons, a claim is
judged only from at least verdicts.MIN_ROUNDS rounds, never from rounds run beside other work, and a p99 claim
only where n supports an order-statistic interval. A call-cost claim uses the `mat` call (a new Mat, the call, its
release: what a benchmark of "one binding call" most likely timed) when the runners measured it, and says so in
its detail.
"""

from __future__ import annotations

from typing import Any, Callable

from . import statistics, verdicts
from .columns import IterationTable
from .config import Claim
from .messages import Message, msg
from .protocol import PHASES
from .registry import claim_scenario, scenario_type
from .rundata import CellData

OWN_WORK = tuple(p for p in PHASES if p != "inference")
# The spawn scenario's claim metrics: the figure of each sample (rundata.spawn_figure), its unit, what it is.
SPAWN = {"startup": ("startup_ms", "ms", "time to start the workers"),
         "spawn_memory": ("rss_added_mb", "MiB", "memory the workers add"),
         "tasks_per_s": ("tasks_per_s", "tasks/s", "sleeping tasks per second")}


def check(claims: list[Claim], cells: list[CellData], environment: dict[str, Any] | None = None
          ) -> list[dict[str, Any]]:
    """Each claim against the cells (their summaries attached) of this run, on the machine `environment` says."""
    return [_finish(_check_one(c, cells, environment or {})) for c in claims]


def _finish(out: dict[str, Any]) -> dict[str, Any]:
    """summary.json's form of a claim: each detail as its English text and its message (for the report)."""
    for holder in (out, out.get("ratio_view") or {}):
        detail = holder.get("detail")
        if isinstance(detail, Message):
            holder["detail"], holder["detail_message"] = detail.text(), detail.as_dict()
    return out


def _check_one(claim: Claim, cells: list[CellData], environment: dict[str, Any]) -> dict[str, Any]:
    claimed = claim.a_value / claim.b_value if claim.b_value else None
    out = {"claim": claim.claim, "metric": claim.metric, "a": claim.a, "b": claim.b,
           "claimed": {"a": claim.a_value, "b": claim.b_value, "ratio": claimed,
                       "difference": claim.a_value - claim.b_value},
           "measured": None, "own_work": None, "view": None, "model": None, "verdict": "not comparable",
           "detail": ""}
    metric = claim.metric
    here = " / ".join(str(environment.get(k)) for k in ("cpu_model", "gpu") if environment.get(k))
    if claim.hardware and claim.hardware.lower() not in here.lower():
        out["detail"] = msg("claim_hardware", hardware=claim.hardware, here=here or "unknown")
        return out
    pair, why = _find_pair(claim, cells)
    if pair is None:
        out["detail"] = why
        return out
    (ca, sa), (cb, sb) = pair
    out["model"] = sa["model"]
    if metric != "ns_per_call" and "fail" in (sa["parity"]["status"], sb["parity"]["status"]):
        out["detail"] = msg("claim_parity")
        return out
    busy = set(ca.busy_rounds()) | set(cb.busy_rounds())
    if busy:
        out["detail"] = msg("claim_busy", rounds=len(busy))
        return out
    if metric == "latency_p99":
        return _p99(out, ca, cb, claimed)
    per_a, per_b, unit, what = _per_process(metric, ca, cb)
    rounds = sorted(set(per_a) & set(per_b))
    paired = statistics.paired_log_ratio([per_a[k] for k in rounds], [per_b[k] for k in rounds])
    if paired is None or paired.ci95 is None or paired.n < verdicts.MIN_ROUNDS:
        out["detail"] = msg("claim_rounds", n=paired.n if paired else 0, what=what, min=verdicts.MIN_ROUNDS)
        return out
    la = statistics.process_level(list(per_a.values()))
    lb = statistics.process_level(list(per_b.values()))
    out["measured"] = {"a": la.center if la else None, "b": lb.center if lb else None, "ratio": paired.ratio,
                       "ci95": paired.ci95, "unit": unit, "rounds": paired.n, "what": what}
    out["view"] = "ratio"
    out["verdict"], out["detail"] = _verdict(claimed, *paired.ci95, 1.0, "claim_ratio_ci")
    if metric == "ns_per_call":
        out["detail"] = out["detail"].followed_by(msg("what", what=what))
    if metric in ("latency_mean", "latency_p50") and not (claim.a_engine or claim.b_engine):
        _own_work(out, ca, cb)  # an engine claim is about the inference itself: no own-work view
    return out


def _p99(out: dict[str, Any], ca: CellData, cb: CellData, claimed: float | None) -> dict[str, Any]:
    """p99 has no per-process value: the pooled p99s with their order-statistic interval, or no verdict."""
    xa, xb = ca.completed_ms(), cb.completed_ms()
    ci = statistics.quantile_ratio_ci(xa, xb, 0.99) if len(xa) and len(xb) else None
    if ci is None:
        out["detail"] = msg("p99_too_few", n=min(len(xa), len(xb)), need=statistics.quantile_ci_min_n(0.99, 0.975))
        return out
    pa, pb = statistics.describe(xa)["p99"], statistics.describe(xb)["p99"]
    out["measured"] = {"a": pa, "b": pb, "ratio": pa / pb, "ci95": ci, "unit": "ms", "rounds": None,
                       "what": "pooled p99"}
    out["view"] = "ratio"
    out["verdict"], out["detail"] = _verdict(claimed, *ci, 1.0, "claim_ratio_order")
    return out


def _own_work(out: dict[str, Any], ca: CellData, cb: CellData) -> None:
    """The latency claim judged by the language's own work: a - b of (latency - inference), ms per image."""
    def own(table: IterationTable) -> float:
        return statistics.median(table.own_ns(OWN_WORK)) / 1e6
    a, b = ca.per_process(own), cb.per_process(own)
    rounds = sorted(set(a) & set(b))
    diff = statistics.paired_difference([a[k] for k in rounds], [b[k] for k in rounds])
    if diff is None:
        return
    out["own_work"] = {"a": statistics.median(list(a.values())), "b": statistics.median(list(b.values())),
                       "difference": diff["mean"], "ci95": diff["ci95"], "rounds": diff["n"], "unit": "ms"}
    verdict, detail = _verdict(out["claimed"]["difference"], *diff["ci95"], 0.0, "claim_own_work")
    out["ratio_view"] = {"verdict": out["verdict"], "detail": out["detail"]}
    out["view"] = "own work"
    out["verdict"] = verdict
    out["detail"] = detail.followed_by(msg("own_work_why", ratio_view=msg("word", word=out["ratio_view"]["verdict"])))


def _per_process(metric: str, ca: CellData, cb: CellData) -> tuple[dict[int, float], dict[int, float], str, str]:
    """Per round: the value each process measured for the claim's metric, its unit and a name for it."""
    if metric == "ns_per_call":
        call = "mat" if ca.process_call_medians("mat") and cb.process_call_medians("mat") else "opencv"
        return ca.process_call_medians(call), cb.process_call_medians(call), "ns", f"ns per '{call}' call"
    if metric == "peak_rss":
        def mem(c: CellData) -> dict[int, float]:
            return {k: m["peak_rss"] for k, m in c.process_memory().items()}
        return mem(ca), mem(cb), "MiB", "peak RSS"
    if metric == "fps":
        return ca.process_fps(), cb.process_fps(), "frames/s", "frames per second"
    if metric == "throughput":
        return ca.process_throughput(), cb.process_throughput(), "images/s", "throughput"
    if metric == "requests_per_s":
        return ca.process_throughput(), cb.process_throughput(), "requests/s", "answered requests per second"
    if metric in SPAWN:
        figure, unit, what = SPAWN[metric]
        return ca.process_spawn(figure), cb.process_spawn(figure), unit, what
    stat: Callable[[IterationTable], float] = {
        "latency_mean": lambda t: float(t.latency_ns().mean()) / 1e6,
        "latency_p50": lambda t: statistics.median(t.latency_ns()) / 1e6,
    }[metric]
    return ca.per_process(stat), cb.per_process(stat), "ms", metric.replace("_", " ")


def _find_pair(claim: Claim, cells: list[CellData]
               ) -> tuple[tuple | None, Message | None]:
    """The first two cells of the claim's runners that share a scenario variant, model and thread count and
    carry the claim's metric; with `workers`, only cells with that many workers."""
    kind = claim_scenario(claim.metric)
    usable = [(c, c.summary) for c in cells if (c.summary["scenario"] == kind if kind else
                                                len(c.measured_ms()) and scenario_type(c.summary["scenario"]).model)]
    if kind and not usable:
        return None, msg("claim_no_scenario", scenario=kind, metric=claim.metric)
    workers = claim.workers
    if workers is not None:
        measured = sorted({s.get("workers") for _, s in usable if s.get("workers")})
        usable = [(c, s) for c, s in usable if s.get("workers") == workers]
        if not usable:
            at = ", ".join(str(w) for w in measured) or "none"
            return None, msg("claim_workers", workers=workers, measured=at)
    if claim.clients is not None:
        measured = sorted({s.get("clients") for _, s in usable if s.get("clients")})
        usable = [(c, s) for c, s in usable if s.get("clients") == claim.clients]
        if not usable:
            at = ", ".join(str(n) for n in measured) or "none"
            return None, msg("claim_clients", clients=claim.clients, measured=at)
    if kind and scenario_type(kind).workers:  # the largest pool first
        usable.sort(key=lambda cs: -cs[1].get("workers", 0))
    if claim.a_engine or claim.b_engine:
        return _engine_pair(claim, usable)
    usable = [(c, s) for c, s in usable if _engine_of(s) == "opencv"]  # the article's claims are about OpenCV
    by = {(s["runner"], s["scenario_label"], s["model"], s["threads"]): (c, s) for c, s in usable}
    for (runner, scenario, model, threads), a in by.items():
        other = (claim.b, scenario, model, threads)
        if runner == claim.a and claim.model in (None, model) and other in by:
            return (a, by[other]), None
    return None, msg("claim_no_pair", a=claim.a, b=claim.b)


def _engine_of(s: dict[str, Any]) -> str:
    return "opencv" if s.get("engine", "opencv") == "opencv" else f"onnxruntime:{s.get('provider')}"


def _engine_pair(claim: Claim, usable: list[tuple]) -> tuple[tuple | None, Message | None]:
    """An engine claim: runner a on a_engine and runner b on b_engine, same scenario, variant, model, threads."""
    want = {"a": claim.a_engine or "opencv", "b": claim.b_engine or "opencv"}
    measured = sorted({_engine_of(s) for _, s in usable})
    for side in ("a", "b"):
        if want[side] not in measured:
            return None, msg("claim_engine_absent", engine=want[side], measured=", ".join(measured) or "none")
    by = {(s["runner"], _engine_of(s), s["scenario_name"], repr(s["variant"]), s["model"], s["threads"]): (c, s)
          for c, s in usable}
    for (runner, engine, *rest), a in by.items():
        other = (claim.b, want["b"], *rest)
        if runner == claim.a and engine == want["a"] and claim.model in (None, rest[2]) and other in by:
            return (a, by[other]), None
    return None, msg("claim_no_pair", a=f"{claim.a} ({want['a']})", b=f"{claim.b} ({want['b']})")


def _verdict(claimed: float | None, lo: float, hi: float, null: float, code: str) -> tuple[str, Message]:
    """`null` is 1 for a ratio, 0 for a difference; `code` the message that names the interval."""
    if claimed is None:
        return "not comparable", msg("claim_b_zero")
    text = msg(code, claimed=claimed, lo=lo, hi=hi)
    if lo <= null <= hi:
        return "not confirmed", text.followed_by(msg("none_shown"))
    if lo <= claimed <= hi:
        return "consistent", text
    claimed_side = (claimed > null) - (claimed < null)
    measured_side = 1 if lo > null else -1
    if claimed_side == measured_side:
        return "same direction, different size", text
    return "contradicted", text
