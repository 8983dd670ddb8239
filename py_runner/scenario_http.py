"""http: an HTTP inference server (docs/protocol.md, "http"), FastAPI on uvicorn, until stdin reaches end of file.

Mode `threads`: one process, K networks behind a pool of K threads, one bounded admission of K + Q requests.
Mode `processes`: K pre-forked worker processes on one listening socket, one network each (http_processes.py).
The web stack comes from the spec's http.python_path, imported here only, once the model file is known to be
there (a typo in a path is model_load, as in every runner, before the stack is looked for).
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import engine
import pool
from records import RecordWriter, RunnerError
from spec import Spec
from worker import Worker, clock

ADDRESS = "127.0.0.1"  # loopback only, whatever the spec says
OPEN_FILES = 65536  # a connection is a file descriptor: 1000+ keep-alive clients pass the usual soft limit, 1024

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Outcome:
    """What the end record says: `iterations` is the requests served, `warmup` K x warmup."""

    iterations: int
    warmup: int
    child_peak_rss: int = 0


def run(spec: Spec, out: RecordWriter) -> Outcome:
    engine.check_model_file(spec)
    app = import_stack(spec)
    _raise_open_files()
    if spec.mode == "processes":
        import http_processes

        return http_processes.run(spec, out, app)
    return run_threads(spec, out, app)


def import_stack(spec: Spec) -> ModuleType:
    """http_app with FastAPI, uvicorn, uvloop and httptools, from http.python_path first."""
    path = spec.http_python_path
    if path and path not in sys.path:
        sys.path.insert(0, path)
    try:
        import http_app
    except Exception as exc:  # noqa: BLE001 - an ImportError, or whatever a broken installation raises
        raise RunnerError("backend_unavailable", f"cannot import the web stack (FastAPI, uvicorn, uvloop, httptools) "
                          f"with http.python_path {path or 'none'}: {type(exc).__name__}: {exc}; `make serving` "
                          "installs it in engines/python-http") from exc
    return http_app


def _raise_open_files() -> None:
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError) as exc:  # macOS refuses above OPEN_MAX: serve with what there is
            print(f"py_runner: cannot raise the open-file limit from {soft}: {exc}", file=sys.stderr)


def bind(spec: Spec, backlog: int) -> socket.socket:
    """The listening socket at 127.0.0.1:port; a failure is internal, naming the address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # a new run may bind a port whose last connections are in TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ADDRESS, spec.http_port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise RunnerError("internal", f"cannot listen on {ADDRESS}:{spec.http_port}: {exc}") from exc
    return sock


class Startup:
    """startup_ns: from before the first network is loaded until the socket listens and the server accepts."""

    def __init__(self) -> None:
        self.t0 = clock()
        self.ns = 0

    def listening(self, out: RecordWriter, sock: socket.socket) -> None:
        self.ns = clock() - self.t0
        out.write("listening", address=ADDRESS, port=sock.getsockname()[1], startup_ns=self.ns)


def wait_for_eof() -> None:
    """Block until stdin reaches end of file: the orchestrator's stop. A spec read from stdin is already there."""
    try:
        while os.read(0, 65536):
            pass
    except OSError:  # no stdin at all is the same as a closed one
        pass


class Numbering:
    """Gives served requests' iteration records their index, 0, 1, ... in the order they reach the writer."""

    def __init__(self) -> None:
        self.next = 0

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["type"] == "iteration" and record["index"] is None:
            record["index"] = self.next
            self.next += 1
        return record


class Sink:
    """One writer thread between the event loop and stdout: a handler hands its record over without waiting on
    the pipe, and the thread numbers the records in the order it gets them (completion order)."""

    def __init__(self, out: RecordWriter) -> None:
        self._records: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        number = Numbering()

        def drain() -> None:
            while (record := self._records.get()) is not None:
                out.write_record(number(record))

        self._thread = threading.Thread(target=drain, name="records", daemon=True)
        self._thread.start()

    def put(self, record: dict[str, Any]) -> None:
        self._records.put(record)

    def close(self) -> None:
        self._records.put(None)
        self._thread.join()


def _stop_on_eof(server: Any) -> None:
    wait_for_eof()
    server.should_exit = True  # uvicorn's main loop looks every 0.1 s, then stops accepting and drains


def unseen_images(spec: Spec) -> list[str]:
    """The images no warm-up reached (every network warms up on images[0 .. warmup - 1] alike)."""
    warmed = {spec.images[i % len(spec.images)] for i in range(min(spec.warmup, len(spec.images)))}
    return [p for p in dict.fromkeys(spec.images) if p not in warmed]


def first_time_checker() -> Callable[[str], bool]:
    """A detections record is written the first time an image is processed, by whichever network."""
    lock = threading.Lock()
    seen: set[str] = set()

    def first_time(path: str) -> bool:
        with lock:
            new = path not in seen
            seen.add(path)
            return new

    return first_time


def load_networks(spec: Spec, emit: Emit) -> list[tuple[int, Worker]]:
    """K networks loaded and warmed up at once, one thread each (records as in concurrency)."""
    networks: list[tuple[int, Worker]] = []
    errors: list[BaseException] = []
    first_time = first_time_checker()

    def body(w: int) -> None:
        try:
            worker = Worker(spec)
            emit(worker.load_record(w))
            pool.warm_up(worker, spec, w, emit, first_time)
            networks.append((w, worker))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(w,), daemon=True) for w in range(spec.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sorted(networks, key=lambda n: n[0])


def run_threads(spec: Spec, out: RecordWriter, app: ModuleType) -> Outcome:
    startup = Startup()
    networks = load_networks(spec, out.write_record)
    sock = bind(spec, app.BACKLOG)
    sink = Sink(out)
    service = app.Service(spec, networks, spec.workers + spec.http_queue, sink.put)
    server = app.server(service, lambda: startup.listening(out, sock))
    threading.Thread(target=_stop_on_eof, args=(server,), name="stdin", daemon=True).start()
    try:
        server.run(sockets=[sock])  # returns once the admitted requests are answered
    finally:
        service.close()
        sock.close()
    pool.report_unseen(networks[0][1], unseen_images(spec), sink.put)
    sink.close()
    out.note_memory()  # the networks are still loaded
    out.write("result", scenario="http", workers=spec.workers, mode=spec.mode, startup_ns=startup.ns,
              served=service.served, rejected=service.rejected)
    return Outcome(service.served, spec.workers * spec.warmup)
