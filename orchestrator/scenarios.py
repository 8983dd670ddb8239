"""Scenarios: what one iteration is (docs/protocol.md, "Scenarios"), as configured and as expanded into cells.

A config has `scenario` (one mapping) or `scenarios` (a list); each names a `type` and its own warm-up,
iteration and repeat counts. This module parses the common keys; each type's own keys, the cells it expands into
and their labels are its kind's (orchestrator/kinds/<type>.py), with the checks shared by several kinds here.
`workers` (concurrency, server, spawn, http), `rates` (server, http) and `clients` (http) are lists that expand
into one cell per value, so that a run scans them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .kinds import KINDS
from .registry import SCENARIO_TYPES, TYPES
from .yamldoc import Doc, choice, integer, mapping, number, valid_name

COMMON_KEYS = {"name", "type", "warmup", "iterations", "repeats", "min_time_s"}


@dataclass(frozen=True)
class Scenario:
    """A scenario as configured: the common keys, then each type's own (its kind parses them, orchestrator/kinds/)."""

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
    # The keys a kind parses that are none of the fields above, as s.extra["key"]: a scenario type added later
    # needs no field here.
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def variants(self) -> list[dict[str, Any]]:
        """The cells this scenario makes per runner, model and thread count: one per worker count and rate (or
        client count: http), as its kind says."""
        return KINDS[self.type].variants(self)


FIELDS = frozenset(f.name for f in fields(Scenario)) - {"extra"}


def label(scenario: Scenario, variant: dict[str, Any]) -> str:
    """A short, readable name of one scenario variant: `concurrency w=2`, `server w=2 r=8/s`."""
    return " ".join([scenario.name, *KINDS[scenario.type].label_parts(variant)])


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
    own = KINDS[kind].parse(doc, kp, s)
    return Scenario(**common, **{k: v for k, v in own.items() if k in FIELDS},
                    extra={k: v for k, v in own.items() if k not in FIELDS})


def rates(doc: Doc, kp: tuple, s: dict[str, Any], required: bool, high: float | None = None) -> tuple[float, ...]:
    """`rates` (server, http): offered request rates per second, each a cell."""
    if "rates" not in s:
        if required:
            raise doc.fail(kp + ("rates",), "missing; a list of offered request rates per second, e.g. [2, 4]")
        return ()
    values = s["rates"] if isinstance(s["rates"], list) else [s["rates"]]
    return tuple(dict.fromkeys(number(doc, kp + ("rates",), r, 0.001, high) for r in values))


def p99_bound(doc: Doc, kp: tuple, s: dict[str, Any]) -> float | None:
    """`p99_bound_ms` (server, http): the latency a cell's p99 must meet; None when not set."""
    bound = s.get("p99_bound_ms")
    return None if bound is None else number(doc, kp + ("p99_bound_ms",), bound, 0, None)


def flag(doc: Doc, kp: tuple, value: Any) -> bool:
    if not isinstance(value, bool):
        raise doc.fail(kp, f"expected true or false, got {value!r}")
    return value


def int_list(doc: Doc, kp: tuple, value: Any, low: int, high: int | None = None) -> tuple[int, ...]:
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
    out.update(KINDS[s.type].resolved(s))
    return out
