"""Showing a run as it happens: one updating status line on a terminal, plain log lines elsewhere (CI, files).

The ETA is the mean wall time of the processes so far times the processes left: processes of one run take
roughly alike, and the estimate settles after the first round.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        self._status_shown = False

    def __call__(self, message: str) -> None:
        """A message that stays (run folder, errors, the report's path)."""
        self._clear()
        print(message, file=self.stream, flush=True)

    def start(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def eta(self) -> str:
        if not self.done:
            return "ETA ?"
        per = (time.monotonic() - self.started) / self.done
        return f"ETA {_duration(per * (self.total - self.done))}"

    def process(self, label: str) -> None:
        """The next process starts: `label` says which cell and which repeat."""
        line = f"[{self.done + 1}/{self.total}] {label} | {self.eta()}"
        if self.interactive:
            self._clear()
            self.stream.write(line[:160])
            self.stream.flush()
            self._status_shown = True
        else:
            print(line, file=self.stream, flush=True)

    def finished(self, status: str, error: str | None) -> None:
        self.done += 1
        if status != "ok":
            self(f"  {status}: {error}")

    def _clear(self) -> None:
        if self.interactive and self._status_shown:
            self.stream.write("\r\033[K")
            self._status_shown = False
