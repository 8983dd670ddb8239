"""JSON Lines records of docs/protocol.md, written to stdout one line at a time (never inside a timed region)."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from typing import Any, TextIO

import memory

PROTOCOL_VERSION = 1


def claim_stdout() -> TextIO:
    """Keep stdout for records alone: OpenCV's logger prints its INFO/DEBUG lines to stdout (fd 1), which would
    corrupt the stream. The records get a private duplicate of fd 1; fd 1 itself then points at stderr."""
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(private, "w", encoding="utf-8")


class RecordWriter:
    """Writes records; safe for concurrent workers (one lock, taken only outside timed regions)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.pss_bytes = 0  # set by note_memory(), reported in the end record

    def note_memory(self) -> None:
        """Read this process's PSS now: a scenario calls it after its last timed region, while its networks are
        still loaded (reading it at the end record would come after Python freed them)."""
        self.pss_bytes = memory.pss_bytes()

    def write(self, record_type: str, **fields: Any) -> None:
        self.write_record({"type": record_type, **fields})

    def write_record(self, record: dict[str, Any]) -> None:
        line = encode(record) + "\n"
        with self._lock:  # flushed per record so that a crash later loses nothing already measured
            self._stream.write(line)
            self._stream.flush()

    def close_in_child(self) -> None:
        """A forked worker closes its copy of the record stream's descriptor: its records go through the parent,
        and the reader of stdout sees its end of file only once every copy is closed (the worker exits with
        os._exit, so the stream object itself is never flushed or closed again)."""
        try:
            os.close(self._stream.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass

    def error(self, code: str, message: str) -> None:
        self.write("error", code=code, message=message, fatal=True)


def encode(record: dict[str, Any]) -> str:
    """One record (or an http response body) as compact JSON: Python floats print as the shortest text of the
    double, so a float32 widened by float() reads back exactly."""
    return json.dumps(record, separators=(",", ":"))


def load_record(model: str, load_ns: int, worker: int | None = None, providers: list[str] | None = None
                ) -> dict[str, Any]:
    """`providers` only under ONNX Runtime (the session's providers)."""
    record: dict[str, Any] = {"type": "load", "model": model, "load_ns": load_ns}
    if worker is not None:
        record["worker"] = worker
    if providers:
        record["providers"] = providers
    return record


def iteration_record(index: int | None, warmup: bool, image: str, phases_ns: dict[str, int], detections: int,
                     **extra: Any) -> dict[str, Any]:
    """The common keys, then the scenario's own (frame, worker, queue_ns, latency_ns, batch); total_ns is the
    sum of the phases, as the protocol defines it. An index of None is the writer's to give (http: the order of
    completion, known only where the records of every worker meet)."""
    return {"type": "iteration", "index": index, "warmup": warmup, "image": image, "phases_ns": phases_ns,
            "total_ns": sum(phases_ns.values()), "detections": detections, **extra}


def detections_record(name: str, width: int, height: int, class_ids: Any, scores: Any, boxes: Any) -> dict[str, Any]:
    """Scores and boxes as the exact float32 values (float() widens a float32 without changing it)."""
    items = [{"class_id": int(c), "score": float(s), "box": [float(v) for v in box]}
             for c, s, box in zip(class_ids, scores, boxes)]
    return {"type": "detections", "image": name, "width": width, "height": height, "detections": items}


class RunnerError(Exception):
    """A failure that becomes an `error` record with a protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
