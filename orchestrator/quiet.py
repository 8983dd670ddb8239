"""Was the machine quiet while a runner process ran? The CPU that everything else used, measured, not guessed.

Over the wall time of one runner process: the machine's busy CPU time (psutil.cpu_times: user, nice, system,
irq, softirq) minus the CPU time of the runner's process tree (the orchestrator's reaped children, i.e. the
runner and every worker it started) minus the orchestrator's own (its sampler and reader threads), divided by
the wall time: the cores that something else kept busy. Hypervisor steal (a virtual machine's CPU taken by the
host) is added, since it slows the runner as much as a neighbour does. The 1-minute load average before the
process is recorded too, but not judged: on a machine that runs our runners back to back it mostly counts them.

The figure errs towards "busy", never towards "quiet": descendants that the runner never reaps (workers killed on
a timeout) are not among the reaped children, so their CPU counts as other work; on Windows, where psutil has
no children times, the sampler's last reading of the tree stands in and misses its final fraction of a second.

A process is flagged busy when the others used more than BUSY_CORES on average (a quarter of one core: a burner
on one core of a 2-core machine shows about 0.9, a quiet run here about 0.02). Comparisons with a flagged
process fail the "machine quiet" fairness check and get no verdict (orchestrator/comparisons.py).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import psutil

from . import hostos

BUSY_CORES = 0.25


@dataclass(frozen=True)
class Reading:
    wall: float  # perf_counter seconds
    machine_busy: float  # CPU seconds of the whole machine, all cores
    steal: float
    own: float  # the orchestrator's own CPU seconds
    children: float  # CPU seconds of the orchestrator's reaped children


@dataclass(frozen=True)
class MachineLoad:
    other_cores: float  # CPU used by everything but the runner's tree and the orchestrator, in cores
    steal_cores: float  # hypervisor steal, in cores (included in other_cores)
    runner_cores: float  # the runner's process tree, in cores
    harness_cores: float  # the orchestrator itself (sampler, reader), in cores
    load_before: float | None  # 1-minute load average before the process started
    threshold: float  # other_cores above which the process is flagged
    busy: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read() -> Reading:
    t = psutil.cpu_times()
    busy = t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    me = psutil.Process().cpu_times()
    children = getattr(me, "children_user", 0.0) + getattr(me, "children_system", 0.0)
    return Reading(time.perf_counter(), busy, getattr(t, "steal", 0.0), me.user + me.system, children)


def load_average() -> float | None:
    return hostos.load_average()  # None on Windows


def between(before: Reading, after: Reading, load_before: float | None, runner_cpu_s: float | None = None,
            threshold: float = BUSY_CORES) -> MachineLoad:
    """The load over [before, after]. `runner_cpu_s` replaces the children's figure where the OS has none
    (Windows: psutil reports no children times; the sampler's last reading of the tree stands in)."""
    wall = max(after.wall - before.wall, 1e-9)
    runner = after.children - before.children
    if runner <= 0 and runner_cpu_s:
        runner = runner_cpu_s
    own = after.own - before.own
    steal = max(0.0, after.steal - before.steal)
    other = max(0.0, (after.machine_busy - before.machine_busy) - runner - own) + steal
    return MachineLoad(round(other / wall, 3), round(steal / wall, 3), round(runner / wall, 3), round(own / wall, 4),
                       load_before, threshold, other / wall > threshold)
