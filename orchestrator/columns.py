"""Iteration records as columns: a long run's 10^6 records in ~100 MB of int64 arrays, not ~1 GB of dicts.

The parser appends each iteration record once (`IterationTable.append`, into `array` buffers); `freeze` turns
the buffers into numpy arrays, and everything after reads columns (`table["inference"]`, `table.latency_ns()`)
or selections of rows (`table.measured()`, `table[10:]`). Iterating, or indexing with an int, gives the record
back as the dict it was, for code that wants one record (tests, the first iteration's cold time).
"""

from __future__ import annotations

from array import array
from typing import Any, Iterator

import numpy as np

PHASES = ("decode", "preprocess", "inference", "postprocess")
# Keys that only some scenarios write (docs/protocol.md, "Scenarios"); ABSENT where a record has none.
OPTIONAL = ("frame", "worker", "queue_ns", "latency_ns", "batch", "handler_ns")
# One row of the parse buffer, in this order (the image as a code into IterationTable.images).
ROW = ("index", "total_ns", *PHASES, "detections", *OPTIONAL, "warmup", "image")
DURATIONS = ("queue_ns", "latency_ns", "handler_ns")  # the optional keys that are times
MAX_NS = 3600 * 10**9  # no timed region of one iteration lasts an hour: a longer one is a broken clock or unit
ABSENT = int(np.iinfo(np.int64).min)  # not -1: a runner's negative value must stay visible as one
COMPACT = {"warmup": np.bool_, "image": np.int32}  # the other columns stay int64


class IterationTable:
    def __init__(self) -> None:
        self._buffer: array | None = array("q")  # rows of len(ROW) int64, appended in one call each
        self._names: dict[str, int] = {}  # image name -> code
        self.images: list[str] = []  # code -> image name
        self.cols: dict[str, np.ndarray] = {}

    # Building (while parsing).

    def append(self, record: dict[str, Any]) -> bool:
        """Adds one iteration record; False (and nothing added) when a key is missing or not an integer, for
        the caller's full check to say why. The checks of values (non-negative, total = sum) are `problems`."""
        assert self._buffer is not None, "append after freeze"
        buf, size = self._buffer, len(self._buffer)
        try:
            phases, get, image = record["phases_ns"], record.get, record["image"]
            if not (type(record["warmup"]) is bool and type(image) is str and type(record["index"]) is int
                    and type(record["total_ns"]) is int and type(record["detections"]) is int and len(phases) == 4
                    and type(phases["decode"]) is int and type(phases["preprocess"]) is int
                    and type(phases["inference"]) is int and type(phases["postprocess"]) is int
                    and (len(record) == 7 or all(type(record[k]) is int for k in OPTIONAL if k in record))):
                return False
            code = self._names.get(image)
            if code is None:
                code = self._names[image] = len(self.images)
                self.images.append(image)
            buf.extend((record["index"], record["total_ns"], phases["decode"], phases["preprocess"],
                        phases["inference"], phases["postprocess"], record["detections"], get("frame", ABSENT),
                        get("worker", ABSENT), get("queue_ns", ABSENT), get("latency_ns", ABSENT),
                        get("batch", ABSENT), get("handler_ns", ABSENT), record["warmup"], code))
        except (KeyError, TypeError, OverflowError):
            del buf[size:]
            return False
        return True

    def problems(self, lines: Any = None) -> list[str]:
        """What the rows break, checked on whole columns: negative values, durations past MAX_NS, total_ns not the
        sum of the phases. `lines` (row -> stdout line number) lets each problem name its line."""
        c = self.freeze().cols
        out = []

        def where(row: int) -> str:
            line = f"stdout line {lines[row]}: " if lines is not None and row < len(lines) else ""
            return f"{line}iteration record {row} (of {len(self)})"
        for name in ("index", "total_ns", *PHASES, "detections"):
            bad = np.flatnonzero(c[name] < 0)
            if len(bad):
                out.append(f"{where(bad[0])}: {name} must be a non-negative integer")
        for name in (n for n in OPTIONAL if n in c):
            bad = np.flatnonzero((c[name] < 0) & (c[name] != ABSENT))
            if len(bad):
                out.append(f"{where(bad[0])}: {name} must be a non-negative integer")
        for name in ("total_ns", *PHASES, *(n for n in DURATIONS if n in c)):
            bad = np.flatnonzero(c[name] > MAX_NS)
            if len(bad):
                out.append(f"{where(bad[0])}: {name} = {int(c[name][bad[0]])} ns is longer than an hour; a clock "
                           "or a unit is wrong")
        bad = np.flatnonzero(c["total_ns"] != c["decode"] + c["preprocess"] + c["inference"] + c["postprocess"])
        if len(bad):
            out.append(f"{where(bad[0])}: total_ns is not the sum of its phases")
        return out

    def freeze(self) -> IterationTable:
        """The columns as contiguous numpy arrays, the parse buffer released. An optional key that no row has is
        not stored: a single run's row takes 61 bytes, not 112."""
        if self._buffer is not None:
            rows = np.frombuffer(self._buffer, dtype=np.int64).reshape(-1, len(ROW)) if len(self._buffer) else \
                np.zeros((0, len(ROW)), np.int64)
            self.cols = {name: np.array(rows[:, k], dtype=COMPACT.get(name, np.int64)) for k, name in enumerate(ROW)
                         if not (name in OPTIONAL and len(rows) and (rows[:, k] == ABSENT).all())}
            self._buffer = None
        return self

    # Reading.

    def __len__(self) -> int:
        if self._buffer is not None:
            return len(self._buffer) // len(ROW)
        return len(self.cols["index"])

    def __bool__(self) -> bool:
        return len(self) > 0

    def column(self, name: str) -> np.ndarray:
        """A column; an optional key that no row has reads as ABSENT in every row."""
        cols = self.freeze().cols
        return cols[name] if name in cols else np.full(len(self), ABSENT, np.int64)

    def has(self, name: str) -> bool:
        """Whether every row carries the optional key `name`."""
        col = self.freeze().cols.get(name)
        return col is not None and len(col) > 0 and bool((col >= 0).all())

    def latency_ns(self) -> np.ndarray:
        """Arrival to result where the scenario has arrivals (server, measured requests), else the four phases."""
        lat = self.freeze().cols.get("latency_ns")
        return self.column("total_ns") if lat is None else np.where(lat >= 0, lat, self.column("total_ns"))

    def own_ns(self, phases: tuple[str, ...]) -> np.ndarray:
        return sum((self.column(p) for p in phases), np.zeros(len(self), np.int64))

    def measured(self) -> IterationTable:
        """The measured rows. Where the warm-ups all come first (every scenario but concurrency and server) this is
        a slice, whose columns are views: no copy of a long run's arrays."""
        warm = self.column("warmup")
        k = int(warm.sum())
        return self.select(slice(k, None) if warm[:k].all() else ~warm)

    def select(self, rows: Any) -> IterationTable:
        """The rows picked by a boolean mask, an index array or a slice, as a new table."""
        self.freeze()
        out = IterationTable()
        out._buffer = None
        out.images, out._names = self.images, self._names
        out.cols = {name: col[rows] for name, col in self.cols.items()}
        return out

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)):
            return self.record(int(key))
        if isinstance(key, str):
            return self.column(key)
        return self.select(key)

    def record(self, i: int) -> dict[str, Any]:
        c = self.freeze().cols
        out: dict[str, Any] = {"type": "iteration", "index": int(c["index"][i]), "warmup": bool(c["warmup"][i]),
                               "image": self.images[int(c["image"][i])],
                               "phases_ns": {p: int(c[p][i]) for p in PHASES}, "total_ns": int(c["total_ns"][i]),
                               "detections": int(c["detections"][i])}
        out.update({k: int(c[k][i]) for k in OPTIONAL if k in c and c[k][i] != ABSENT})
        return out

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self.record(i) for i in range(len(self)))
