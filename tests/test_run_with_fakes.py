"""The whole `run` flow with fake runners: failures are clear and lose nothing; statistics reach a verdict."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from orchestrator import report, runners
from orchestrator import run as run_mod

FAKE = Path(__file__).parent / "fakes" / "fake_runner.py"


def fake_config(tmp_path: Path, runner_envs: dict[str, dict[str, str]], compare: list[list[str]],
                iterations: int = 40, timeout: int = 60) -> Path:
    (tmp_path / "m.onnx").write_bytes(b"x")
    imgs = tmp_path / "imgs"
    imgs.mkdir(exist_ok=True)
    for name in ("a.jpg", "b.jpg"):
        (imgs / name).write_bytes(b"x")
    runner_yaml = "".join(
        f"  - name: {name}\n    kind: python\n    interpreter: {sys.executable}\n    env: {json.dumps(env)}\n"
        for name, env in runner_envs.items())
    text = textwrap.dedent(f"""\
        name: fake
        models:
          - {{name: m, path: m.onnx, input_size: 320}}
        images: imgs
        scenario: {{warmup: 2, iterations: {iterations}, repeats: 2}}
        threads: 2
        timeout_s: {timeout}
        compare: {json.dumps(compare)}
        runners:
        """) + runner_yaml
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def fake_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runners, "PY_SCRIPT", FAKE)


def run(tmp_path: Path, config: Path) -> dict:
    run_mod.run(config, tmp_path / "run", progress=lambda _: None)
    return json.loads((tmp_path / "run" / "summary.json").read_text())


def cell(summary: dict, runner: str) -> dict:
    return next(c for c in summary["cells"] if c["runner"] == runner)


def test_crash_hang_garbage_and_error_are_clear_and_keep_what_was_measured(tmp_path: Path) -> None:
    envs = {"good": {}, "crash": {"FAKE_MODE": "crash"}, "hang": {"FAKE_MODE": "hang"},
            "garbage": {"FAKE_MODE": "garbage"}, "error": {"FAKE_MODE": "error"}}
    summary = run(tmp_path, fake_config(tmp_path, envs, [], iterations=5, timeout=3))
    assert cell(summary, "good")["status"] == "ok" and cell(summary, "good")["iterations"] == 10
    crash = cell(summary, "crash")
    assert crash["status"] == "failed" and "exited with code 3" in crash["error"] and "simulated crash" in crash["error"]
    assert crash["cold_ms"] is not None  # the iterations before the crash are kept
    hang = cell(summary, "hang")
    assert hang["status"] == "failed" and "timed out after 3 s" in hang["error"]
    garbage = cell(summary, "garbage")
    assert garbage["status"] == "failed" and "not JSON: 'this is not json'" in garbage["error"]
    assert garbage["iterations"] == 2 * 5  # every valid record around the garbage line is kept
    assert cell(summary, "error")["error"] == "model_load: cannot read model"
    assert (tmp_path / "run" / "report.html").is_file()


def test_identical_runners_show_no_significant_difference(tmp_path: Path) -> None:
    envs = {"a": {"FAKE_SEED": "1"}, "b": {"FAKE_SEED": "2"}}
    summary = run(tmp_path, fake_config(tmp_path, envs, [["a", "b"]]))
    latency = next(c for c in summary["comparisons"] if c["metric"] == "latency_p50")
    assert latency["verdict"] == "no significant difference (~)" and not latency["significant"]
    assert latency["ci95"][0] <= 1 <= latency["ci95"][1]
    assert latency["fair"]


def test_a_20_percent_slowdown_is_detected(tmp_path: Path) -> None:
    envs = {"slow": {"FAKE_MS": "24", "FAKE_SEED": "1"}, "fast": {"FAKE_MS": "20", "FAKE_SEED": "2"}}
    summary = run(tmp_path, fake_config(tmp_path, envs, [["slow", "fast"]]))
    latency = next(c for c in summary["comparisons"] if c["metric"] == "latency_p50")
    assert latency["significant"] and latency["ci95"][0] > 1
    assert latency["ratio"] == pytest.approx(1.2, abs=0.03)
    assert latency["verdict"].startswith("fast faster by")


def test_parity_failure_withholds_the_verdict_and_build_mismatch_is_unfair(tmp_path: Path) -> None:
    envs = {"a": {}, "b": {"FAKE_SHIFT": "5", "FAKE_BUILD": "c" * 64, "FAKE_MS": "30"}}
    summary = run(tmp_path, fake_config(tmp_path, envs, [["a", "b"]], iterations=10))
    assert summary["parity"][0]["status"] == "fail" and summary["parity"][0]["same_build"] is False
    latency = next(c for c in summary["comparisons"] if c["metric"] == "latency_p50")
    assert latency["verdict"].startswith("no verdict") and not latency["fair"]
    failed = {f["check"] for f in latency["fairness"] if not f["ok"]}
    assert failed == {"same OpenCV build", "same detections"}
    html = (tmp_path / "run" / "report.html").read_text()
    assert "use different OpenCV builds" in html


def test_summary_matches_the_raw_records_and_report_rerenders(tmp_path: Path) -> None:
    summary = run(tmp_path, fake_config(tmp_path, {"a": {}}, [], iterations=12))
    raw = sorted((tmp_path / "run" / "raw").glob("*/process-*.jsonl"))
    measured = [json.loads(line)["total_ns"] / 1e6 for p in raw for line in p.read_text().splitlines()
                if '"iteration"' in line and '"warmup": false' in line]
    c = cell(summary, "a")
    assert c["iterations"] == len(measured) == 24 and c["processes"] == 2
    assert c["latency_ms"]["min"] == pytest.approx(min(measured))
    assert c["memory_mb"]["peak_rss_self"] == 50.0
    (tmp_path / "run" / "report.html").unlink()
    report.render(tmp_path / "run")
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == summary


def test_html_in_a_runner_name_is_escaped(tmp_path: Path) -> None:
    envs = {"<script>alert(1)</script>": {}}
    run(tmp_path, fake_config(tmp_path, envs, [], iterations=3))
    html = (tmp_path / "run" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
