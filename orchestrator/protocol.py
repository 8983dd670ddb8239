"""Parsing and checking the runners' JSON Lines output (docs/protocol.md, version 1).

Parsing never raises on bad input: a runner that prints garbage is a failed cell with a clear reason, and every
valid record before the garbage is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

PROTOCOL_VERSION = 1
PHASES = ("decode", "preprocess", "inference", "postprocess")

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
}
# What each scenario's result record must carry (docs/protocol.md, "Scenarios").
RESULT_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "video": {"frames_read": _INT, "processed": _INT, "dropped": _INT, "source_fps": _NUM, "measured_wall_ns": _INT},
    "concurrency": {"workers": _INT, "mode": (str,), "startup_ns": _INT, "measured_wall_ns": _INT, "completed": _INT},
    "server": {"workers": _INT, "mode": (str,), "rate": _NUM, "startup_ns": _INT, "measured_wall_ns": _INT,
               "completed": _INT},
}
DETECTION_SCHEMA: dict[str, tuple[type, ...]] = {"class_id": _INT, "score": _NUM, "box": (list,)}


@dataclass
class Stream:
    """Everything one runner process said, sorted by record type."""

    hello: dict[str, Any] | None = None
    loads: list[dict[str, Any]] = field(default_factory=list)  # one, or one per worker
    iterations: list[dict[str, Any]] = field(default_factory=list)
    call_samples: list[dict[str, Any]] = field(default_factory=list)
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

    def measured(self) -> list[dict[str, Any]]:
        return [r for r in self.iterations if not r["warmup"]]


def check_record(record: Any) -> str | None:
    """The first way in which `record` breaks the protocol, or None when it is valid."""
    if not isinstance(record, dict):
        return "a record must be a JSON object"
    kind = record.get("type")
    schema = SCHEMA.get(kind)  # type: ignore[arg-type]
    if schema is None:
        return f"unknown record type {kind!r}"
    for key, types in schema.items():
        value = record.get(key)
        if value is None or not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"{kind} record: key {key!r} missing or not {'/'.join(t.__name__ for t in types)}"
    if kind == "iteration":
        phases = record["phases_ns"]
        if set(phases) != set(PHASES) or not all(isinstance(v, int) and v >= 0 for v in phases.values()):
            return f"iteration record: phases_ns must hold non-negative integers for {', '.join(PHASES)}"
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
    if kind == "hello" and record["protocol"] != PROTOCOL_VERSION:
        return (f"runner speaks protocol {record['protocol']}, the orchestrator speaks {PROTOCOL_VERSION}; "
                "rebuild the runner from this checkout (make runners)")
    return None


def parse_lines(lines: Iterable[str]) -> Stream:
    stream = Stream()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            stream.problems.append(f"stdout line {number} is not JSON: {line.strip()[:120]!r}")
            continue
        problem = check_record(record)
        if problem:
            stream.problems.append(f"stdout line {number}: {problem}")
            continue
        _add(stream, record, number)
    if stream.hello is None and not stream.problems and stream.error is None:
        stream.problems.append("the runner wrote no hello record")
    return stream


def _add(stream: Stream, record: dict[str, Any], number: int) -> None:
    kind = record["type"]
    if kind in ("hello", "end", "error", "result"):
        if getattr(stream, kind) is not None:
            stream.problems.append(f"stdout line {number}: a second {kind} record")
        setattr(stream, kind, record)
    elif kind == "load":
        stream.loads.append(record)
    elif kind == "iteration":
        stream.iterations.append(record)
    elif kind == "call_sample":
        stream.call_samples.append(record)
    else:
        stream.detections[record["image"]] = record


def read_file(path: str) -> Stream:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_lines(f)
