"""Shared helpers. Integration tests need the real models and images: `make test` fetches them first."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODEL_320 = ROOT / "models" / "yolov5s-320.onnx"
MODEL_640 = ROOT / "models" / "yolov5s-640.onnx"
IMAGES = ROOT / "data" / "images"
SYSTEM_PYTHON = "/usr/bin/python3"

sys.path.insert(0, str(ROOT / "py_runner"))


@pytest.fixture(scope="session")
def real_assets() -> None:
    """Fail (not skip) when the real model or images are missing: a skipped real test proves nothing."""
    missing = [str(p) for p in (MODEL_320, MODEL_640, IMAGES / "bus.jpg") if not p.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make models data` first")


# --- The Windows code paths on this kernel (tests/test_windows_paths.py) ---------------------------------------
# The orchestrator asks orchestrator/hostos.py which OS it runs on. `pretend_windows` selects Windows there and
# makes this process look like Windows where the code could notice: the POSIX-only os functions are gone (as on
# Windows, so a `hasattr` guard takes its Windows branch and an unguarded call fails), Popen takes its arguments
# as Windows' Popen does (creationflags recorded, then dropped: Linux refuses them; preexec_fn refused;
# start_new_session ignored), and kernel32 is a FakeKernel32. Only the job object and the console flag are fake.

POSIX_ONLY = ("killpg", "setsid", "getsid", "getpgid", "sched_setaffinity", "sched_getaffinity", "getloadavg")


class FakeKernel32:
    """kernel32's job-object calls, recorded in order. Handles are numbers; a job's members are the pids
    assigned to it (a test adds what Windows would add: the processes a member starts). Nothing is killed.
    The methods bear kernel32's names and take its arguments as orchestrator/child.py passes them."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[tuple] = []
        self.jobs: dict[int, list[int]] = {}
        self.processes: dict[int, int] = {}  # process handle -> pid
        self.refuse = refuse  # the name of a call that fails (returns 0)
        self._next = 0x100

    def _new(self) -> int:
        self._next += 4
        return self._next

    def _result(self, name: str, *args: object, value: int = 1) -> int:
        value = 0 if name == self.refuse else value
        self.calls.append((name, *args))
        return value

    def CreateJobObjectW(self, attributes: object, name: object) -> int:
        handle = self._new()
        self.jobs[handle] = []
        return self._result("CreateJobObjectW", attributes, name, value=handle)

    def SetInformationJobObject(self, job: int, info_class: int, address: int, size: int) -> int:
        from orchestrator import child

        flags = child.ExtendedLimits.from_address(address).BasicLimitInformation.LimitFlags
        return self._result("SetInformationJobObject", job, info_class, flags, size)

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        handle = self._new()
        self.processes[handle] = pid
        return self._result("OpenProcess", access, inherit, pid, value=handle)

    def AssignProcessToJobObject(self, job: int, process: int) -> int:
        if self.refuse != "AssignProcessToJobObject":
            self.jobs[job].append(self.processes[process])
        return self._result("AssignProcessToJobObject", job, process)

    def QueryInformationJobObject(self, job: int, info_class: int, address: int, size: int,
                                  returned: object) -> int:
        import psutil

        from orchestrator import child

        found = child.JobPids.from_address(address)
        pids = [p for p in self.jobs.get(job, []) if psutil.pid_exists(p)]
        found.NumberOfAssignedProcesses = found.NumberOfProcessIdsInList = len(pids)
        for i, pid in enumerate(pids):
            found.ProcessIdList[i] = pid
        return self._result("QueryInformationJobObject", job, info_class, size)

    def TerminateJobObject(self, job: int, code: int) -> int:
        return self._result("TerminateJobObject", job, code)

    def CloseHandle(self, handle: int) -> int:
        return self._result("CloseHandle", handle)

    def acts(self) -> list[tuple]:
        """The calls that change something (not the member queries, which the tree makes as often as it looks)."""
        return [c for c in self.calls if c[0] != "QueryInformationJobObject"]

    def names(self) -> list[str]:
        return [c[0] for c in self.acts()]


def windows_popen(real: type, log: list[tuple]) -> type:
    """subprocess.Popen as Windows' Popen takes its arguments, on this kernel."""

    class WindowsPopen(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, creationflags: int = 0, preexec_fn: object = None,
                     start_new_session: bool = False, **kwargs: object) -> None:
            if preexec_fn is not None:
                raise ValueError("preexec_fn is not supported on Windows platforms")
            log.append(("Popen", creationflags, start_new_session))
            super().__init__(*args, **kwargs)

    return WindowsPopen


def pretend_windows(setattr_: Callable[..., None], delattr_: Callable[..., None], kernel32: FakeKernel32,
                    popen_log: list[tuple]) -> None:
    """Select Windows in orchestrator/hostos.py and make this process look like Windows (see above)."""
    import subprocess

    from orchestrator import child, hostos

    for name, value in (("WINDOWS", True), ("LINUX", False), ("PROCFS", False)):
        setattr_(hostos, name, value)
    for name in POSIX_ONLY:
        if hasattr(os, name):
            delattr_(os, name)
    setattr_(subprocess, "Popen", windows_popen(subprocess.Popen, popen_log))
    setattr_(child, "kernel32", lambda: kernel32)


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeKernel32, list[tuple]]]:
    """The Windows code paths for one test: (the fake kernel32, Popen's recorded (flags, new session))."""
    kernel32, popen_log = FakeKernel32(), []
    pretend_windows(monkeypatch.setattr, monkeypatch.delattr, kernel32, popen_log)
    yield kernel32, popen_log


# ORCH_FAKE_OS=windows: a whole pytest session on the Windows code paths, selected before any test module
# imports the orchestrator (runners' and load's paths are taken at import). ORCH_FAKE_OS_LOG names a file that
# gets the fake kernel32's calls and Popen's arguments at the end, so the caller sees that they were used.
if os.environ.get("ORCH_FAKE_OS") == "windows":
    _SESSION_KERNEL32, _SESSION_POPEN = FakeKernel32(), []
    pretend_windows(setattr, delattr, _SESSION_KERNEL32, _SESSION_POPEN)

    def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
        log = os.environ.get("ORCH_FAKE_OS_LOG")
        if log:
            Path(log).write_text(json.dumps({"kernel32": _SESSION_KERNEL32.calls, "popen": _SESSION_POPEN}),
                                 encoding="utf-8")
