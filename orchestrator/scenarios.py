"""Scenarios: what one iteration is (docs/protocol.md, "Scenarios"), as configured and as expanded into cells.

A config has `scenario` (one mapping) or `scenarios` (a list); each names a `type` and its own warm-up,
iteration and repeat counts. `workers` (concurrency, server, spawn, http), `rates` (server, http) and `clients`
(http) are lists that expand into one cell per value, so that a run scans them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .registry import SCENARIO_TYPES, TYPES, python_modes
from .yamldoc import Doc, choice, existing_file, integer, mapping, number, valid_name

COMMON_KEYS = {"name", "type", "warmup", "iterations", "repeats", "min_time_s"}


@dataclass(frozen=True)
class Scenario:
    name: str
    type: str
    warmup: int | None  # None: `auto`, steady state detected from the stream (orchestrator/warmup.py)
    iterations: int
    repeats: int
    min_time_s: float  # a cell measuring less than this in total is flagged, like hyperfine's 3 s
    video: Path | None = None
    realtime: bool = False
    workers: tuple[int, ...] = (1,)
    python_mode: str = "threads"
    rates: tuple[float, ...] = ()
    p99_bound_ms: float | None = None
    seed: int = 1
    batch: int = 1
    calls_per_sample: int = 10000
    tasks_per_worker: int = 10  # spawn: tasks = workers x this
    task_sleep_ms: float = 10.0  # spawn: the article's 10 ms per task
    print: bool = False  # spawn: each task writes the article's line to stderr
    queue: int = 1024  # http: requests that may wait for a network; beyond, 503
    max_body_mb: float = 16.0  # http: larger request bodies get 413
    clients: tuple[int, ...] = ()  # http: closed-loop client counts
    duration_s: float = 5.0  # http: how long vegeta sends, per cell
    request_timeout_s: float = 30.0  # http: a request not answered by then is a timeout

    def variants(self) -> list[dict[str, Any]]:
        """The cells this scenario makes per runner, model and thread count: one per worker count and rate (or
        client count: http)."""
        if self.type in ("concurrency", "spawn"):
            return [{"workers": w} for w in self.workers]
        if self.type == "server":
            return [{"workers": w, "rate": r} for w in self.workers for r in self.rates]
        if self.type == "http":
            return [{"workers": w, **load} for w in self.workers
                    for load in [{"rate": r} for r in self.rates] + [{"clients": c} for c in self.clients]]
        return [{}]


def label(scenario: str, variant: dict[str, Any]) -> str:
    """A short, readable name of one scenario variant: `concurrency w=2`, `server w=2 r=8/s`."""
    parts = [scenario]
    if "workers" in variant:
        parts.append(f"w={variant['workers']}")
    if "rate" in variant:
        parts.append(f"r={variant['rate']:g}/s")
    if "clients" in variant:
        parts.append(f"c={variant['clients']}")
    return " ".join(parts)


def parse_all(doc: Doc) -> list[Scenario]:
    data = doc.data
    if "scenario" in data and "scenarios" in data:
        raise doc.fail(("scenarios",), "use either `scenario` (one) or `scenarios` (a list), not both")
    if "scenarios" not in data:
        return [parse_one(doc, ("scenario",))]
    items = data["scenarios"]
    if not isinstance(items, list) or not items:
        raise doc.fail(("scenarios",), "expected a non-empty list of scenario mappings")
    out = [parse_one(doc, ("scenarios", i)) for i in range(len(items))]
    names = [s.name for s in out]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise doc.fail(("scenarios", i, "name"), f"the scenario name {n!r} is used twice; give each a `name`")
    return out


def parse_one(doc: Doc, kp: tuple) -> Scenario:
    raw = doc.data.get(kp[0]) if len(kp) == 1 else doc.data[kp[0]][kp[1]]
    if raw is not None and not isinstance(raw, dict):
        raise doc.fail(kp, "expected a mapping such as {type: single, iterations: 30}")
    kind = choice(doc, kp + ("type",), TYPES, "single")
    s = mapping(doc, kp, COMMON_KEYS | SCENARIO_TYPES[kind].config_keys)
    warmup = s.get("warmup", 3)
    common = dict(
        name=valid_name(doc, kp + ("name",), s.get("name", kind)),
        type=kind,
        warmup=None if warmup == "auto" else integer(doc, kp + ("warmup",), warmup, 0),
        iterations=integer(doc, kp + ("iterations",), s.get("iterations", 10), 1),
        repeats=integer(doc, kp + ("repeats",), s.get("repeats", 10), 1),
        min_time_s=number(doc, kp + ("min_time_s",), s.get("min_time_s", 3), 0, None),
    )
    return Scenario(**common, **_type_keys(doc, kp, kind, s))


def _type_keys(doc: Doc, kp: tuple, kind: str, s: dict[str, Any]) -> dict[str, Any]:
    if kind == "video":
        return {"video": existing_file(doc, kp + ("video",), s.get("video"), "run `make data` to fetch vtest.avi"),
                "realtime": _bool(doc, kp + ("realtime",), s.get("realtime", False))}
    if kind in ("concurrency", "server", "spawn", "http"):
        default, high = WORKERS.get(kind, ([1, 2], None))
        keys: dict[str, Any] = {"workers": _int_list(doc, kp + ("workers",), s.get("workers", default), 1, high),
                                "python_mode": choice(doc, kp + ("python_mode",), python_modes(kind), "threads")}
        if kind == "server":
            keys["rates"] = _rates(doc, kp, s, required=True)
            keys["p99_bound_ms"] = _bound(doc, kp, s)
            keys["seed"] = integer(doc, kp + ("seed",), s.get("seed", 1), 0)
        if kind == "spawn":
            keys.update(_spawn_keys(doc, kp, s, keys["workers"]))
        if kind == "http":
            keys.update(_http_keys(doc, kp, s))
        return keys
    if kind == "batch":
        return {"batch": integer(doc, kp + ("batch",), s.get("batch", 4), 1)}
    if kind == "call_overhead":
        return {"calls_per_sample": integer(doc, kp + ("calls_per_sample",), s.get("calls_per_sample", 10000), 1)}
    return {}


SPAWN_MAX_WORKERS = 100_000  # docs/protocol.md's bounds of a spawn spec
SPAWN_MAX_TASKS = 10_000_000
HTTP_MAX_WORKERS = 1024
HTTP_MAX_CLIENTS = 10_000  # every load is bounded: in clients, rate, duration and per-request timeout
HTTP_MAX_RATE = 100_000.0
HTTP_MAX_DURATION_S = 600.0
WORKERS = {"spawn": ([1000], SPAWN_MAX_WORKERS), "http": ([1], HTTP_MAX_WORKERS)}  # (default, most)


def _rates(doc: Doc, kp: tuple, s: dict[str, Any], required: bool, high: float | None = None) -> tuple[float, ...]:
    if "rates" not in s:
        if required:
            raise doc.fail(kp + ("rates",), "missing; a list of offered request rates per second, e.g. [2, 4]")
        return ()
    rates = s["rates"] if isinstance(s["rates"], list) else [s["rates"]]
    return tuple(dict.fromkeys(number(doc, kp + ("rates",), r, 0.001, high) for r in rates))


def _bound(doc: Doc, kp: tuple, s: dict[str, Any]) -> float | None:
    bound = s.get("p99_bound_ms")
    return None if bound is None else number(doc, kp + ("p99_bound_ms",), bound, 0, None)


def _spawn_keys(doc: Doc, kp: tuple, s: dict[str, Any], workers: tuple[int, ...]) -> dict[str, Any]:
    per = integer(doc, kp + ("tasks_per_worker",), s.get("tasks_per_worker", 10), 1)
    if max(workers) * per > SPAWN_MAX_TASKS:
        raise doc.fail(kp + ("tasks_per_worker",), f"{max(workers)} workers x {per} tasks is more than "
                                                   f"{SPAWN_MAX_TASKS} tasks; lower tasks_per_worker")
    return {"tasks_per_worker": per,
            "task_sleep_ms": number(doc, kp + ("task_sleep_ms",), s.get("task_sleep_ms", 10), 0, 10_000),
            "print": _bool(doc, kp + ("print",), s.get("print", False))}


def _http_keys(doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
    rates = _rates(doc, kp, s, required=False, high=HTTP_MAX_RATE)
    given = s.get("clients") not in (None, [])  # config.yaml of a run writes [] for none
    clients = _int_list(doc, kp + ("clients",), s["clients"], 1, HTTP_MAX_CLIENTS) if given else ()
    if not rates and not clients:
        raise doc.fail(kp + ("rates",), "an http scenario needs `rates` (open loop, requests per second) or "
                                        "`clients` (closed loop, concurrent clients), or both")
    return {"rates": rates, "clients": clients, "p99_bound_ms": _bound(doc, kp, s),
            "queue": integer(doc, kp + ("queue",), s.get("queue", 1024), 0),
            "max_body_mb": number(doc, kp + ("max_body_mb",), s.get("max_body_mb", 16), 0.001, 1024),
            "duration_s": number(doc, kp + ("duration_s",), s.get("duration_s", 5), 0.1, HTTP_MAX_DURATION_S),
            "request_timeout_s": number(doc, kp + ("request_timeout_s",), s.get("request_timeout_s", 30), 0.1,
                                        HTTP_MAX_DURATION_S)}


def _bool(doc: Doc, kp: tuple, value: Any) -> bool:
    if not isinstance(value, bool):
        raise doc.fail(kp, f"expected true or false, got {value!r}")
    return value


def _int_list(doc: Doc, kp: tuple, value: Any, low: int, high: int | None = None) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise doc.fail(kp, "expected at least one value")
    out = tuple(dict.fromkeys(integer(doc, kp, v, low) for v in values))
    if high is not None and max(out) > high:
        raise doc.fail(kp, f"{max(out)} is more than {high}, the most this scenario runs")
    return out


def resolved(s: Scenario) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name, "type": s.type, "warmup": "auto" if s.warmup is None else s.warmup,
                           "iterations": s.iterations, "repeats": s.repeats, "min_time_s": s.min_time_s}
    if s.type == "video":
        out.update(video=str(s.video), realtime=s.realtime)
    if s.type in ("concurrency", "server", "spawn", "http"):
        out.update(workers=list(s.workers), python_mode=s.python_mode)
    if s.type == "server":
        out.update(rates=list(s.rates), p99_bound_ms=s.p99_bound_ms, seed=s.seed)
    if s.type == "spawn":
        out.update(tasks_per_worker=s.tasks_per_worker, task_sleep_ms=s.task_sleep_ms, print=s.print)
    if s.type == "http":
        out.update(rates=list(s.rates), clients=list(s.clients), p99_bound_ms=s.p99_bound_ms, queue=s.queue,
                   max_body_mb=s.max_body_mb, duration_s=s.duration_s, request_timeout_s=s.request_timeout_s)
    if s.type == "batch":
        out.update(batch=s.batch)
    if s.type == "call_overhead":
        out.update(calls_per_sample=s.calls_per_sample)
    return out
