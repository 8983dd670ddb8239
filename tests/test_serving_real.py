"""Serving and spawning for real: the Go, C++ and Python servers on YOLOv5s 320 under the real vegeta, and the
article's 4.3 experiment (N sleeping workers) in every language, through the orchestrator, short settings."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IMAGES, MODEL_320, ROOT, SYSTEM_PYTHON

from orchestrator import load, matrix

pytestmark = pytest.mark.integration

SERVERS = ("go", "cpp", "python-system", "python-processes")
SPAWNERS = ("go", "cpp", "python-system", "python-asyncio")


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory, real_assets: None) -> dict:
    folder = tmp_path_factory.mktemp("serving")
    config = folder / "serving.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: serving
        models: [{{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}]
        images: [{IMAGES / 'bus.jpg'}, {IMAGES / 'zidane.jpg'}, {IMAGES / 'dog.jpg'}]
        runners:
          - {{name: go, kind: go}}
          - {{name: cpp, kind: cpp}}
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}
          - {{name: python-processes, kind: python, interpreter: {SYSTEM_PYTHON}, mode: processes}}
          - {{name: python-asyncio, kind: python, interpreter: {SYSTEM_PYTHON}, mode: asyncio}}
        threads: pool
        timeout_s: 120
        scenarios:
          - {{type: single, warmup: 1, iterations: 6, repeats: 1}}
          - {{type: http, workers: 1, rates: [4], clients: [8], duration_s: 1.5, request_timeout_s: 30,
             p99_bound_ms: 5000, warmup: 1, repeats: 1}}
          - {{type: spawn, workers: [200], tasks_per_worker: 5, task_sleep_ms: 2, warmup: 1, iterations: 2,
             repeats: 1}}
        matrix:
          exclude:
            - {{runner: python-asyncio, scenario: single}}
            - {{runner: python-asyncio, scenario: http}}
            - {{runner: python-processes, scenario: spawn}}
        compare: [[go, python-system], [go, cpp], [go, python-processes], [go, python-asyncio]]
        """))
    out = folder / "run"
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((out / "summary.json").read_text())
    result["_dir"] = out
    return result


def cells(summary: dict, label: str, runners: tuple[str, ...]) -> dict[str, dict]:
    found = {c["runner"]: c for c in summary["cells"] if c["scenario_label"] == label}
    assert set(found) == set(runners), f"{label}: {sorted(found)}"
    for c in found.values():
        assert c["status"] == "ok", (label, c["runner"], c["error"])
    return found


def test_every_server_answers_every_request_with_the_right_detections(summary: dict) -> None:
    for label in ("http w=1 r=4/s", "http w=1 c=8"):
        for name, c in cells(summary, label, SERVERS).items():
            assert c["errors"] == {} and c["requests"] >= 5 and c["answered"] == c["requests"], (label, name)
            assert c["mode"] == {"go": "goroutines", "cpp": "threads", "python-system": "threads",
                                 "python-processes": "processes"}[name]
            # one network: every CPU, as the single scenario's (so the HTTP layer's cost compares like with like)
            assert c["threads"] == matrix.pool_threads(1) and c["threads_policy"] == "pool"
            # the client waits for at least what the server spent on the request
            assert c["client_ms"]["p50"] >= c["server_ms"]["service_p50"] > 0, (label, name)
            assert c["server_peak_rss_mb"] > 50 and c["server_cpu_percent"] > 0, (label, name)
    for name, c in cells(summary, "http w=1 r=4/s", SERVERS).items():
        assert c["achieved_rps"] == pytest.approx(4, rel=0.3), name  # well below capacity: all of it answered


def test_answers_over_http_match_the_single_scenario_and_each_other(summary: dict) -> None:
    own = {(p["runner"], p["scenario"]): p for p in summary["http_parity"]}
    assert len(own) == 2 * len(SERVERS)
    for p in own.values():
        assert p["status"] == "pass" and p["images"] == 3, p
    across = [p for p in summary["parity"] if p["scenario"].startswith("http")]
    assert len(across) == 6 and all(p["status"] == "pass" for p in across), across


def test_vegeta_results_are_kept_and_loopback_only(summary: dict) -> None:
    for c in cells(summary, "http w=1 c=8", SERVERS).values():
        raw = Path(summary["_dir"]) / "raw" / c["id"]
        lines = (raw / "process-0.requests.csv").read_text().splitlines()
        assert len(lines) == c["requests"] and all(",POST,http://127.0.0.1:" in line for line in lines)
        assert all(line.startswith("POST http://127.0.0.1:") for line in (raw / "process-0.targets.txt")
                   .read_text().splitlines() if line.startswith("POST"))
        assert load.read_requests(raw / "process-0.requests.csv", None).ok.all()


def test_the_http_layer_cost_is_reported_per_runner(summary: dict) -> None:
    overhead = {o["runner"]: o for o in summary["http_overhead"]}
    assert set(overhead) == set(SERVERS)
    for name, o in overhead.items():
        # a handful of requests each: the figures exist, their size is the benchmark's (configs/serving.yaml)
        assert o["single_p50_ms"] > 0 and o["overhead_ms"] is not None and o["http_layer_ms"] is not None, (name, o)


def test_spawn_runs_the_articles_workers_in_every_language(summary: dict) -> None:
    for name, c in cells(summary, "spawn w=200", SPAWNERS).items():
        assert c["mode"] == {"go": "goroutines", "cpp": "threads", "python-system": "threads",
                             "python-asyncio": "asyncio"}[name]
        # 1000 tasks over 200 workers sleeping 2 ms: at best 100 000 tasks/s
        assert 0 < c["tasks_per_s"]["p50"] <= 100_000 and c["startup_ms"]["p50"] > 0, name
        assert c["rss_mb"]["p50"] > 1 and c["rss_added_mb"]["cold"] is not None, name
    metrics = {(e["b"], e["metric"]) for e in summary["comparisons"] if e["scenario"] == "spawn w=200"}
    assert ("python-asyncio", "spawn_startup") in metrics and ("cpp", "tasks_per_s") in metrics


def test_the_report_has_both_sections(summary: dict) -> None:
    page = (Path(summary["_dir"]) / "report.html").read_text()
    assert 'id="http"' in page and 'id="spawn"' in page and "data:image/png" in page
