"""http, mode processes: K pre-forked uvicorn workers on one listening socket, as gunicorn's uvicorn workers run.

The parent binds 127.0.0.1:port, forks K workers that inherit the socket, and never serves: each worker loads
its own network, warms it up and runs its own uvicorn server on the shared socket (the kernel hands each new
connection to whichever worker accepts it first). Each worker admits 1 request in service plus its share of the
queue Q (Q // K, one more for the first Q % K workers), so that K + Q requests at most are admitted in all; a
worker refuses with 503 beyond its own share even when another worker is idle, as a pre-forked server does.

Everything a worker writes reaches the parent over one multiprocessing queue, and the parent writes it to stdout,
one line each: detections once per image, served requests numbered in the order the parent gets them.

Stopping: every worker watches the read end of one pipe whose write end only the parent holds. On stdin's end of
file the parent closes it: each worker stops accepting, answers what it has admitted, reports its counts and
exits. If the parent dies, the kernel closes the pipe just the same; on Linux the workers also get SIGTERM
(PR_SET_PDEATHSIG), so nothing is left running. Fork is the mechanism (the socket and the parent's imports are
inherited): the spec check answers unsupported_scenario where os.fork is missing (Windows). On macOS fork exists
but Apple's system libraries are not all fork-safe; the parent forks before it has run any OpenCV work.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
from types import ModuleType
from typing import Any

import cv2
import pool
from records import RecordWriter, RunnerError
from scenario_http import Numbering, Outcome, Startup, bind, first_time_checker, unseen_images, wait_for_eof
from spec import Spec
from worker import Worker

PR_SET_PDEATHSIG = 1
POLL_S = 0.1  # how often the parent looks for a dead worker while no message comes


def share(spec: Spec, w: int) -> int:
    """Worker w's share of the queue; the shares add up to Q."""
    q, k = spec.http_queue, spec.workers
    return q // k + (1 if w < q % k else 0)


class Forward:
    """The parent's writer: every worker's records, detections once per image, served requests numbered."""

    def __init__(self, out: RecordWriter) -> None:
        self.out = out
        self.number = Numbering()
        self.images: set[str] = set()

    def __call__(self, record: dict[str, Any]) -> None:
        if record["type"] == "detections":
            if record["image"] in self.images:
                return
            self.images.add(record["image"])
        self.out.write_record(self.number(record))


def run(spec: Spec, out: RecordWriter, app: ModuleType) -> Outcome:
    startup = Startup()
    sock = bind(spec, app.BACKLOG)
    ctx = multiprocessing.get_context("fork")
    messages = ctx.Queue()
    stop_r, stop_w = os.pipe()
    pipe = (stop_r, stop_w, os.getpid())
    procs = [ctx.Process(target=_child, args=(spec, w, out, app, sock, messages, pipe), daemon=True)
             for w in range(spec.workers)]
    forward = Forward(out)
    try:
        for p in procs:
            p.start()
        os.close(stop_r)
        _drain(messages, procs, forward, "ready", spec.workers)
        startup.listening(out, sock)
        eof = threading.Event()
        threading.Thread(target=lambda: (wait_for_eof(), eof.set()), daemon=True).start()
        _drain(messages, procs, forward, "", 0, eof)
        sock.close()  # the workers hold their own copies until their servers have stopped accepting
        os.close(stop_w)
        stop_w = -1
        counts = _drain(messages, procs, forward, "done", spec.workers)
        for p in procs:
            p.join()
    finally:
        _stop(procs, stop_w)
    served, rejected = sum(c[1] for c in counts), sum(c[2] for c in counts)
    out.write("result", scenario="http", workers=spec.workers, mode=spec.mode, startup_ns=startup.ns, served=served,
              rejected=rejected)
    return Outcome(served, spec.workers * spec.warmup, pool.children_peak_rss())


def _stop(procs: list[Any], stop_w: int) -> None:
    """After a failure, the workers still running are terminated and reaped (nothing is left behind); after a
    normal stop they have all been joined already."""
    if stop_w >= 0:
        os.close(stop_w)
    for p in procs:
        if p.pid is not None and p.exitcode is None:
            p.terminate()
            p.join(2)
            if p.exitcode is None:
                p.kill()
                p.join()


def _drain(messages: Any, procs: list[Any], forward: Forward, until: str, count: int,
           stop: threading.Event | None = None) -> list[Any]:
    """Write the workers' records until `count` workers said `until` (or `stop` is set); a worker that exits
    before it said `done`, or reports an error, is an error of the run."""
    values: list[Any] = []
    suspects: set[int] = set()
    while len(values) < count or (stop is not None and not stop.is_set()):
        try:
            kind, payload = messages.get(timeout=POLL_S)
        except queue.Empty:
            suspects = _check_alive(procs, values if until == "done" else [], suspects)
            continue
        if kind == "record":
            forward(payload)
        elif kind == "error":
            raise RunnerError(*payload)
        elif kind == until:
            values.append(payload)
    return values


def _check_alive(procs: list[Any], done: list[Any], suspects: set[int]) -> set[int]:
    """The workers that exited without saying `done`. A worker writes everything before it exits, but its last
    message may land just after a poll came back empty: it is an error only if a poll that began after its exit
    was seen found nothing either."""
    finished = {c[0] for c in done}
    dead = {w for w, p in enumerate(procs) if p.exitcode is not None and w not in finished}
    for w in sorted(dead & suspects):
        raise RunnerError("internal", f"http worker process {w} (pid {procs[w].pid}) exited with code "
                          f"{procs[w].exitcode} before it had stopped serving")
    return dead


def _child(spec: Spec, w: int, out: RecordWriter, app: ModuleType, sock: Any, messages: Any,
           pipe: tuple[int, int, int]) -> None:
    """A worker process: its network, its warm-up, its own uvicorn server on the inherited socket. `pipe` is the
    stop pipe's two ends and the parent's pid."""
    stop_r, stop_w, parent = pipe
    os.close(stop_w)  # only the parent holds it: its close, or its death, is the stop
    out.close_in_child()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the workers
    _die_with_parent(parent)

    def emit(record: dict[str, Any]) -> None:
        messages.put(("record", record))

    try:
        if spec.threads > 0:
            cv2.setNumThreads(spec.threads)
        worker = Worker(spec)
        emit(worker.load_record(w))
        pool.warm_up(worker, spec, w, emit, first_time_checker())
        service = app.Service(spec, [(w, worker)], 1 + share(spec, w), emit)
        server = app.server(service, lambda: messages.put(("ready", w)))
        threading.Thread(target=_stop_on_close, args=(stop_r, server), daemon=True).start()
        try:
            server.run(sockets=[sock])
        finally:
            service.close()
        if w == 0:  # every worker warmed up on the same images: worker 0 reports the others
            pool.report_unseen(worker, unseen_images(spec), emit)
        messages.put(("done", (w, service.served, service.rejected)))
    except RunnerError as exc:
        messages.put(("error", (exc.code, f"http worker process {w}: {exc}")))
    except BaseException as exc:  # noqa: BLE001 - the parent turns it into an error record
        messages.put(("error", ("internal", f"http worker process {w}: {type(exc).__name__}: {exc}")))


def _stop_on_close(stop_r: int, server: Any) -> None:
    while os.read(stop_r, 1):
        pass
    server.should_exit = True


def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM when the parent dies, even by SIGKILL; the stop pipe covers every other platform."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the signal was set
        os._exit(1)
