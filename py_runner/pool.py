"""N inference workers fed from one queue: Python threads or processes (concurrency and server scenarios).

Each worker has its own Net, loads and warms up on its own, then waits for the release so that every worker
starts serving at once. Jobs are (k, arrival_ns) tuples; arrival_ns is None in the closed-loop concurrency
scenario and the request's arrival time in the open-loop server scenario. cv2 releases the GIL inside OpenCV
calls, so threads overlap there; Python-level work (numpy post-processing, the loop) holds it. Processes avoid
the GIL at the price of memory and start-up; they are started with `spawn`, as forking a process whose OpenCV
thread pool is already running can deadlock.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

import cv2
from records import RunnerError, iteration_record
from spec import Spec
from worker import Worker, clock, detections_record, read_image

Emit = Callable[[dict[str, Any]], None]


@dataclass
class Timing:
    startup_ns: int = 0  # from starting the first worker to the last one warmed up
    release_ns: int = 0  # clock when the workers were released
    last_done_ns: int = 0  # clock of the last completion
    child_peak_rss: int = 0


def warm_up(worker: Worker, spec: Spec, w: int, emit: Emit, seen: Callable[[str], bool]) -> None:
    """The worker's own warm-up iterations, before the release (reported with warmup: true)."""
    for i in range(spec.warmup):
        path = spec.images[i % len(spec.images)]  # as every runner: images[i % len(images)] (docs/protocol.md)
        phases, image, dets = worker.process(path)
        _emit_iteration(emit, i, True, w, path, phases, dets, None, None)
        if seen(path):
            emit(detections_record(os.path.basename(path), image, dets))


def report_unseen(worker: Worker, paths: list[str], emit: Emit) -> None:
    """Detections records of the images no request reached, processed untimed after the measured work (every
    image of the spec gets one, as in every runner)."""
    for path in paths:
        image = read_image(path)
        _, _, dets = worker.finish(image, 0, 0)
        emit(detections_record(os.path.basename(path), image, dets))


def work(worker: Worker, spec: Spec, w: int, jobs: Any, emit: Emit, seen: Callable[[str], bool]) -> int:
    """Take jobs until the sentinel (None); returns the clock of the last completion."""
    last = 0
    while True:
        job = jobs.get()
        if job is None:
            return last
        k, arrival = job
        path = spec.images[k % len(spec.images)]
        start = clock()
        phases, image, dets = worker.process(path)
        last = clock()
        queue_ns = None if arrival is None else max(0, start - arrival)
        latency_ns = None if arrival is None else last - arrival
        _emit_iteration(emit, k, False, w, path, phases, dets, queue_ns, latency_ns)
        if seen(path):
            emit(detections_record(os.path.basename(path), image, dets))


def _emit_iteration(emit: Emit, index: int, warm: bool, w: int, path: str, phases: dict[str, int], dets: Any,
                    queue_ns: int | None, latency_ns: int | None) -> None:
    served = {} if latency_ns is None else {"queue_ns": queue_ns, "latency_ns": latency_ns}
    emit(iteration_record(index, warm, os.path.basename(path), phases, len(dets.scores), worker=w, **served))


def run_threads(spec: Spec, emit: Emit, feed: Callable[[Any, int], None],
                memory: Callable[[], None] = lambda: None) -> Timing:
    """Threads share this process: one Net each, one queue.Queue of jobs; `feed(jobs, release_ns)` fills it.
    `memory()` runs once every worker has finished, while their networks are still loaded."""
    jobs: queue.Queue = queue.Queue()
    lock = threading.Lock()
    seen_paths: set[str] = set()
    ready = threading.Barrier(spec.workers + 1)
    release = threading.Event()
    lasts = [0] * spec.workers
    errors: list[BaseException] = []
    workers: list[Worker] = []  # kept until memory() has run: a freed network would leave the memory figure

    def first_time(path: str) -> bool:
        with lock:
            new = path not in seen_paths
            seen_paths.add(path)
            return new

    def body(w: int) -> None:
        try:
            worker = Worker(spec)
            workers.append(worker)
            emit(worker.load_record(w))
            warm_up(worker, spec, w, emit, first_time)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            ready.abort()
            return
        ready.wait()
        release.wait()
        try:
            lasts[w] = work(worker, spec, w, jobs, emit, first_time)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t0 = clock()
    threads = [threading.Thread(target=body, args=(w,), daemon=True) for w in range(spec.workers)]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        _raise_first(errors)
    timing = Timing(startup_ns=clock() - t0)
    timing.release_ns = clock()
    release.set()
    feed(jobs, timing.release_ns)
    for t in threads:
        t.join()
    _raise_first(errors)
    report_unseen(workers[0], [p for p in dict.fromkeys(spec.images) if first_time(p)], emit)
    memory()
    timing.last_done_ns = max(lasts)
    return timing


def _raise_first(errors: list[BaseException]) -> None:
    if errors:
        raise errors[0]


def _child(spec: Spec, w: int, jobs: Any, results: Any, release: Any, tail: Any) -> None:
    """A worker process: everything it would write goes to the parent through `results`. After the measured work,
    worker 0 gets from `tail` the images no request reached and writes their detections."""
    try:
        if spec.threads > 0:
            cv2.setNumThreads(spec.threads)
        worker = Worker(spec)
        seen_here: set[str] = set()

        def first_time(path: str) -> bool:  # the parent removes duplicates between processes
            new = path not in seen_here
            seen_here.add(path)
            return new

        results.put(("record", worker.load_record(w)))
        warm_up(worker, spec, w, lambda r: results.put(("record", r)), first_time)
        results.put(("ready", w))
        release.wait()
        last = work(worker, spec, w, jobs, lambda r: results.put(("record", r)), first_time)
        results.put(("done", last))
        if w == 0:
            report_unseen(worker, tail.get(), lambda r: results.put(("record", r)))
            results.put(("tail", None))
    except RunnerError as exc:
        results.put(("error", (exc.code, str(exc))))
    except BaseException as exc:  # noqa: BLE001 - the parent turns it into an error record
        results.put(("error", ("internal", f"worker process {w}: {type(exc).__name__}: {exc}")))


def run_processes(spec: Spec, emit: Emit, feed: Callable[[Any, int], None]) -> Timing:
    ctx = multiprocessing.get_context("spawn")
    jobs, results, release, tail = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Queue()
    t0 = clock()
    procs = [ctx.Process(target=_child, args=(spec, w, jobs, results, release, tail), daemon=True)
             for w in range(spec.workers)]
    for p in procs:
        p.start()
    seen: set[str] = set()
    timing = Timing()
    _collect(results, procs, emit, seen, until="ready", count=spec.workers)
    timing.startup_ns = clock() - t0
    timing.release_ns = clock()
    release.set()
    feeder = threading.Thread(target=feed, args=(jobs, timing.release_ns), daemon=True)
    feeder.start()
    lasts = _collect(results, procs, emit, seen, until="done", count=spec.workers)
    tail.put([p for p in dict.fromkeys(spec.images) if os.path.basename(p) not in seen])
    _collect(results, procs, emit, seen, until="tail", count=1)
    feeder.join()
    for p in procs:
        p.join()
    timing.last_done_ns = max(lasts)
    timing.child_peak_rss = children_peak_rss()
    return timing


def _collect(results: Any, procs: list[Any], emit: Emit, seen: set[str], until: str, count: int) -> list[int]:
    """Write the workers' records as they come until `count` workers said `until`; a dead worker is an error."""
    values = []
    while len(values) < count:
        try:
            kind, payload = results.get(timeout=1.0)
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RunnerError("internal", f"a worker process died with exit code {dead[0]}") from None
            continue
        if kind == "record":
            if payload["type"] == "detections":
                if payload["image"] in seen:
                    continue
                seen.add(payload["image"])
            emit(payload)
        elif kind == "error":
            raise RunnerError(*payload)
        elif kind == until:
            values.append(payload)
    return values


def children_peak_rss() -> int:
    try:
        import resource
    except ImportError:  # Windows: the orchestrator's sampler still measures the whole process tree
        return 0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak if os.uname().sysname == "Darwin" else peak * 1024


def run(spec: Spec, emit: Emit, feed: Callable[[Any, int], None], memory: Callable[[], None] = lambda: None
        ) -> Timing:
    """`memory()` runs once the measured work is done, with the networks still loaded (threads mode; worker
    processes hold their own, which the orchestrator samples)."""
    if spec.mode == "processes":
        return run_processes(spec, emit, feed)
    return run_threads(spec, emit, feed, memory)
