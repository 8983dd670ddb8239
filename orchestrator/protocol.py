"""Parsing and checking the runners' JSON Lines output (docs/protocol.md, version 1).

Parsing never raises on bad input: a runner that prints garbage is a failed cell with a clear reason, and every
valid record before the garbage is kept. Three layers of checks, each adding to `Stream.problems`:
- each record alone (`check_record`): its keys and their JSON types, total_ns = the sum of the phases;
- the order of records (`_Order`, while parsing): hello first, loads before iterations, result before end,
  nothing after end or error, one detections record per image;
- the stream against the spec that started it (`validate`): the scenario's own keys (a server iteration without
  latency_ns would report service time as latency), the counts and indices of iterations, loads and samples,
  the image each iteration processed, the result record, the end record's counts, a detections record for
  every image.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from .columns import MAX_NS, OPTIONAL, PHASES, IterationTable
from .engines import ORT_PROVIDER_NAMES
from .registry import SCENARIO_TYPES

try:  # orjson parses a line about six times faster; the standard library's reader where it is not installed
    from orjson import loads  # (the C++ end-to-end check may run on a Python with numpy but without orjson)
except ImportError:  # pragma: no cover
    from json import loads

PROTOCOL_VERSION = 1
MAX_BYTES = 1 << 44  # 16 TiB: no runner's memory is larger

_INT = (int,)
_NUM = (int, float)
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "hello": {"protocol": _INT, "runner": (str,), "language": (str,), "language_version": (str,),
              "opencv_version": (str,), "opencv_build_hash": (str,), "opencv_build_info": (str,),
              "threads": _INT, "pid": _INT, "backend": (str,), "target": (str,), "available_targets": (list,)},
    "load": {"model": (str,), "load_ns": _INT},
    "iteration": {"index": _INT, "warmup": (bool,), "image": (str,), "phases_ns": (dict,), "total_ns": _INT,
                  "detections": _INT},
    "detections": {"image": (str,), "width": _INT, "height": _INT, "detections": (list,)},
    "end": {"iterations": _INT, "warmup": _INT, "peak_rss_bytes": _INT},
    "error": {"code": (str,), "message": (str,), "fatal": (bool,)},
    "result": {"scenario": (str,)},
    "call_sample": {"call": (str,), "index": _INT, "warmup": (bool,), "calls": _INT, "total_ns": _INT},
    "spawn_sample": {"index": _INT, "warmup": (bool,), "workers": _INT, "tasks": _INT, "startup_ns": _INT,
                     "tasks_ns": _INT, "rss_before_bytes": _INT, "rss_bytes": _INT},
    "listening": {"address": (str,), "port": _INT, "startup_ns": _INT},
}
SPAWN_VALUES = ("workers", "tasks", "startup_ns", "tasks_ns", "rss_before_bytes", "rss_bytes")
# What each scenario's result record must carry, and the integer keys its records add (orchestrator/registry.py).
RESULT_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    name: t.result for name, t in SCENARIO_TYPES.items() if t.result is not None}
DETECTION_SCHEMA: dict[str, tuple[type, ...]] = {"class_id": _INT, "score": _NUM, "box": (list,)}
SCENARIO_KEYS: dict[str, dict[str, tuple[str, ...]]] = {name: t.stream for name, t in SCENARIO_TYPES.items()}
CALLS = ("empty", "opencv", "mat", "loop")  # call_overhead's calls, in the order of each index
# The hello's `ort` under onnxruntime (docs/protocol.md, "Engines").
ORT_SCHEMA: dict[str, tuple[type, ...]] = {
    "version": (str,), "library": (str,), "library_sha256": (str,), "linked": (bool,),
    "available_providers": (list,), "provider": (str,), "session_options": (dict,)}
# Errors that may come before hello: the hello needs a valid spec and a scenario the runner has.
EARLY_ERRORS = ("spec", "protocol", "unsupported_scenario")


@dataclass
class Stream:
    """Everything one runner process said, sorted by record type."""

    hello: dict[str, Any] | None = None
    loads: list[dict[str, Any]] = field(default_factory=list)  # one, or one per worker
    iterations: IterationTable = field(default_factory=IterationTable)  # columns (orchestrator/columns.py)
    call_samples: list[dict[str, Any]] = field(default_factory=list)
    spawn_samples: list[dict[str, Any]] = field(default_factory=list)
    listening: dict[str, Any] | None = None  # http: the server's address, once it listens
    result: dict[str, Any] | None = None
    detections: dict[str, dict[str, Any]] = field(default_factory=dict)
    end: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def load(self) -> dict[str, Any] | None:
        return self.loads[0] if self.loads else None

    @property
    def complete(self) -> bool:
        return self.end is not None and self.error is None and not self.problems

    def measured(self) -> IterationTable:
        return self.iterations.measured()


def check_record(record: Any) -> str | None:
    """The first way in which `record` breaks the protocol, or None when it is valid."""
    if not isinstance(record, dict):
        return "a record must be a JSON object"
    kind = record.get("type")
    if kind == "iteration":  # most of a stream: checked on a fast path
        return _check_iteration(record)
    schema = SCHEMA.get(kind)  # type: ignore[arg-type]
    if schema is None:
        return f"unknown record type {kind!r}"
    if kind == "hello" and record.get("protocol") != PROTOCOL_VERSION:  # nothing else of the stream is read
        return (f"runner speaks protocol {record.get('protocol')!r}, the orchestrator speaks {PROTOCOL_VERSION}; "
                "rebuild the runner from this checkout (make runners)")
    problem = _schema_problem(record)
    if problem:
        return problem
    if kind == "listening" and (record["address"] != "127.0.0.1" or not 0 < record["port"] < 65536):
        return (f"listening record: a server must listen on 127.0.0.1 and a TCP port, not "
                f"{record['address']}:{record['port']}")
    if kind == "detections":
        for det in record["detections"]:
            if not isinstance(det, dict) or any(not isinstance(det.get(k), t) for k, t in DETECTION_SCHEMA.items()):
                return "detections record: each detection needs class_id, score and box"
            if len(det["box"]) != 4:
                return "detections record: box must be [x1, y1, x2, y2]"
    if kind == "result":
        for key, types in RESULT_SCHEMA.get(record["scenario"], {}).items():
            value = record.get(key)
            if value is None or isinstance(value, bool) or not isinstance(value, types):
                return f"{record['scenario']} result record: key {key!r} missing or not a number"
    if kind == "spawn_sample" and any(record[k] < 0 for k in SPAWN_VALUES):
        return "spawn_sample record: counts, times and sizes must be non-negative"
    return _plausible(kind, record)


def _plausible(kind: str, record: dict[str, Any]) -> str | None:
    """Times and sizes a real run can have: non-negative, no timed region past an hour, no memory past 16 TiB."""
    for key, value in record.items():
        if type(value) is not int or not (key.endswith("_ns") or key.endswith("_bytes")):
            continue
        if value < 0:
            return f"{kind} record: {key} = {value} must be non-negative"
        if value > (MAX_BYTES if key.endswith("_bytes") else MAX_NS):
            return f"{kind} record: {key} = {value} is not a plausible {'size' if key.endswith('_bytes') else 'time'}"
    return None


def _check_iteration(record: dict[str, Any]) -> str | None:
    """check_record for an iteration: the same rules, written out (10^6 records a long run)."""
    get = record.get
    index, total, dets, phases = get("index"), get("total_ns"), get("detections"), get("phases_ns")
    if not (type(index) is int and type(total) is int and type(dets) is int and type(get("warmup")) is bool
            and type(get("image")) is str and type(phases) is dict):
        return _schema_problem(record)
    d, p, i, q = phases.get("decode"), phases.get("preprocess"), phases.get("inference"), phases.get("postprocess")
    if len(phases) != 4 or not (type(d) is int and type(p) is int and type(i) is int and type(q) is int) or \
            min(d, p, i, q) < 0:
        return f"iteration record: phases_ns must hold non-negative integers for {', '.join(PHASES)}"
    if total != d + p + i + q:
        return f"iteration record: total_ns {total} is not the sum of its phases"
    if len(record) > 7:  # a scenario's own keys
        for key in OPTIONAL:
            if key in record and (type(record[key]) is not int or record[key] < 0):
                return f"iteration record: {key} must be a non-negative integer"
    return None


def _schema_problem(record: dict[str, Any]) -> str | None:
    kind = record["type"]
    for key, types in SCHEMA[kind].items():
        value = record.get(key)
        if value is None or not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"{kind} record: key {key!r} missing or not {'/'.join(t.__name__ for t in types)}"
    return None


def parse_lines(lines: Iterable[str], spec: dict[str, Any] | None = None) -> Stream:
    """Every valid record, and every problem; with the spec that started the runner, `validate` too."""
    stream = Stream()
    order = _Order(stream)
    table = stream.iterations
    rows = array("q")  # the stdout line of each iteration row, for the column checks' messages
    for number, line in enumerate(lines, 1):
        try:
            record = loads(line)
        except ValueError:
            if line.strip():
                stream.problems.append(f"stdout line {number} is not JSON: {line.strip()[:120]!r}")
            continue
        # Most lines are iterations in their place: straight into the columns, whose values are checked
        # together at the end (IterationTable.problems). Anything else, or a record that does not fit, takes
        # the full check, which says what is wrong.
        if type(record) is dict and record.get("type") == "iteration" and order.last is None and stream.loads \
                and stream.result is None and table.append(record):
            rows.append(number)
            continue
        problem = check_record(record) or order.check(record)
        if problem:
            stream.problems.append(f"stdout line {number}: {problem}")
            continue
        before = len(table)
        _add(stream, record)
        if len(table) > before:
            rows.append(number)
    stream.problems.extend(table.problems(rows))
    if stream.hello is None and not stream.problems and stream.error is None:
        stream.problems.append("the runner wrote no hello record")
    if spec is not None:
        stream.problems.extend(validate(stream, spec))
    return stream


class _Order:
    """The order docs/protocol.md gives the records, checked one record at a time."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.last: str | None = None  # end or error once either came

    def check(self, record: dict[str, Any]) -> str | None:
        kind, s = record["type"], self.stream
        a = "an" if kind[0] in "aeiou" else "a"
        if self.last is not None:
            return f"{a} {kind} record after the {self.last} record"
        if kind in ("end", "error"):
            self.last = kind
        if s.hello is None and kind != "hello" and not (kind == "error" and record["code"] in EARLY_ERRORS):
            return f"{a} {kind} record before the hello record"
        if kind == "hello" and s.hello is not None:
            return "a second hello record"
        if kind == "iteration" and not s.loads:
            return "an iteration record before any load record"
        if kind in ("iteration", "call_sample", "spawn_sample", "load", "listening") and s.result is not None:
            return f"{a} {kind} record after the result record"
        if kind == "listening" and s.listening is not None:
            return "a second listening record"
        if kind == "load" and s.listening is not None:
            return "a load record after the listening record"
        if kind == "result" and s.result is not None:
            return "a second result record"
        if kind == "detections" and record["image"] in s.detections:
            return f"a second detections record for {record['image']!r} (one per image)"
        return None


def _add(stream: Stream, record: dict[str, Any]) -> None:
    kind = record["type"]
    if kind in ("hello", "end", "error", "result", "listening"):
        setattr(stream, kind, record)
    elif kind == "load":
        stream.loads.append(record)
    elif kind == "iteration" and not stream.iterations.append(record):  # its checks passed: a value beyond int64
        stream.problems.append(f"iteration record {record['index']}: a value does not fit a 64-bit integer")
    elif kind == "call_sample":
        stream.call_samples.append(record)
    elif kind == "spawn_sample":
        stream.spawn_samples.append(record)
    else:
        stream.detections[record["image"]] = record


def validate(stream: Stream, spec: dict[str, Any]) -> list[str]:
    """What a complete stream lacks against its spec (a stream cut short by an error is judged by its error)."""
    if stream.end is None or stream.error is not None:
        return []
    scenario = spec["scenario"]
    problems = _keys(stream, scenario)
    problems += _engine(stream, spec)
    problems += _counts(stream, spec)
    if scenario in RESULT_SCHEMA:
        if stream.result is None or stream.result["scenario"] != scenario:
            problems.append(f"a {scenario} run needs a result record with scenario {scenario!r}")
    elif stream.result is not None:
        problems.append(f"a {scenario} run has no result record")
    return problems


def _engine(stream: Stream, spec: dict[str, Any]) -> list[str]:
    """The hello names the engine it ran; under onnxruntime it says which ORT, and every load its providers."""
    want = (spec.get("engine") or {}).get("name", "opencv")
    hello = stream.hello or {}
    got = hello.get("engine", "opencv")  # a hello without `engine` is an older runner: OpenCV only
    if got != want:
        return [f"the spec asks for engine {want!r}, the hello says {got!r}"]
    if want != "onnxruntime":
        return []
    ort = hello.get("ort")
    if not isinstance(ort, dict) or any(type(ort.get(k)) not in t for k, t in ORT_SCHEMA.items()):
        return [f"an onnxruntime hello needs `ort` with {', '.join(ORT_SCHEMA)}"]
    if any(not isinstance(r.get("providers"), list) or not r["providers"] for r in stream.loads):
        return ["an onnxruntime load record needs the session's `providers`"]
    return []


def ort_fallback(stream: Stream, spec: dict[str, Any]) -> str | None:
    """Why an onnxruntime run did not use the provider it asked for (ORT falls back to the CPU quietly), or None."""
    engine = spec.get("engine") or {}
    if engine.get("name") != "onnxruntime":
        return None
    want = ORT_PROVIDER_NAMES.get(engine.get("provider", ""), "")
    for record in stream.loads:
        providers = record.get("providers")
        if isinstance(providers, list) and providers and providers[0] != want:
            return f"ONNX Runtime's session uses {providers}, not {want}"
    return None


def _keys(stream: Stream, scenario: str) -> list[str]:
    keys = SCENARIO_KEYS.get(scenario, {})
    problems = []
    for key in keys.get("load", ()):
        if any(type(r.get(key)) is not int or r[key] < 0 for r in stream.loads):
            problems.append(f"{scenario}: a load record without a non-negative integer {key!r}")
    for kind, table in (("iteration", stream.iterations), ("measured", stream.measured())):
        for key in keys.get(kind, ()):
            if len(table) and not table.has(key):
                what = "a measured iteration" if kind == "measured" else "an iteration"
                problems.append(f"{scenario}: {what} record without a non-negative integer {key!r}")
    return problems


def _counts(stream: Stream, spec: dict[str, Any]) -> list[str]:
    scenario, warm, n = spec["scenario"], spec["warmup"], spec["iterations"]
    kind = SCENARIO_TYPES.get(scenario)
    if kind is None:
        return [f"unknown scenario {scenario!r}"]
    workers = spec.get("workers", 1) if kind.workers else 1
    end, problems = stream.end, []
    assert end is not None
    loads = workers if kind.model else 0
    if len(stream.loads) != loads:
        problems.append(f"{len(stream.loads)} load records, want {loads}")
    if kind.spawn_samples:
        return problems + _spawn_counts(stream, spec)
    if kind.serves:
        return problems + _serving_counts(stream, spec)
    if kind.call_samples:
        if (end["warmup"], end["iterations"]) != (warm, n):
            problems.append(f"end record says {end['warmup']} + {end['iterations']} samples, spec {warm} + {n}")
        want = [(c, i, i < warm) for i in range(warm + n) for c in CALLS]
        got = [(r["call"], r["index"], r["warmup"]) for r in stream.call_samples]
        if got != want:
            problems.append(f"call_sample records out of order or missing ({len(got)} of {len(want)})")
        return problems
    index, warmup = stream.iterations["index"], stream.iterations["warmup"]
    if kind.frames:  # the video may end early: the end record says how many frames were processed
        if end["warmup"] > warm or end["iterations"] > n:
            problems.append(f"end record says {end['warmup']} + {end['iterations']} frames, spec {warm} + {n}")
        warm, n = end["warmup"], end["iterations"]
    elif (end["warmup"], end["iterations"]) != (warm, n):
        problems.append(f"end record says {end['warmup']} + {end['iterations']} iterations, spec {warm} + {n}")
    if kind.workers:  # per-worker warm-ups, then the shared queue, in completion order
        warm_index = index[warmup]
        ok = (np.array_equal(np.sort(index[~warmup]), np.arange(n)) and len(warm_index) == warm * workers and
              bool(((warm_index >= 0) & (warm_index < warm)).all()) and
              np.array_equal(np.bincount(warm_index, minlength=warm), np.full(warm, workers)))
        want = f"{warm} warm-up iterations per worker ({workers}), then requests 0 .. {n - 1}, each once"
    else:
        ok = np.array_equal(index, np.arange(warm + n)) and np.array_equal(warmup, np.arange(warm + n) < warm)
        want = f"indices 0 .. {warm + n - 1}, the first {warm} warm-up"
    if not ok:
        head = list(zip(index[:6].tolist(), warmup[:6].tolist()))
        problems.append(f"iterations (index, warmup) {head}{' ...' if len(index) > 6 else ''} ({len(index)} in all) "
                        f"do not match the spec: {want}")
    if not kind.frames and spec.get("images"):
        problems += _image_order(stream, spec)
    if not kind.frames:
        images = {_base_name(p) for p in spec.get("images", [])}
        if set(stream.detections) != images:
            missing = sorted(images - set(stream.detections))
            problems.append(f"detections records for {len(stream.detections)} images, want one for each of "
                            f"{len(images)}" + (f" (missing: {', '.join(missing[:3])})" if missing else ""))
    completed = (stream.result or {}).get("completed")
    if kind.workers and completed is not None and completed != n:
        problems.append(f"result record says {completed} completed, spec {n}")
    return problems


def _spawn_counts(stream: Stream, spec: dict[str, Any]) -> list[str]:
    """spawn: samples 0 .. warmup + iterations - 1 in order, each of the spec's workers and tasks."""
    warm, n, end = spec["warmup"], spec["iterations"], stream.end
    assert end is not None
    problems = []
    if (end["warmup"], end["iterations"]) != (warm, n):
        problems.append(f"end record says {end['warmup']} + {end['iterations']} samples, spec {warm} + {n}")
    got = [(r["index"], r["warmup"]) for r in stream.spawn_samples]
    if got != [(i, i < warm) for i in range(warm + n)]:
        problems.append(f"spawn_sample records out of order or missing ({len(got)} of {warm + n})")
    if any((r["workers"], r["tasks"]) != (spec["workers"], spec["tasks"]) for r in stream.spawn_samples):
        problems.append(f"a spawn_sample record of other counts than the spec's {spec['workers']} workers and "
                        f"{spec['tasks']} tasks")
    if stream.iterations or stream.call_samples:
        problems.append("a spawn run writes spawn_sample records only")
    return problems


def _serving_counts(stream: Stream, spec: dict[str, Any]) -> list[str]:
    """http: a listening record; per network its warm-ups; the requests served, each once, as the result says."""
    warm, workers, end, result = spec["warmup"], spec["workers"], stream.end, stream.result or {}
    assert end is not None
    problems = [] if stream.listening else ["an http run needs a listening record before it serves"]
    index, warmup = stream.iterations["index"], stream.iterations["warmup"]
    served = result.get("served", -1)
    if (end["warmup"], end["iterations"]) != (warm * workers, served):
        problems.append(f"end record says {end['warmup']} + {end['iterations']} iterations; want {warm} warm-up per "
                        f"network ({workers}) + the {served} requests the result record says were served")
    warm_index = index[warmup]
    if len(warm_index) != warm * workers or \
            not np.array_equal(np.bincount(warm_index, minlength=warm)[:warm], np.full(warm, workers)):
        problems.append(f"want {warm} warm-up iterations per network ({workers})")
    if not np.array_equal(np.sort(index[~warmup]), np.arange(int((~warmup).sum()))) or \
            int((~warmup).sum()) != served:
        problems.append(f"the served requests' iterations must be indexed 0 .. {served - 1}, each once")
    return problems


def _image_order(stream: Stream, spec: dict[str, Any]) -> list[str]:
    """Iteration i (a worker's warm-up i, request k) processes images[i % len(images)]; a batch iteration names
    the first of its images, images[i * B % len(images)]."""
    t = stream.iterations
    names = [_base_name(p) for p in spec["images"]]
    step = spec.get("batch", 1) if spec["scenario"] == "batch" else 1
    want = np.array(names, dtype=object)[(t["index"] * step) % len(names)]
    got = np.array(t.images, dtype=object)[t["image"]] if len(t) else want
    bad = np.flatnonzero(want != got)
    if not len(bad):
        return []
    i = int(bad[0])
    return [f"iteration {int(t['index'][i])}{' (warm-up)' if t['warmup'][i] else ''} processed {got[i]}, the "
            f"protocol gives it {want[i]} (images[i % len(images)])"]


def _base_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def read_file(path: str, spec: dict[str, Any] | None = None) -> Stream:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_lines(f, spec)
