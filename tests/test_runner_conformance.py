"""Every real runner against the shared protocol fixtures: the same spec, the same checks, the same error codes.

These run the real Go, C++ and Python runners on the real YOLOv5s model (320) and real photos.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, SYSTEM_PYTHON
from contract import CLI_CASES, SPEC_CASES, Case, check, cli_args

from orchestrator import protocol, runners
from orchestrator.config import Runner

pytestmark = pytest.mark.integration

RUNNERS = {
    "go": Runner("go", "go"),
    "cpp": Runner("cpp", "cpp"),
    "python-system": Runner("python-system", "python", SYSTEM_PYTHON),
    "python-pip": Runner("python-pip", "python", sys.executable),
}
SPEC = json.loads((FIXTURES / "protocol" / "stream-single.spec.json").read_text())


@pytest.fixture(scope="session")
def built() -> None:
    runners.build("go")
    runners.build("cpp")


def absolute(spec: dict) -> dict:
    """The fixture's paths are relative to the repository; runners get absolute ones."""
    spec = json.loads(json.dumps(spec))
    spec["model"]["path"] = str(ROOT / spec["model"]["path"])
    spec["images"] = [str(ROOT / p) for p in spec["images"]]
    if "video" in spec:
        spec["video"]["path"] = str(ROOT / spec["video"]["path"])
    return spec


def run_runner(name: str, spec: dict, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[int, list[str], str]:
    path = tmp_path / f"{name}.spec.json"
    path.write_text(json.dumps(spec))
    done = subprocess.run(runners.command(RUNNERS[name], path), capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    return done.returncode, done.stdout.splitlines(), done.stderr


@pytest.mark.parametrize("name", RUNNERS)
def test_runner_follows_the_protocol(name: str, tmp_path: Path, built: None, real_assets: None) -> None:
    spec = absolute(SPEC)
    # OpenCV's logger prints INFO/DEBUG lines to stdout: a runner must keep them out of its record stream.
    code, lines, stderr = run_runner(name, spec, tmp_path, {"OPENCV_LOG_LEVEL": "DEBUG"})
    assert code == 0, stderr
    assert "DEBUG" in stderr or "INFO" in stderr  # the log lines went to stderr
    stream = protocol.parse_lines(lines, spec)  # the full validator: order, totals, counts, one record per image
    assert stream.complete, stream.problems
    assert stream.hello["threads"] == spec["threads"] and stream.hello["protocol"] == 1
    assert "cpu" in stream.hello["available_targets"]
    images = [Path(p).name for p in spec["images"]]
    assert [r["image"] for r in stream.iterations] == [images[i % len(images)] for i in range(len(stream.iterations))]
    assert all(r["phases_ns"]["inference"] > 0 for r in stream.iterations)
    assert stream.end["peak_rss_bytes"] > 50 * 2**20  # a loaded YOLOv5s net is far above 50 MiB


# One spec case per answer, run as a process: the in-process suites run every case; this checks the programs
# themselves (their stdout, exit status and the claimed fd 1), on every interpreter.
PROCESS_CASES = [c for c in SPEC_CASES if c.name in (
    "not json", "protocol true", "no model.path", "unknown scenario", "unknown concurrency mode", "valid single",
    "missing image", "a target this build lacks", "call_overhead runs without a model")]
PYTHON_PROCESS_CASES = ("protocol true", "valid single", "call_overhead runs without a model")


PROGRAM_RUNS = [(name, case) for name in RUNNERS for case in CLI_CASES + PROCESS_CASES
                if RUNNERS[name].kind != "python" or case in CLI_CASES or case.name in PYTHON_PROCESS_CASES]


@pytest.mark.parametrize(("name", "case"), PROGRAM_RUNS, ids=[f"{n}-{c.name}" for n, c in PROGRAM_RUNS])
def test_runner_program_follows_the_contract(name: str, case: Case, built: None) -> None:
    """The Python runner runs only a few spec cases as a process (each costs a second); its in-process suite,
    tests/test_py_runner_contract.py, runs them all."""
    language = RUNNERS[name].kind
    args = cli_args(case) if case.args is not None else ["--spec", "-"]
    stdin = case.spec_text(language) if case.args is None else (
        Case(name="base", code=None).spec_text(language) if case.stdin == "base" else "")
    argv = runners.command(RUNNERS[name], Path("-"))[:-2] + args  # the runner's program, then the case's arguments
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    stream = protocol.parse_lines(done.stdout.splitlines())
    assert not stream.problems, (stream.problems, done.stderr)
    check(case, done.returncode, [json.loads(line) for line in done.stdout.splitlines()])


SIX_IMAGES = [f"data/images/{n}" for n in ("bus.jpg", "zidane.jpg", "dog.jpg", "horses.jpg", "kite.jpg", "eagle.jpg")]
CONCURRENCY = {"scenario": "concurrency", "workers": 2, "iterations": 2, "warmup": 1}
# Fewer requests than images, so that some images are never reached: (runner, spec keys).
UNSEEN = [("go", {**CONCURRENCY, "mode": "goroutines"}), ("cpp", {**CONCURRENCY, "mode": "threads"}),
          ("python-pip", {**CONCURRENCY, "mode": "threads"}), ("python-pip", {**CONCURRENCY, "mode": "processes"}),
          *[(name, {"scenario": "batch", "batch": 4, "iterations": 1, "warmup": 0}) for name in ("go", "cpp",
                                                                                                  "python-pip")]]


@pytest.mark.parametrize(("name", "keys"), UNSEEN, ids=[f"{n}-{k['scenario']}-{k.get('mode', '')}" for n, k in UNSEEN])
def test_every_image_gets_its_detections_record(name: str, keys: dict, tmp_path: Path, built: None,
                                                real_assets: None) -> None:
    """Images that no iteration reached are processed once more, untimed (docs/protocol.md, "detections")."""
    spec = absolute({**SPEC, **keys, "images": SIX_IMAGES})
    if keys["scenario"] == "batch":
        spec["model"] = {**spec["model"], "name": "yolov5s-320-b4",
                         "path": str(ROOT / "models" / "yolov5s-320-b4.onnx")}
    code, lines, stderr = run_runner(name, spec, tmp_path)
    stream = protocol.parse_lines(lines, spec)
    assert code == 0 and stream.complete, (stream.problems, stderr[-500:])
    assert len(stream.detections) == 6
