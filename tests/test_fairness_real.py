"""Each fairness badge turns red when its condition is broken for real, with the real runners and model.

- threads: the Go runner asked for 1 OpenCV thread, Python for 2;
- OpenCV build: the pip wheel vs Debian's library (in test_integration.py);
- accelerator: CUDA asked of CPU-only builds; OpenCL on a CPU OpenCL device (PoCL), which OpenCV accepts and
  then silently replaces by the CPU; and OpenCL really used when OpenCV is allowed to use that device.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IMAGES, MODEL_320, ROOT, SYSTEM_PYTHON

pytestmark = pytest.mark.integration

POCL = '{OPENCV_OPENCL_DEVICE: ":CPU:"}'
POCL_ALLOWED = '{OPENCV_OPENCL_DEVICE: ":CPU:", OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES: "1"}'


def run(tmp_path: Path, extra: str, go_extra: str = "", py_extra: str = "", iterations: int = 3) -> dict:
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: fairness
        models: [{{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}]
        images: [{IMAGES / 'bus.jpg'}]
        runners:
          - {{name: go, kind: go{go_extra}}}
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}{py_extra}}}
        scenario: {{warmup: 1, iterations: {iterations}, repeats: 1}}
        threads: 1
        compare: [[go, python-system]]
        """) + textwrap.dedent(extra))
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(tmp_path / "run")],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stdout + done.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    failed = any(c["status"] == "failed" for c in summary["cells"])
    assert done.returncode == (1 if failed else 0), "the exit code says whether a cell failed"
    return summary


def badges(summary: dict) -> dict[str, bool]:
    """The checks these tests break on purpose; "machine quiet" has tests of its own (test_verdicts_real.py)."""
    entry = next(e for e in summary["comparisons"] if e["metric"] == "latency_p50")
    return {f["check"]: f["ok"] for f in entry["fairness"] if f["check"] != "machine quiet"}


def test_different_thread_counts(tmp_path: Path, real_assets: None) -> None:
    summary = run(tmp_path, "", py_extra=", threads: 2")
    assert badges(summary) == {"same OpenCV build": True, "same OpenCV threads": False,
                               "requested target used": True, "same detections": True,
                               "both cells completed": True}
    cells = {c["runner"]: c for c in summary["cells"]}
    assert cells["python-system"]["threads_observed"] == 2 and cells["go"]["threads_observed"] == 1


def test_cuda_on_a_cpu_only_build_is_reported_not_run(tmp_path: Path, real_assets: None) -> None:
    summary = run(tmp_path, "backend: cuda\ntarget: cuda\non_unavailable: skip\n")
    for cell in summary["cells"]:
        assert cell["status"] == "skipped" and cell["error"].startswith("backend_unavailable"), cell
    assert not badges(summary)["requested target used"]
    assert next(e for e in summary["comparisons"])["verdict"].startswith("no verdict")


def test_opencl_silent_fallback_is_caught(tmp_path: Path, real_assets: None) -> None:
    summary = run(tmp_path, "target: opencl\n", go_extra=f", env: {POCL}", py_extra=f", env: {POCL}")
    for cell in summary["cells"]:
        assert "opencl" in cell["target"]["available"]  # OpenCV says the target exists ...
        assert cell["status"] == "failed" and cell["error"].startswith("fell back to CPU"), cell  # ... then drops it
        assert "switching to CPU" in cell["error"]
    assert not badges(summary)["requested target used"]


def test_opencl_really_used_on_pocl(tmp_path: Path, real_assets: None) -> None:
    summary = run(tmp_path, "target: opencl\nparity: {iou: 0.99, score: 0.001}\n",
                  go_extra=f", env: {POCL_ALLOWED}", py_extra=f", env: {POCL_ALLOWED}", iterations=1)
    assert all(c["status"] == "ok" for c in summary["cells"]), [c["error"] for c in summary["cells"]]
    assert badges(summary)["requested target used"] and badges(summary)["same detections"]
