"""concurrency: N workers (threads or processes) drain one queue of requests as fast as they can."""

from __future__ import annotations

from typing import Any

import pool
from records import RecordWriter
from spec import Spec


def run(spec: Spec, out: RecordWriter) -> pool.Timing:
    def feed(jobs: Any, release_ns: int) -> None:
        for k in range(spec.iterations):
            jobs.put((k, None))
        for _ in range(spec.workers):
            jobs.put(None)

    timing = pool.run(spec, out.write_record, feed, out.note_memory)
    out.write("result", scenario="concurrency", workers=spec.workers, mode=spec.mode, startup_ns=timing.startup_ns,
              measured_wall_ns=timing.last_done_ns - timing.release_ns, completed=spec.iterations)
    return timing
