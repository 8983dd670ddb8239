"""call_overhead: the cost of one call from Python into native code, with and without OpenCV behind it.

`empty` is a C builtin that does next to nothing (math.fabs), the floor of any call from Python into C;
`opencv` is cv2.countNonZero on a 1x1 uint8 array, converted by the binding on every call, as users call it;
`mat` allocates a new 1x1 array, counts it and lets it go, each call (what a benchmark of "one binding call"
most likely timed); `loop` is the loop alone, the baseline that the others include.
Each sample times K calls between two clock reads; samples of the four calls alternate.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from records import RecordWriter
from spec import Spec
from worker import clock


def time_empty(calls: int) -> int:
    fabs = math.fabs
    t0 = clock()
    for _ in range(calls):
        fabs(0.0)
    return clock() - t0


def time_opencv(calls: int, tiny: np.ndarray) -> int:
    count = cv2.countNonZero
    t0 = clock()
    for _ in range(calls):
        count(tiny)
    return clock() - t0


def time_mat(calls: int) -> int:
    count, zeros, u8 = cv2.countNonZero, np.zeros, np.uint8
    t0 = clock()
    for _ in range(calls):
        count(zeros((1, 1), u8))
    return clock() - t0


def time_loop(calls: int) -> int:
    t0 = clock()
    for _ in range(calls):
        pass
    return clock() - t0


def run(spec: Spec, out: RecordWriter) -> None:
    tiny = np.zeros((1, 1), np.uint8)
    k = spec.calls_per_sample
    for index in range(spec.warmup + spec.iterations):
        for call, total in (("empty", time_empty(k)), ("opencv", time_opencv(k, tiny)), ("mat", time_mat(k)),
                            ("loop", time_loop(k))):
            out.write("call_sample", call=call, index=index, warmup=index < spec.warmup, calls=k, total_ns=total)
    out.note_memory()
