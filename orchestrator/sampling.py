"""Sampling a runner's memory and CPU from outside, while it runs.

The runner reports its own peak RSS at the end; this sampler adds the curve over time, the CPU use and the
thread count, of the runner and of any worker processes it starts, and still has data when a runner crashes
before its `end` record.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import psutil

INTERVAL_S = 0.025  # 40 Hz: well above the 20 Hz needed to see a forward() call of ~10 ms and up
CHILDREN_EVERY = 40  # samples between two listings of the worker processes (once a second at 40 Hz)


@dataclass(frozen=True)
class Sample:
    t_s: float  # seconds since the process started
    rss_bytes: int
    cpu_percent: float  # 100 = one core busy
    threads: int


@dataclass
class Sampler:
    pid: int
    interval_s: float = INTERVAL_S
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sampler-{self.pid}", daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def _loop(self) -> None:
        try:
            process = psutil.Process(self.pid)
            start = time.perf_counter()
            tree = _members(process)
            last_t, last_cpu = start, _tree(tree)[1]
            for n in itertools.count(1):
                if self._stop.is_set():
                    return
                if n % CHILDREN_EVERY == 0:  # listing children scans every process: do it once a second
                    tree = _members(process)
                rss, cpu, threads = _tree(tree)
                now = time.perf_counter()
                busy = max(0.0, 100.0 * (cpu - last_cpu) / (now - last_t)) if now > last_t else 0.0
                self.samples.append(Sample(round(now - start, 4), rss, round(busy, 1), threads))
                last_t, last_cpu = now, cpu
                self._stop.wait(self.interval_s)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return  # the process ended: the samples so far are the curve


def _members(process: psutil.Process) -> list[psutil.Process]:
    """The runner and its worker processes (Python's `processes` mode)."""
    return [process] + process.children(recursive=True)


def _tree(members: list[psutil.Process]) -> tuple[int, float, int]:
    """RSS, CPU seconds and threads summed over the runner and its worker processes."""
    rss, cpu, threads = 0, 0.0, 0
    for i, p in enumerate(members):
        try:
            with p.oneshot():
                rss += p.memory_info().rss
                cpu += _cpu_seconds(p)
                threads += p.num_threads()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            if i == 0:  # the runner itself ended
                raise
    return rss, cpu, threads


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def peak_rss(samples: list[Sample]) -> int:
    return max((s.rss_bytes for s in samples), default=0)
