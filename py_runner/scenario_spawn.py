"""spawn: the article's section 4.3 as it wrote it: N workers take tasks from one queue, each task a sleep.

Mode `threads` starts N threading.Thread workers on one queue.SimpleQueue; mode `asyncio` creates N tasks on one
event loop with an asyncio.Queue. A sample times two things (docs/protocol.md, "spawn"): starting the N workers
until every one has run (startup_ns), then the M tasks from the first put to the last join (tasks_ns). No model,
no OpenCV work, no ONNX Runtime; the records are written after each sample, outside its clock reads.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import time
from dataclasses import dataclass

from memory import current_rss_bytes
from records import RecordWriter
from spec import Spec
from worker import clock


@dataclass(frozen=True)
class Sample:
    startup_ns: int
    tasks_ns: int
    rss_before_bytes: int
    rss_bytes: int


def _announce(w: int, task: int) -> None:
    """The article's line, part of the work it timed when it printed (print: true); one write, so that the
    lines of concurrent threads do not interleave (print() writes the text and the newline apart)."""
    sys.stderr.write(f"Worker {w} processed {task}\n")


def threads_sample(spec: Spec) -> Sample:
    n, sleep_s = spec.workers, spec.task_sleep_ns / 1e9
    tasks: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    lock, all_in = threading.Lock(), threading.Event()
    counted = [0]

    def body(w: int) -> None:
        with lock:  # counts itself in once it runs; the last one wakes the main
            counted[0] += 1
            if counted[0] == n:
                all_in.set()
        while (task := tasks.get()) is not None:
            time.sleep(sleep_s)
            if spec.print_tasks:
                _announce(w, task)

    rss_before = current_rss_bytes()
    t0 = clock()
    workers = [threading.Thread(target=body, args=(w,), daemon=True) for w in range(n)]
    for t in workers:
        t.start()
    all_in.wait()
    t1 = clock()
    rss = current_rss_bytes()  # the N threads alive, blocked on the empty queue
    t2 = clock()
    for task in range(spec.tasks):
        tasks.put(task)
    for _ in range(n):
        tasks.put(None)
    for t in workers:
        t.join()
    t3 = clock()
    return Sample(t1 - t0, t3 - t2, rss_before, rss)


async def _asyncio_sample(spec: Spec) -> Sample:
    n, sleep_s = spec.workers, spec.task_sleep_ns / 1e9
    loop = asyncio.get_running_loop()
    tasks: asyncio.Queue[int | None] = asyncio.Queue()
    all_in = asyncio.Event()
    counted = [0]

    async def body(w: int) -> None:
        counted[0] += 1  # one event loop: no lock needed
        if counted[0] == n:
            all_in.set()
        while (task := await tasks.get()) is not None:
            await asyncio.sleep(sleep_s)
            if spec.print_tasks:
                _announce(w, task)

    rss_before = current_rss_bytes()
    t0 = clock()
    workers = [loop.create_task(body(w)) for w in range(n)]
    await all_in.wait()
    t1 = clock()
    rss = current_rss_bytes()
    t2 = clock()
    for task in range(spec.tasks):
        tasks.put_nowait(task)
    for _ in range(n):
        tasks.put_nowait(None)
    for t in workers:
        await t
    t3 = clock()
    return Sample(t1 - t0, t3 - t2, rss_before, rss)


def run(spec: Spec, out: RecordWriter) -> None:
    loop = asyncio.new_event_loop() if spec.mode == "asyncio" else None  # one loop for every sample
    try:
        for index in range(spec.warmup + spec.iterations):
            sample = loop.run_until_complete(_asyncio_sample(spec)) if loop else threads_sample(spec)
            out.write("spawn_sample", index=index, warmup=index < spec.warmup, workers=spec.workers,
                      tasks=spec.tasks, startup_ns=sample.startup_ns, tasks_ns=sample.tasks_ns,
                      rss_before_bytes=sample.rss_before_bytes, rss_bytes=sample.rss_bytes)
    finally:
        if loop:
            loop.close()
    out.note_memory()
