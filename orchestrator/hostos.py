"""The host operating system, in one place: every choice the orchestrator makes between Windows and POSIX.

Other modules read `hostos.WINDOWS` (or call one of these functions) when they run, never `sys.platform`,
`os.name` or a `hasattr(os, ...)` of their own, so that a test selects the Windows code paths by setting
WINDOWS (and clearing LINUX and PROCFS) on this module (tests/conftest.py: `windows`, ORCH_FAKE_OS=windows).
What cannot be faked on another kernel stays behind objects a test replaces: the job object's kernel32
(orchestrator/child.py) and the Popen flags below, which only Windows' Popen accepts.

This module imports nothing of the orchestrator (config, runners and engines import it).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import psutil

WINDOWS: bool = sys.platform == "win32"
LINUX: bool = sys.platform.startswith("linux")
PROCFS: bool = LINUX and os.path.isdir("/proc")  # /proc readable: the sampler's fast path, pipe holders
# Win32's value (subprocess has the name on Windows only): the runner gets no Ctrl-C of the console, the
# orchestrator handles it and stops the runner's tree itself.
CREATE_NEW_PROCESS_GROUP = 0x00000200


def exe(name: str) -> str:
    """A program's file name: `vegeta` here, `vegeta.exe` on Windows (go build, go install and CMake add it)."""
    return f"{name}.exe" if WINDOWS else name


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment: bin/python, or Scripts\\python.exe on Windows."""
    return venv / "Scripts" / "python.exe" if WINDOWS else venv / "bin" / "python"


def console_python(executable: str) -> str:
    """On Windows, pythonw.exe (no console; its sys.stdout may be None) as its python.exe beside it: a runner
    writes its records to stdout. Elsewhere, or when there is no python.exe beside it, unchanged."""
    path = Path(executable)
    if WINDOWS and path.name.lower() == "pythonw.exe" and (path.parent / "python.exe").is_file():
        return str(path.parent / "python.exe")
    return executable


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity (sched_getaffinity on Linux, psutil's on Windows)."""
    if not WINDOWS and hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    try:
        return len(psutil.Process().cpu_affinity() or []) or os.cpu_count() or 1
    except (AttributeError, psutil.Error):  # macOS: psutil has no affinity
        return os.cpu_count() or 1


def load_average() -> float | None:
    """The 1-minute load average; None on Windows, which has none (psutil's emulation reads 0 for 5 s)."""
    if WINDOWS or not hasattr(os, "getloadavg"):
        return None
    return round(os.getloadavg()[0], 2)


def stop_signals() -> list[int]:
    """The signals that stop a run as Ctrl-C does: SIGTERM; on Windows also SIGBREAK (Ctrl-Break in a console;
    SIGTERM there only comes from the process itself, another process's TerminateProcess cannot be caught)."""
    out = [signal.SIGTERM]
    if WINDOWS and hasattr(signal, "SIGBREAK"):
        out.append(signal.SIGBREAK)  # type: ignore[attr-defined]
    return out
