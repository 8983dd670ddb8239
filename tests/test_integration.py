"""The real thing end to end: build the runners, run them on YOLOv5s 320 and real photos, check the run folder."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IMAGES, MODEL_320, ROOT, SYSTEM_PYTHON

from orchestrator import statistics

pytestmark = pytest.mark.integration

CELL_KEYS = {"runner", "model", "threads", "status", "error", "iterations", "latency_ms", "phases_ms", "memory_mb",
             "opencv", "parity", "cold_ms", "load_ms", "warnings", "processes"}
LATENCY_KEYS = {"p50", "p90", "p99", "mean", "std", "min", "max", "process_median"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, real_assets: None) -> Path:
    folder = tmp_path_factory.mktemp("real")
    config = folder / "real.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: real-320
        models:
          - {{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}
        images: [{IMAGES / 'bus.jpg'}, {IMAGES / 'zidane.jpg'}, {IMAGES / 'horses.jpg'}]
        runners:
          - {{name: go, kind: go}}
          - {{name: cpp, kind: cpp}}
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}
          - {{name: python-pip, kind: python}}
        scenario: {{warmup: 2, iterations: 6, repeats: 2}}
        threads: 1
        compare: [[go, python-system], [go, python-pip], [go, cpp]]
        """))
    out = folder / "run"
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"report: {out / 'report.html'}" in done.stdout
    return out


def summary_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_run_folder_layout(run_dir: Path) -> None:
    for name in ("config.yaml", "environment.json", "raw/cells.json", "raw/processes.jsonl", "summary.json",
                 "summary.csv", "summary.md", "report.html"):
        assert (run_dir / name).is_file(), name
    env = json.loads((run_dir / "environment.json").read_text())
    assert env["logical_cpus"] >= 1 and str(MODEL_320) in env["models"] and "bus.jpg" in env["images"]


def test_every_cell_ran_and_has_every_key(run_dir: Path) -> None:
    cells = summary_of(run_dir)["cells"]
    assert {c["runner"] for c in cells} == {"go", "cpp", "python-system", "python-pip"}
    for c in cells:
        assert CELL_KEYS <= set(c), c["runner"]
        assert c["status"] == "ok", (c["runner"], c["error"])
        assert LATENCY_KEYS <= set(c["latency_ms"])
        assert set(c["phases_ms"]) == {"decode", "preprocess", "inference", "postprocess"}
        assert c["processes"] == 2 and c["iterations"] == 12
        assert c["threads_observed"] == 1
        assert c["memory_mb"]["peak_rss"] > 50


def test_summary_is_consistent_with_the_raw_records(run_dir: Path) -> None:
    for c in summary_of(run_dir)["cells"]:
        raw = [json.loads(line) for p in sorted((run_dir / "raw" / c["id"]).glob("process-*.jsonl"))
               for line in p.read_text().splitlines()]
        measured = [r["total_ns"] / 1e6 for r in raw if r["type"] == "iteration" and not r["warmup"]]
        assert len(measured) == c["iterations"]
        assert c["latency_ms"]["p50"] == pytest.approx(statistics.describe(measured)["p50"])
        assert c["latency_ms"]["max"] == pytest.approx(max(measured))
        hello = next(r for r in raw if r["type"] == "hello")
        assert c["opencv"]["build_hash"] == hello["opencv_build_hash"]


def test_go_and_python_system_agree_on_every_detection(run_dir: Path) -> None:
    summary = summary_of(run_dir)
    same = next(p for p in summary["parity"] if (p["a"], p["b"]) == ("go", "python-system"))
    assert same["same_build"] is True and same["status"] == "pass", same["mismatches"]
    assert same["images"] == 3 and same["detections"] >= 8  # bus: 5, zidane: 3, horses: several
    native = next(p for p in summary["parity"] if p["b"] == "cpp")
    assert native["same_build"] is True and native["status"] == "pass", native["mismatches"]
    pip = next(p for p in summary["parity"] if p["b"] == "python-pip")
    assert pip["same_build"] is False  # the wheel is another OpenCV build, and the report says so


def test_comparisons_have_ratios_and_fairness(run_dir: Path) -> None:
    summary = summary_of(run_dir)
    cells = {c["runner"]: c for c in summary["cells"]}
    entry = next(e for e in summary["comparisons"] if (e["a"], e["b"], e["metric"]) == ("go", "python-system",
                                                                                       "latency_p50"))
    centre = {name: c["latency_ms"]["process_median"]["center"] for name, c in cells.items()}
    assert entry["ratio"] == pytest.approx(centre["go"] / centre["python-system"])  # every round paired
    assert entry["rounds"] == 2 and entry["outcome"] in ("too_few_rounds", "no_verdict")  # 2 < 6 rounds
    assert all(f["ok"] for f in entry["fairness"] if f["check"] != "machine quiet")
    pip = next(e for e in summary["comparisons"] if e["b"] == "python-pip" and e["metric"] == "latency_p50")
    assert not pip["fair"] and any(f["check"] == "same OpenCV build" and not f["ok"] for f in pip["fairness"])
    metrics = {e["metric"] for e in summary["comparisons"]}
    assert {"latency_p50", "peak_rss"} <= metrics


def test_report_renders_the_numbers_and_the_build_warning(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4  # latency, ECDF, phases, memory
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    cells = {c["runner"]: c for c in summary_of(run_dir)["cells"]}
    assert f"{cells['go']['latency_ms']['p50']:.1f}" in html
    assert "python-pip use different OpenCV builds" in html
    md = (run_dir / "summary.md").read_text()
    assert "| median latency (ms) [95 % CI over processes] |" in md


def test_report_command_rerenders_from_raw_alone(run_dir: Path) -> None:
    before = summary_of(run_dir)
    (run_dir / "report.html").unlink()
    done = subprocess.run([sys.executable, "-m", "orchestrator", "report", str(run_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (run_dir / "report.html").is_file() and summary_of(run_dir) == before


def test_a_one_pixel_strip_is_an_image_like_any_other(tmp_path: Path, real_assets: None) -> None:
    """A 4000 x 1 image (and a 1 x 4000 one) letterboxes to one row (column) in every runner, instead of a
    resize to 0 rows that OpenCV refuses (which ended the run, or failed the request of a server)."""
    import cv2
    import numpy as np

    for name, shape in (("strip-row.png", (1, 4000, 3)), ("strip-column.png", (4000, 1, 3))):
        assert cv2.imwrite(str(tmp_path / name), np.full(shape, 90, np.uint8))
    config = tmp_path / "strips.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: strips
        models: [{{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}]
        images: [{tmp_path / 'strip-row.png'}, {tmp_path / 'strip-column.png'}]
        runners:
          - {{name: go, kind: go}}
          - {{name: cpp, kind: cpp}}
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}
        scenario: {{warmup: 0, iterations: 2, repeats: 1}}
        threads: 1
        compare: [[go, python-system], [go, cpp]]
        """))
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(tmp_path / "run")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert done.returncode == 0, done.stdout + done.stderr
    assert {c["runner"]: c["status"] for c in summary["cells"]} == {"go": "ok", "cpp": "ok", "python-system": "ok"}
    assert {p["status"] for p in summary["parity"]} == {"pass"}
