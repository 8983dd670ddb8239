"""A runner's process tree, kept on a leash: its own session, every pipe read bounded, the whole tree killed.

A runner may start children (Python's pre-forked servers) and a broken one may leave a grandchild that holds
its stdout open after it exits; reading that pipe to its end would then never return. So each runner starts in
a session of its own (POSIX), or in a new process group and a job object of its own (Windows: `Job`), its stdout
and stderr are read by threads that the orchestrator stops waiting for at a deadline, and a stop kills the
session or the job and every descendant it knew of.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, Any, Callable

import psutil

from . import hostos

MAX_LINE = 8 << 20  # a stdout record longer than this is garbage: its head is kept, the rest counted and dropped
MAX_STDERR = 32 << 20  # stderr kept per process; beyond this it is counted, not stored (a flood fills the disk)
GRACE_S = 3.0  # how long the pipes may stay open after the runner exited (its children finishing their writes)


def start(argv: list[str], env: dict[str, str], stdin: int, cpus: list[int] | None) -> Tree:
    """Start a runner so that stopping it reaches every process it starts: POSIX, in a session of its own
    (pinned before exec); Windows, in a new process group and a job object of its own."""
    if not hostos.WINDOWS:
        proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                start_new_session=True, preexec_fn=_pin(cpus))
        return Tree(proc)
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            creationflags=hostos.CREATE_NEW_PROCESS_GROUP)
    # Popen cannot start a process suspended (CREATE_SUSPENDED would need a ResumeThread on a thread handle
    # Popen closes), so the runner is put in its job right after it starts: the usual compromise. Anything it
    # starts from then on is in the job too; nothing a runner does in its first microseconds starts a process.
    try:
        tree = Tree(proc, open_job(proc.pid))
    except BaseException:  # a fault in the job's ctypes calls (not a refusal): never leave the runner running
        proc.kill()
        proc.wait(timeout=10)
        raise
    if cpus:
        try:
            psutil.Process(proc.pid).cpu_affinity(cpus)  # process-wide; the processes it starts inherit it
        except psutil.Error as exc:  # never measure unpinned what the config pinned
            tree.kill()
            raise OSError(0, f"cannot set its CPU affinity to {cpus}: {exc}") from exc
    return tree


def _pin(cpus: list[int] | None) -> Callable[[], None] | None:
    """Pin the child before exec so that every thread it ever starts inherits the CPU set."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, cpus)


# --- Windows: a job object per runner ---------------------------------------------------------------------------

JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_EXTENDED_LIMIT_INFORMATION = 9  # JOBOBJECTINFOCLASS JobObjectExtendedLimitInformation
JOB_BASIC_PROCESS_ID_LIST = 3  # JobObjectBasicProcessIdList
PROCESS_SET_QUOTA, PROCESS_TERMINATE = 0x0100, 0x0001  # what AssignProcessToJobObject needs of the process
JOB_KILL_EXIT_CODE = 1  # what TerminateJobObject gives every member, as Popen.kill (TerminateProcess) does
MAX_JOB_PIDS = 4096  # a longer member list is cut (the job still kills every member)


class _BasicLimits(ctypes.Structure):  # JOBOBJECT_BASIC_LIMIT_INFORMATION
    _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
                ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32),
                ("SchedulingClass", ctypes.c_uint32)]


class _IoCounters(ctypes.Structure):  # IO_COUNTERS
    _fields_ = [(name, ctypes.c_uint64) for name in ("ReadOperationCount", "WriteOperationCount",
                                                      "OtherOperationCount", "ReadTransferCount",
                                                      "WriteTransferCount", "OtherTransferCount")]


class ExtendedLimits(ctypes.Structure):  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION (144 bytes on 64-bit Windows)
    _fields_ = [("BasicLimitInformation", _BasicLimits), ("IoInfo", _IoCounters),
                ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]


class JobPids(ctypes.Structure):  # JOBOBJECT_BASIC_PROCESS_ID_LIST, room for MAX_JOB_PIDS
    _fields_ = [("NumberOfAssignedProcesses", ctypes.c_uint32), ("NumberOfProcessIdsInList", ctypes.c_uint32),
                ("ProcessIdList", ctypes.c_size_t * MAX_JOB_PIDS)]


_KERNEL32: Any = None


def kernel32() -> Any:
    """Windows' kernel32 with the prototypes Job uses (a private WinDLL: no other module's prototypes change).
    Tests replace this function with a fake; nothing else in this module touches ctypes' loaders."""
    global _KERNEL32
    if _KERNEL32 is None:
        k = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle, dword, ok = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int
        for name, args, result in (
                ("CreateJobObjectW", [ctypes.c_void_p, ctypes.c_wchar_p], handle),
                ("SetInformationJobObject", [handle, ctypes.c_int, ctypes.c_void_p, dword], ok),
                ("QueryInformationJobObject", [handle, ctypes.c_int, ctypes.c_void_p, dword, ctypes.c_void_p], ok),
                ("OpenProcess", [dword, ok, dword], handle),
                ("AssignProcessToJobObject", [handle, handle], ok),
                ("TerminateJobObject", [handle, ctypes.c_uint], ok),
                ("CloseHandle", [handle], ok)):
            getattr(k, name).argtypes, getattr(k, name).restype = args, result
        _KERNEL32 = k
    return _KERNEL32


def _win_error(what: str) -> OSError:
    code = ctypes.get_last_error() if hasattr(ctypes, "get_last_error") else 0
    return OSError(code, f"{what} failed (Windows error {code})")


class Job:
    """A Win32 job object that holds one runner and everything it starts (children inherit the job).

    KILL_ON_JOB_CLOSE: when the last handle closes, every member is killed, so the tree dies with the
    orchestrator even when the orchestrator itself is killed (its handles close with it). The handle is not
    inheritable (no security attributes), so no runner holds the job open. Nested jobs (Windows 8 and later)
    make this work when the orchestrator itself runs in a job (a CI service, a terminal); no breakaway is asked.
    """

    def __init__(self, k32: Any) -> None:
        self._k32 = k32
        self.handle = k32.CreateJobObjectW(None, None)
        if not self.handle:
            raise _win_error("CreateJobObjectW")
        limits = ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not k32.SetInformationJobObject(self.handle, JOB_EXTENDED_LIMIT_INFORMATION, ctypes.addressof(limits),
                                           ctypes.sizeof(limits)):
            error = _win_error("SetInformationJobObject")
            self.close()
            raise error

    def assign(self, pid: int) -> None:
        """Put a running process in the job. The pid cannot name another process yet: Popen holds its handle."""
        process = self._k32.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, False, pid)
        if not process:
            raise _win_error("OpenProcess")
        try:
            if not self._k32.AssignProcessToJobObject(self.handle, process):
                raise _win_error("AssignProcessToJobObject")
        finally:
            self._k32.CloseHandle(process)

    def pids(self) -> list[int]:
        """The job's live members: every process the runner's tree started, re-parented or not."""
        if not self.handle:
            return []
        found = JobPids()
        if not self._k32.QueryInformationJobObject(self.handle, JOB_BASIC_PROCESS_ID_LIST, ctypes.addressof(found),
                                                   ctypes.sizeof(found), None):
            if not found.NumberOfProcessIdsInList:  # ERROR_MORE_DATA still fills the list: use what came
                return []
        return [int(pid) for pid in found.ProcessIdList[:min(found.NumberOfProcessIdsInList, MAX_JOB_PIDS)]]

    def terminate(self) -> None:
        if self.handle:
            self._k32.TerminateJobObject(self.handle, JOB_KILL_EXIT_CODE)

    def close(self) -> None:
        """Close the handle (once): members still running die now (KILL_ON_JOB_CLOSE)."""
        if self.handle:
            handle, self.handle = self.handle, None
            self._k32.CloseHandle(handle)


def open_job(pid: int) -> Job | None:
    """A job holding the process `pid`; None when Windows refuses one (the tree is then stopped through the
    pids it was seen to have, as before job objects)."""
    job = None
    try:
        job = Job(kernel32())
        job.assign(pid)
    except OSError:
        if job is not None:
            job.close()
        return None
    return job


class Tree:
    """The processes a runner's tree ever had, gathered while it runs: a child that left the session is known."""

    def __init__(self, proc: subprocess.Popen, job: Job | None = None) -> None:
        self.proc = proc
        self.job = job  # Windows: the runner's job object (None on POSIX, or where Windows refused one)
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
        if self.job is not None:  # Windows: the job also knows a grandchild whose parent has ended
            pids += self.job.pids()
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
        session and was re-parented); Linux only, where /proc shows each descriptor's pipe. On Windows every
        process the runner starts is in its job, so `stragglers` has already found any that holds a pipe."""
        if not hostos.PROCFS:
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
        """Kill the session (POSIX) or the job (Windows) and every process the tree was seen to have, then the
        runner; reap it."""
        self.note()
        if self.job is not None:
            self.job.terminate()
        elif not hostos.WINDOWS:
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
        self.close()

    def close(self) -> None:
        """The runner's tree is done with (Windows: its job handle closed, which kills what is left in it; the
        caller has looked for stragglers first, so that a runner that leaves one fails its cell)."""
        if self.job is not None:
            self.job.close()


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
