"""Peak and current resident set size and proportional set size of this process, with the standard library only."""

from __future__ import annotations

import os
import sys
from typing import Any


def peak_rss_bytes() -> int:
    if sys.platform == "win32":
        return _windows_peak_working_set()
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB, macOS bytes


def current_rss_bytes() -> int:
    """The resident set now (the spawn scenario's rss_bytes): Linux /proc/self/statm resident pages x page size,
    Windows the working set, macOS task_info; elsewhere, or when those fail, the peak, the nearest figure left."""
    try:
        if sys.platform == "win32":
            return int(_windows_counters().WorkingSetSize)
        if sys.platform == "darwin":
            return _mach_resident_size()
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return peak_rss_bytes()


def _mach_resident_size() -> int:
    """task_info(MACH_TASK_BASIC_INFO).resident_size through ctypes (macOS has no /proc)."""
    import ctypes

    class BasicInfo(ctypes.Structure):
        _fields_ = [("virtual_size", ctypes.c_uint64), ("resident_size", ctypes.c_uint64),
                    ("resident_size_max", ctypes.c_uint64), ("user_time", ctypes.c_int32 * 2),
                    ("system_time", ctypes.c_int32 * 2), ("policy", ctypes.c_int32),
                    ("suspend_count", ctypes.c_int32)]

    libc = ctypes.CDLL(None)
    info = BasicInfo()
    count = ctypes.c_uint32(ctypes.sizeof(BasicInfo) // 4)
    task = ctypes.c_uint32.in_dll(libc, "mach_task_self_")
    mach_task_basic_info = 20
    if libc.task_info(task, mach_task_basic_info, ctypes.byref(info), ctypes.byref(count)) != 0:
        raise OSError("task_info failed")
    return int(info.resident_size)


def _windows_counters() -> Any:
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
            (name, ctypes.c_size_t)
            for name in ("PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage", "QuotaPagedPoolUsage",
                         "QuotaPeakNonPagedPoolUsage", "QuotaNonPagedPoolUsage", "PagefileUsage",
                         "PeakPagefileUsage")
        ]

    counters = Counters()
    counters.cb = ctypes.sizeof(Counters)
    process = ctypes.windll.kernel32.GetCurrentProcess()
    ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb)
    return counters


def _windows_peak_working_set() -> int:
    return int(_windows_counters().PeakWorkingSetSize)


def pss_bytes() -> int:
    """This process's PSS now (Linux: /proc/self/smaps_rollup), 0 where the OS has none. The kernel walks every
    page table for it (about 10 ms with a model loaded), so it is read once, after the last timed region."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
