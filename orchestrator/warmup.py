"""`warmup: auto`: find where a process reaches steady state, from its own stream of latencies.

The runner always treats its first iteration (the cold inference) as warm-up and runs AUTO_EXTRA more
iterations than asked; the orchestrator then counts as warm-up every iteration before the first window whose
rolling median is within TOLERANCE of the median of everything after it (the rolling median has stopped
drifting) and whose first value is itself within 3 x TOLERANCE of it (a median alone would call a window steady
while its first slow values are still in it). At most half of the iterations can be declared warm-up, so a
process that never settles keeps most of its data, and says so.

Only a slower start is ever dropped: when the iterations before the steady window are not slower (median more
than TOLERANCE above the steady median), nothing is dropped, so a fast start followed by a busier machine is
never trimmed into a better-looking figure. The series is the scenario's latency (server: arrival to result).
The same detection runs on processes with a fixed warm-up, where it only warns that the stream was still
settling after it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

AUTO_RUNNER_WARMUP = 1
AUTO_EXTRA = 10
WINDOW = 5
TOLERANCE = 0.05


def steady_start(values: Sequence[float]) -> int | None:
    """Index of the first steady iteration, or None when no steady state is found."""
    v = np.asarray(values, dtype=float)
    for i in range(0, len(v) // 2 + 1):
        window, rest = v[i:i + WINDOW], v[i + WINDOW:]
        if len(window) < WINDOW or len(rest) < WINDOW:
            break
        tail = np.median(rest)
        if abs(np.median(window) - tail) <= TOLERANCE * tail and abs(window[0] - tail) <= 3 * TOLERANCE * tail:
            return i if i == 0 or np.median(v[:i]) > (1 + TOLERANCE) * np.median(v[i:]) else 0
    return None
