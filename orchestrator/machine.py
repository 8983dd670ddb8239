"""Which machine a run measured: its name and a record of its hardware and native libraries (machine.json).

A run folder holds one machine's measurements; `merge` puts several machines' runs of one experiment in one
report and never pools their statistics (asv's model: results per machine, collated offline). The name comes from
`--machine`, else the config's `machine`, else the host name; it names the machine's section in a merged report
and its folder there, so it is kept to letters, digits, `.`, `_` and `-`.

The experiment's identity is the hash of the config as the user wrote it, parsed (comments, key order and line
endings do not count) and without `machine` and `seed`: two machines that ran the same config file share it even
though `threads: auto` and absolute paths resolve differently on each.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psutil
import yaml

from . import engines

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOCAL_KEYS = ("machine", "seed")  # config keys that may differ between machines of one experiment


def default_name() -> str:
    """The host name, cut to what NAME allows (a Windows host name may hold other characters)."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", platform.node().split(".")[0]).strip("-._")
    return host[:64] or "this-machine"


def problem(name: str) -> str | None:
    """Why `name` cannot name a machine, or None."""
    if NAME.match(name):
        return None
    return (f"'{name}' cannot name a machine: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit (it names the machine's folder in a merged report)")


def record(name: str) -> dict[str, Any]:
    """machine.json: what a reader needs to tell two machines apart, taken when the run starts."""
    from . import environment  # not at import time: environment needs runners, which need config, which needs this

    memory = psutil.virtual_memory()
    return {
        "name": name,
        "hostname": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "os_detail": environment.os_detail(),
        "arch": platform.machine(),
        "cpu_model": environment.cpu_model(),
        "logical_cpus": psutil.cpu_count(logical=True),
        "physical_cpus": psutil.cpu_count(logical=False),
        "ram_gb": round(memory.total / 1e9, 1),
        "gpus": gpus(),
        "opencv": _opencv(),
        "onnxruntime": {"version": engines.ORT_VERSION},
    }


def gpus() -> list[dict[str, str]]:
    """NVIDIA GPUs with their driver, from nvidia-smi; [] where there is none (or no driver)."""
    line = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    if shutil.which(line[0]) is None:
        return []
    try:
        done = subprocess.run(line, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return []
    out = []
    for row in done.stdout.splitlines() if done.returncode == 0 else []:
        parts = [p.strip() for p in row.split(",")]
        if len(parts) == 3:
            out.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return out


def _opencv() -> dict[str, str | None]:
    """The native OpenCV the Go and C++ runners link (pkg-config's); each runner's own build is in its hello
    record, which the report shows per runner."""
    version = None
    if shutil.which("pkg-config"):
        try:
            done = subprocess.run(["pkg-config", "--modversion", "opencv4"], capture_output=True, text=True,
                                  timeout=20, stdin=subprocess.DEVNULL)
            version = done.stdout.strip() or None if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            version = None
    return {"native": version}


def experiment_sha256(config_path: Path) -> str:
    """The identity of the experiment a config describes, the same on every machine that runs it."""
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in LOCAL_KEYS}
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
