"""Verdicts that hold up, with the real runners on the real model: identical programs are not called
different, and a run beside a CPU burner is caught and gets no verdict."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IMAGES, MODEL_320, ROOT, SYSTEM_PYTHON

pytestmark = pytest.mark.integration


def run(tmp_path: Path, runners: str, compare: str, repeats: int) -> dict:
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: verdicts
        models: [{{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}]
        images: [{IMAGES / 'bus.jpg'}, {IMAGES / 'zidane.jpg'}]
        runners: {runners}
        scenario: {{warmup: 1, iterations: 4, repeats: {repeats}}}
        threads: 1
        compare: {compare}
        """))
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(tmp_path / "run")],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((tmp_path / "run" / "summary.json").read_text())


def test_identical_runners_are_not_called_different_and_a_quiet_run_is_not_flagged(tmp_path: Path,
                                                                                     real_assets: None) -> None:
    runners = (f"[{{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}, "
               f"{{name: python-copy, kind: python, interpreter: {SYSTEM_PYTHON}}}]")
    summary = run(tmp_path, runners, "[[python-system, python-copy]]", repeats=6)
    entries = [e for e in summary["comparisons"] if e.get("outcome") != "descriptive"]
    assert {e["metric"] for e in entries} >= {"latency_p50", "peak_rss"}
    for e in entries:
        assert e["outcome"] != "faster", e["verdict"]
    latency = next(e for e in entries if e["metric"] == "latency_p50")
    assert latency["rounds"] == 6 and latency["outcome"] in ("equivalent", "inconclusive")
    loads = [json.loads(line)["machine"] for line in (tmp_path / "run" / "raw" / "processes.jsonl").open()]
    assert len(loads) == 12 and not any(m["busy"] for m in loads), loads
    assert {f["check"]: f["ok"] for f in latency["fairness"]}["machine quiet"]


def test_a_cpu_burner_beside_a_real_run_is_caught(tmp_path: Path, real_assets: None) -> None:
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        runners = f"[{{name: go, kind: go}}, {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}]"
        summary = run(tmp_path, runners, "[[go, python-system]]", repeats=2)
    finally:
        burner.kill()
        burner.wait()
    loads = [json.loads(line)["machine"] for line in (tmp_path / "run" / "raw" / "processes.jsonl").open()]
    assert all(m["busy"] and m["other_cores"] > 0.5 for m in loads), loads  # the burner keeps one core busy
    latency = next(e for e in summary["comparisons"] if e["metric"] == "latency_p50")
    quiet = next(f for f in latency["fairness"] if f["check"] == "machine quiet")
    assert not quiet["ok"] and "cores in 2 round(s)" in quiet["detail"]
    assert latency["verdict"].startswith("no verdict: the machine was busy") and not latency["fair"]
    assert all(c["machine"]["busy_processes"] == 2 for c in summary["cells"])
    html = (tmp_path / "run" / "report.html").read_text()
    assert "no verdict: the machine was busy" in html
