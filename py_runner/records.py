"""JSON Lines records of docs/protocol.md, written to stdout one line at a time (never inside a timed region)."""

from __future__ import annotations

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
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:  # flushed per record so that a crash later loses nothing already measured
            self._stream.write(line)
            self._stream.flush()

    def error(self, code: str, message: str) -> None:
        self.write("error", code=code, message=message, fatal=True)


class RunnerError(Exception):
    """A failure that becomes an `error` record with a protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
