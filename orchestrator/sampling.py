"""Sampling a runner's memory and CPU from outside, while it runs, at a cost it cannot feel.

The runner reports its own peak RSS at the end; this sampler adds the curve over time, PSS beside RSS, the CPU
use and the thread count, of the runner and of any worker processes it starts, and still has data when a runner
crashes before its `end` record.

Cost: the sampler runs in the orchestrator, on the same cores as the runner. psutil at 40 Hz slowed the runner's
inference by about 3 %. On Linux it now reads /proc directly (statm and stat; the children lists once a second).
Even so one sample costs about 0.5 ms of CPU while the runner computes (the kernel takes the runner's memory map
lock, which its page faults contend for, against 0.08 ms at rest), so the sampler is fast (FAST_S) only while
memory grows to a new high before the first iteration (start-up, model load): after SETTLE samples without a new
high of CHANGE_BYTES the interval doubles up to SLOW_S, and once the runner reports its first iteration it stays
at SLOW_S (about 0.25 % of one core). Peaks between two samples are the runner's own (the kernel's peak
counter, in its end record).

PSS (smaps_rollup) is the costliest read: the kernel walks every page table, about 11 ms for a Python process
holding YOLOv5s at 640. So the runner reports its own PSS in its end record, read after its last timed region;
the orchestrator reads it once at hello (the runtime's base, before the model and before any timed region), and
the sampler only for a tree of worker processes, when memory has just settled before the first iteration, at most
once every PSS_GAP_S (never while the runner iterates: a tree whose memory settles only then has no PSS). The
sampler measures its own CPU time (`cpu_s`), which the report shows per cell.

PSS (proportional set size) splits shared pages between the processes that map them, so a process tree's PSS
sum counts a shared library once; RSS counts it in every process. On Windows the private working set stands in
for PSS (psutil's `uss`).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import psutil

from . import hostos

FAST_S = 0.025  # 40 Hz while memory grows before the first iteration: the start-up curve
SLOW_S = 0.25  # 4 Hz otherwise: about 0.2 % of one core at 0.5 ms a sample
SETTLE = 8
CHANGE_BYTES = 1 << 20
PSS_GAP_S = 5.0
CHILDREN_EVERY_S = 1.0  # listing worker processes: once a second
PROC = "/proc"  # read where hostos.PROCFS says it is there (Linux); elsewhere psutil
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Sample:
    t_s: float  # seconds since the process started
    rss_bytes: int
    cpu_percent: float  # 100 = one core busy
    threads: int
    pss_bytes: int | None = None  # None where this sample read no PSS


@dataclass(frozen=True)
class Memory:
    rss_bytes: int
    pss_bytes: int | None


@dataclass
class Sampler:
    pid: int
    samples: list[Sample] = field(default_factory=list)
    cpu_s: float = 0.0  # the sampler thread's own CPU time
    measuring_cpu_s: float = 0.0  # of which while the runner iterated
    measuring_wall_s: float = 0.0  # how long the runner iterated while sampled
    tree_cpu_s: float = 0.0  # the last CPU time of the runner's tree that it read
    on_members: Callable[[list[int]], None] | None = None  # told each look at the tree (orchestrator/child.py)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sampler-{self.pid}", daemon=True)
        self._members: list[int] = [self.pid]
        self._measuring = False

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def measuring(self) -> None:
        """The runner has started iterating: from now on sample at SLOW_S, not to tax its timed regions."""
        self._measuring = True

    def snapshot(self) -> Memory | None:
        """RSS and PSS of the tree now (the reader calls it when the runner says hello: the runtime's base)."""
        try:
            rss, _, _ = _tree(self._members)
            return Memory(rss, _pss(self._members))
        except ProcessLookupError:
            return None

    def _loop(self) -> None:
        cpu0 = time.thread_time()
        self._since: tuple[float, float] | None = None  # (thread CPU, wall) when the runner began iterating
        try:
            self._run()
        except ProcessLookupError:
            pass  # the process ended: the samples so far are the curve
        finally:
            self.cpu_s = time.thread_time() - cpu0
            if self._since:
                self.measuring_cpu_s = time.thread_time() - self._since[0]
                self.measuring_wall_s = time.perf_counter() - self._since[1]

    def _run(self) -> None:
        start = time.perf_counter()
        last_t, last_cpu = start, _tree(self._members)[1]
        high, still, interval = -1, 0, FAST_S
        next_children, next_pss, settled = start + CHILDREN_EVERY_S, start, False
        while not self._stop.is_set():
            now = time.perf_counter()
            if self._measuring and self._since is None:
                self._since = (time.thread_time(), now)
            if now >= next_children:
                self._members = _members(self.pid)
                if self.on_members is not None:
                    self.on_members(self._members)
                next_children = now + CHILDREN_EVERY_S
            rss, cpu, threads = _tree(self._members)
            pss = None
            # The runner reports its own PSS after its last timed region; only a tree of worker processes
            # (Python's processes mode) needs the sampler's: when memory has just stopped moving.
            if settled and not self._measuring and len(self._members) > 1 and now >= next_pss:
                pss, next_pss, settled = _pss(self._members), now + PSS_GAP_S, False
            busy = max(0.0, 100.0 * (cpu - last_cpu) / (now - last_t)) if now > last_t else 0.0
            self.samples.append(Sample(round(now - start, 4), rss, round(busy, 1), threads, pss))
            self.tree_cpu_s = cpu
            last_t, last_cpu = now, cpu
            if rss >= high + CHANGE_BYTES and not self._measuring:
                still, interval = 0, FAST_S
            else:
                still += 1
                if still >= SETTLE or self._measuring:
                    settled = settled or interval == FAST_S
                    interval, still = min(SLOW_S, interval * 2), 0
            high = max(high, rss)
            self._stop.wait(SLOW_S if self._measuring else interval)


def _members(pid: int) -> list[int]:
    """The runner and its worker processes (Python's `processes` mode), runner first."""
    if not hostos.PROCFS:
        try:
            return [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error as exc:
            raise ProcessLookupError(pid) from exc
    out, todo = [pid], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"{PROC}/{p}/task")
        except OSError:
            if p == pid:
                raise ProcessLookupError(pid) from None
            continue
        for tid in tasks:
            try:
                with open(f"{PROC}/{p}/task/{tid}/children", encoding="ascii") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                kids = []
            out += kids
            todo += kids
    return out


def _tree(members: list[int]) -> tuple[int, float, int]:
    """RSS bytes, CPU seconds and threads summed over the runner and its worker processes."""
    rss, cpu, threads = 0, 0.0, 0
    for i, pid in enumerate(members):
        try:
            r, c, t = _one(pid)
        except (OSError, psutil.Error, ValueError, IndexError):
            if i == 0:
                raise ProcessLookupError(pid) from None
            continue
        rss, cpu, threads = rss + r, cpu + c, threads + t
    return rss, cpu, threads


def _one(pid: int) -> tuple[int, float, int]:
    if not hostos.PROCFS:
        p = psutil.Process(pid)
        with p.oneshot():
            times = p.cpu_times()
            return p.memory_info().rss, times.user + times.system, p.num_threads()
    with open(f"{PROC}/{pid}/statm", encoding="ascii") as f:
        rss = int(f.read().split()[1]) * PAGE
    with open(f"{PROC}/{pid}/stat", encoding="ascii", errors="replace") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    # After the name: state is field 3 of stat(5), so utime (14), stime (15), num_threads (20) sit at 11, 12, 17.
    return rss, (int(fields[11]) + int(fields[12])) / TICK, int(fields[17])


def _pss(members: list[int]) -> int | None:
    total = 0
    for pid in members:
        try:
            if hostos.PROCFS:
                with open(f"{PROC}/{pid}/smaps_rollup", encoding="ascii") as f:
                    line = next(x for x in f if x.startswith("Pss:"))
                total += int(line.split()[1]) * 1024
            else:
                total += psutil.Process(pid).memory_full_info().uss
        except (OSError, StopIteration, psutil.Error):
            if pid == members[0]:
                return None
    return total


class SampleTable:
    """The samples of one process as columns, as a run folder is read back: a long run has 10^5 of them per cell,
    and as Sample objects each number would cost about 40 bytes. Indexing and iteration give Samples (and slices
    tables), so code written for a list of Samples reads it unchanged; the report's hot paths read the columns."""

    __slots__ = ("t_s", "rss_bytes", "cpu_percent", "threads", "pss_bytes")

    def __init__(self, t_s: np.ndarray, rss_bytes: np.ndarray, cpu_percent: np.ndarray, threads: np.ndarray,
                 pss_bytes: np.ndarray) -> None:
        self.t_s = t_s  # float64 seconds since the process started
        self.rss_bytes = rss_bytes  # int64
        self.cpu_percent = cpu_percent  # float64
        self.threads = threads  # int64
        self.pss_bytes = pss_bytes  # int64, -1 where the sample read no PSS

    @classmethod
    def of(cls, samples: list[Sample] | SampleTable) -> SampleTable:
        if isinstance(samples, SampleTable):
            return samples
        return cls(np.array([s.t_s for s in samples], dtype=np.float64),
                   np.array([s.rss_bytes for s in samples], dtype=np.int64),
                   np.array([s.cpu_percent for s in samples], dtype=np.float64),
                   np.array([s.threads for s in samples], dtype=np.int64),
                   np.array([-1 if s.pss_bytes is None else s.pss_bytes for s in samples], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.t_s)

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            return SampleTable(*(getattr(self, name)[key] for name in self.__slots__))
        pss = int(self.pss_bytes[key])
        return Sample(float(self.t_s[key]), int(self.rss_bytes[key]), float(self.cpu_percent[key]),
                      int(self.threads[key]), None if pss < 0 else pss)

    def __iter__(self) -> Iterator[Sample]:
        return (self[i] for i in range(len(self)))


def peak_rss(samples: list[Sample] | SampleTable) -> int:
    table = SampleTable.of(samples)
    return int(table.rss_bytes.max()) if len(table) else 0


def peak_pss(samples: list[Sample] | SampleTable) -> int | None:
    table = SampleTable.of(samples)
    values = table.pss_bytes[table.pss_bytes > 0]
    return int(values.max()) if len(values) else None
