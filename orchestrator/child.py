"""A runner's process tree, kept on a leash: its own session, every pipe read bounded, the whole tree killed.

A runner may start children (Python's pre-forked servers) and a broken one may leave a grandchild that holds
its stdout open after it exits; reading that pipe to its end would then never return. So each runner starts in
a session of its own (POSIX) or a new process group (Windows), its stdout and stderr are read by threads that
the orchestrator stops waiting for at a deadline, and a stop kills the group and every descendant it knew of.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Callable

import psutil

MAX_LINE = 8 << 20  # a stdout record longer than this is garbage: its head is kept, the rest counted and dropped
MAX_STDERR = 32 << 20  # stderr kept per process; beyond this it is counted, not stored (a flood fills the disk)
GRACE_S = 3.0  # how long the pipes may stay open after the runner exited (its children finishing their writes)


def start(argv: list[str], env: dict[str, str], stdin: int, cpus: list[int] | None) -> subprocess.Popen:
    """Start a runner in its own session, so that killing it reaches every process it started."""
    if sys.platform == "win32":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                creationflags=flags)
        if cpus:
            psutil.Process(proc.pid).cpu_affinity(cpus)  # process-wide on Windows
        return proc
    return subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True, preexec_fn=_pin(cpus))


def _pin(cpus: list[int] | None) -> Callable[[], None] | None:
    """Pin the child before exec so that every thread it ever starts inherits the CPU set."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, cpus)


class Tree:
    """The processes a runner's tree ever had, gathered while it runs: a child that left the session is known."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        # psutil objects, taken while the pid was in the tree: is_running() and kill() check the creation time,
        # so a pid that the OS has since given to another program is never signalled.
        self.members: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()

    def add(self, pids: list[int]) -> None:
        """Pids seen in the tree while the runner ran (the memory sampler passes each look at it)."""
        with self._lock:
            for pid in pids:
                if pid != self.proc.pid and pid not in self.members:
                    try:
                        self.members[pid] = psutil.Process(pid)
                    except psutil.Error:
                        continue

    def note(self) -> None:
        try:
            pids = [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.Error:
            pids = []
        self.add(pids)

    def alive(self) -> list[psutil.Process]:
        """Processes of the tree still running after the runner itself ended."""
        self.note()
        with self._lock:
            members = list(self.members.values())
        out = []
        for p in members:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.Error:
                continue
        return out

    def stragglers(self, wait_s: float = 1.0) -> list[psutil.Process]:
        """Processes of the tree still running `wait_s` after the runner ended (a child may be just exiting)."""
        alive = self.alive()
        if alive:
            _, alive = psutil.wait_procs(alive, timeout=wait_s)
        return alive

    def holders(self, pipes: list[IO[bytes]]) -> list[psutil.Process]:
        """Processes outside the tree's view that hold one of its pipes open (a grandchild that left the
        session and was re-parented); Linux only, where /proc shows each descriptor's pipe."""
        if not sys.platform.startswith("linux"):
            return []
        want = set()
        for pipe in pipes:
            try:
                want.add(f"pipe:[{os.fstat(pipe.fileno()).st_ino}]")
            except (OSError, ValueError):
                continue
        out = []
        for pid in psutil.pids():
            if pid == os.getpid():
                continue
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                if any(os.readlink(f"/proc/{pid}/fd/{fd}") in want for fd in fds):
                    out.append(psutil.Process(pid))
            except (OSError, psutil.Error):
                continue
        self.add([p.pid for p in out])
        return out

    def kill(self) -> None:
        """Kill the session (POSIX) and every process the tree was seen to have, then the runner; reap it."""
        self.note()
        if sys.platform != "win32":
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the runner leads its own session and group
            except OSError:
                pass
        for p in self.alive():
            try:
                p.kill()
            except psutil.Error:
                pass
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover (an unkillable process: nothing more to do)
            pass


class Pipe(threading.Thread):
    """Reads one pipe to a file in the background, line by line, each line bounded; `stop` abandons it.

    `on_line` sees each line once it is in the file (a server's listening record is on disk before the load
    starts), `on_end` is called at the pipe's end. After `stop` nothing more reaches the file, so the file can be
    read while a stray grandchild still holds the pipe open.
    """

    def __init__(self, pipe: IO[bytes], sink: IO[Any], on_line: Callable[[bytes], None] | None = None,
                 on_end: Callable[[], None] | None = None, limit: int | None = None, text: bool = True) -> None:
        super().__init__(daemon=True)
        self.pipe, self.sink, self.limit, self.text = pipe, sink, limit, text
        self.on_line, self.on_end = on_line, on_end
        self.kept = 0
        self.dropped = 0  # bytes past `limit`
        self.cut_lines = 0  # lines longer than MAX_LINE
        self.error: OSError | None = None  # writing the file failed (disk full): the pipe is still drained
        self._lock = threading.Lock()
        self._stopped = False

    def run(self) -> None:
        try:
            while True:
                line = self.pipe.readline(MAX_LINE + 1)
                if not line:
                    break
                if len(line) > MAX_LINE and not line.endswith(b"\n"):
                    line = self._cut(line)
                self._write(line)
                if self.on_line is not None:
                    self.on_line(line)
        except (OSError, ValueError):  # the pipe was closed under us: the run is over
            pass
        finally:
            if self.on_end is not None:
                self.on_end()

    def _cut(self, head: bytes) -> bytes:
        """A line past MAX_LINE: skip to its end, keep a marker that no reader takes for a record."""
        size = len(head)
        while not head.endswith(b"\n"):
            head = self.pipe.readline(MAX_LINE)
            if not head:
                break
            size += len(head)
        self.cut_lines += 1
        return f"<a line of {size} bytes, longer than the {MAX_LINE} the protocol allows, cut by the " \
               f"orchestrator>\n".encode()

    def _write(self, line: bytes) -> None:
        with self._lock:
            if self._stopped:
                return
            if self.limit is not None and self.kept + len(line) > self.limit:
                self.dropped += len(line)
                return
            self.kept += len(line)
            try:
                self.sink.write(line.decode("utf-8", errors="replace") if self.text else line)
                self.sink.flush()
            except OSError as exc:  # keep reading, so that the runner never blocks on a full pipe
                self.error, self._stopped = exc, True

    def stop(self) -> None:
        """Nothing more is written after this returns."""
        with self._lock:
            self._stopped = True


def finish(pipes: list[Pipe], until: float, now: Callable[[], float]) -> bool:
    """Wait for the pipes to reach their end until `until`; False (and every pipe stopped) when one did not."""
    for pipe in pipes:
        pipe.join(timeout=max(0.0, until - now()))
    done = not any(p.is_alive() for p in pipes)
    for pipe in pipes:
        pipe.stop()
    return done


def note_dropped(stderr_path: Path, pipe: Pipe) -> None:
    """Say in the stderr file what was not kept of a flood, so that nothing goes missing silently."""
    if pipe.dropped:
        with open(stderr_path, "a", encoding="utf-8") as f:
            f.write(f"\n[orchestrator: {pipe.dropped} more bytes of stderr were not kept, past the "
                    f"{MAX_STDERR >> 20} MiB kept per process]\n")
