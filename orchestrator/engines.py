"""The engine axis: what runs the inference phase (docs/protocol.md, "Engines").

`opencv` is OpenCV DNN (the runner's OpenCV build, its backend and target); `onnxruntime` is ONNX Runtime
with one provider. Everything else in a runner's pipeline is OpenCV in both. One ORT release serves every
runner: `make onnxruntime` installs the pinned wheel in engines/onnxruntime/ (scripts/fetch_onnxruntime.sh),
the Go and C++ runners load its libonnxruntime, and every Python interpreter imports it from there.

This module imports nothing of the orchestrator but its host-OS seam (orchestrator/hostos.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import hostos

ENGINES = ("opencv", "onnxruntime")
PROVIDERS = ("cpu", "cuda", "tensorrt")
ORT_PROVIDER_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                      "tensorrt": "TensorrtExecutionProvider"}
ORT_VERSION = "1.32.0"  # scripts/fetch_onnxruntime.sh pins the same
ORT_MIN_VERSION = (1, 24)  # the C API version 24 that onnxruntime_go and the C++ runner's header need
ROOT = Path(__file__).resolve().parent.parent
ORT_HOME = ROOT / "engines" / "onnxruntime"


def default_library(home: Path = ORT_HOME) -> Path:
    """The ORT library inside an installation of the wheel (the Go and C++ runners load it)."""
    name = "onnxruntime.dll" if hostos.WINDOWS else f"libonnxruntime.so.{ORT_VERSION}"
    return home / "onnxruntime" / "capi" / name


@dataclass(frozen=True)
class OnnxRuntime:
    """The config's `onnxruntime`: which installation, and the providers its cells ask for (one cell each)."""

    library: Path
    python_path: Path
    providers: tuple[str, ...] = ("cpu",)

    def spec(self, provider: str) -> dict[str, str]:
        return {"name": "onnxruntime", "provider": provider, "library": str(self.library),
                "python_path": str(self.python_path)}


def tag(engine: str, provider: str) -> str:
    """The engine's part of a cell's label: nothing for OpenCV (labels stay as they were), `ort-cpu` etc."""
    return "" if engine == "opencv" else f"ort-{provider}"


def version_tuple(text: str) -> tuple[int, ...]:
    """"1.32.0" -> (1, 32, 0); what does not parse sorts first."""
    try:
        return tuple(int(p) for p in text.split(".")[:3])
    except ValueError:
        return ()


def name_of(cell: dict) -> str:
    """A summary cell's engine as the report names it: the library and its release."""
    if cell.get("engine") == "onnxruntime":
        ort = cell.get("ort") or {}
        return f"ONNX Runtime {ort.get('version', '?')} ({cell.get('provider') or '?'})"
    return f"OpenCV {(cell.get('opencv') or {}).get('version', '?')} DNN"


def table(cells: list[dict]) -> list[dict]:
    """The article's chapter 4.1 table: per runner and engine (and model, threads), single-image latency and
    video-stream FPS side by side. Empty unless the run has more than one engine (an OpenCV-only run has the
    per-scenario tables)."""
    if len({(c.get("engine", "opencv"), c.get("provider", "")) for c in cells}) < 2:
        return []
    rows: dict[tuple, dict] = {}
    for c in cells:
        if c["scenario"] not in ("single", "video") or c["status"] != "ok":
            continue
        key = (c["runner"], name_of(c), c["model"], c["threads"])
        row = rows.setdefault(key, {"runner": c["runner"], "kind": c["kind"], "engine": key[1], "model": c["model"],
                                    "threads": c["threads"], "single_p50_ms": None, "single_ci95": None,
                                    "inference_p50_ms": None, "video_fps": None})
        if c["scenario"] == "single" and c["latency_ms"]:
            level = c["latency_ms"].get("process_median") or {}
            row.update(single_p50_ms=c["latency_ms"]["p50"], single_ci95=level.get("ci95"),
                       inference_p50_ms=(c.get("phases_ms") or {}).get("inference", {}).get("p50"))
        elif c["scenario"] == "video":
            row["video_fps"] = c.get("fps")
    return sorted(rows.values(), key=lambda r: (r["model"], r["threads"], r["engine"], r["runner"]))
