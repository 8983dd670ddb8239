"""What machine and software a run measured: recorded in environment.json and shown in the report."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

from .runners import ROOT

# Variables that change how many threads a runner uses, whatever the config says.
THREAD_VARIABLES = ("GOMAXPROCS", "OMP_NUM_THREADS", "OPENCV_FOR_THREADS_NUM", "OPENCV_OPENCL_DEVICE",
                    "OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES", "TBB_NUM_THREADS", "MKL_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")


def collect(models: list[Path], images: list[Path], config_path: Path | None = None) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "os": f"{platform.system()} {platform.release()}",
        "os_detail": os_detail(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "logical_cpus": psutil.cpu_count(logical=True),
        "physical_cpus": psutil.cpu_count(logical=False),
        "cpu_freq_mhz": _cpu_freq(),
        "cpu_governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "ram_gb": round(memory.total / 1e9, 1),
        "load_average": _load_average(),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "go": _version(["go", "version"]),
        "cmake": _version(["cmake", "--version"]),
        "gpu": _version(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]),
        "git": _git(),
        "config_sha256": sha256(config_path) if config_path else None,
        "thread_variables": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ},
        "cpu_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "models": {str(p): sha256(p) for p in models},
        "images": {p.name: sha256(p) for p in images},
    }


def cpu_model() -> str:
    if sys.platform.startswith("linux"):
        for line in (_read("/proc/cpuinfo") or "").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def os_detail() -> str:
    release = _read("/etc/os-release") or ""
    for line in release.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.platform()


def _cpu_freq() -> float | None:
    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError):
        return None
    return round(freq.current, 0) if freq else None


def _load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _version(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else None


def _git() -> dict[str, Any] | None:
    commit = _version(["git", "-C", str(ROOT), "rev-parse", "HEAD"])
    if commit is None:
        return None
    try:
        status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True,
                                timeout=20, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        status = ""
    return {"commit": commit, "dirty": bool(status.strip())}
