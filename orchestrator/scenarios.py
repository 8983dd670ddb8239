"""Scenarios: what one iteration is (docs/protocol.md, "Scenarios"), as configured and as expanded into cells.

A config has `scenario` (one mapping) or `scenarios` (a list); each names a `type` and its own warm-up,
iteration and repeat counts. `workers` (concurrency, server) and `rates` (server) are lists that expand into one
cell per value, so that a run scans them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .registry import PYTHON_MODES, SCENARIO_TYPES, TYPES
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

    def variants(self) -> list[dict[str, Any]]:
        """The cells this scenario makes per runner, model and thread count: one per worker count and rate."""
        if self.type == "concurrency":
            return [{"workers": w} for w in self.workers]
        if self.type == "server":
            return [{"workers": w, "rate": r} for w in self.workers for r in self.rates]
        return [{}]


def label(scenario: str, variant: dict[str, Any]) -> str:
    """A short, readable name of one scenario variant: `concurrency w=2`, `server w=2 r=8/s`."""
    parts = [scenario]
    if "workers" in variant:
        parts.append(f"w={variant['workers']}")
    if "rate" in variant:
        parts.append(f"r={variant['rate']:g}/s")
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
    if kind in ("concurrency", "server"):
        keys: dict[str, Any] = {"workers": _int_list(doc, kp + ("workers",), s.get("workers", [1, 2]), 1),
                                "python_mode": choice(doc, kp + ("python_mode",), PYTHON_MODES, "threads")}
        if kind == "server":
            if "rates" not in s:
                raise doc.fail(kp + ("rates",), "missing; a list of offered request rates per second, e.g. [2, 4]")
            rates = s["rates"] if isinstance(s["rates"], list) else [s["rates"]]
            keys["rates"] = tuple(number(doc, kp + ("rates",), r, 0.001, None) for r in rates)
            bound = s.get("p99_bound_ms")
            keys["p99_bound_ms"] = None if bound is None else number(doc, kp + ("p99_bound_ms",), bound, 0, None)
            keys["seed"] = integer(doc, kp + ("seed",), s.get("seed", 1), 0)
        return keys
    if kind == "batch":
        return {"batch": integer(doc, kp + ("batch",), s.get("batch", 4), 1)}
    if kind == "call_overhead":
        return {"calls_per_sample": integer(doc, kp + ("calls_per_sample",), s.get("calls_per_sample", 10000), 1)}
    return {}


def _bool(doc: Doc, kp: tuple, value: Any) -> bool:
    if not isinstance(value, bool):
        raise doc.fail(kp, f"expected true or false, got {value!r}")
    return value


def _int_list(doc: Doc, kp: tuple, value: Any, low: int) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise doc.fail(kp, "expected at least one value")
    return tuple(dict.fromkeys(integer(doc, kp, v, low) for v in values))


def resolved(s: Scenario) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name, "type": s.type, "warmup": "auto" if s.warmup is None else s.warmup,
                           "iterations": s.iterations, "repeats": s.repeats, "min_time_s": s.min_time_s}
    if s.type == "video":
        out.update(video=str(s.video), realtime=s.realtime)
    if s.type in ("concurrency", "server"):
        out.update(workers=list(s.workers), python_mode=s.python_mode)
    if s.type == "server":
        out.update(rates=list(s.rates), p99_bound_ms=s.p99_bound_ms, seed=s.seed)
    if s.type == "batch":
        out.update(batch=s.batch)
    if s.type == "call_overhead":
        out.update(calls_per_sample=s.calls_per_sample)
    return out
