"""server: an open-loop Poisson load (MLPerf's Server scenario): requests arrive on a schedule, queue, and wait.

The arrival offsets come in the spec, made by the orchestrator, so every runner serves the same schedule.
Latency is measured from a request's arrival to its result, queueing included.
"""

from __future__ import annotations

import time
from typing import Any

import pool
from records import RecordWriter
from spec import Spec
from worker import clock


def run(spec: Spec, out: RecordWriter) -> pool.Timing:
    first_arrival: list[int] = []

    def feed(jobs: Any, release_ns: int) -> None:
        start = clock()
        first_arrival.append(start + spec.arrivals_ns[0])
        for k, offset in enumerate(spec.arrivals_ns):
            arrival = start + offset
            remaining = arrival - clock()
            if remaining > 0:
                time.sleep(remaining / 1e9)
            jobs.put((k, arrival))
        for _ in range(spec.workers):
            jobs.put(None)

    timing = pool.run(spec, out.write_record, feed, out.note_memory)
    out.write("result", scenario="server", workers=spec.workers, mode=spec.mode, rate=spec.rate,
              startup_ns=timing.startup_ns, measured_wall_ns=timing.last_done_ns - first_arrival[0],
              completed=spec.iterations)
    return timing
