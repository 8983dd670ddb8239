"""Every scenario, for real: Go, C++ and Python on YOLOv5s 320 (640 for the real-time video), short settings.

Each scenario's own invariants are asserted on the run's summary and raw records.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IMAGES, MODEL_320, MODEL_640, ROOT, SYSTEM_PYTHON

pytestmark = pytest.mark.integration

VIDEO = ROOT / "data" / "video" / "vtest.avi"
MODEL_B4 = ROOT / "models" / "yolov5s-320-b4.onnx"
RUNNERS = ("go", "cpp", "python-system")


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory, real_assets: None) -> dict:
    folder = tmp_path_factory.mktemp("scenarios")
    config = folder / "scenarios.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: scenarios
        models:
          - {{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}
          - {{name: yolov5s-640, path: {MODEL_640}, input_size: 640}}
          - {{name: yolov5s-320-b4, path: {MODEL_B4}, input_size: 320, batch: 4}}
        images: [{IMAGES / 'bus.jpg'}, {IMAGES / 'zidane.jpg'}, {IMAGES / 'dog.jpg'}, {IMAGES / 'horses.jpg'}]
        runners:
          - {{name: go, kind: go}}
          - {{name: cpp, kind: cpp}}
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}
        threads: 1
        scenarios:
          - {{name: video, type: video, video: {VIDEO}, warmup: 1, iterations: 5, repeats: 1}}
          - {{name: realtime, type: video, video: {VIDEO}, realtime: true, warmup: 1, iterations: 4, repeats: 1}}
          - {{type: concurrency, workers: [2], warmup: 1, iterations: 6, repeats: 1}}
          - {{type: server, workers: 1, rates: [1, 60], seed: 3, warmup: 1, iterations: 6, repeats: 1}}
          - {{type: batch, batch: 4, warmup: 1, iterations: 2, repeats: 1}}
          - {{type: call_overhead, calls_per_sample: 2000, warmup: 1, iterations: 8, repeats: 2}}
        matrix:
          exclude:  # 640 only for the real-time video, where inference must be slower than the stream
            - {{model: yolov5s-640, scenario: video}}
            - {{model: yolov5s-640, scenario: concurrency}}
            - {{model: yolov5s-640, scenario: server}}
            - {{model: yolov5s-320, scenario: realtime}}
        compare: [[go, python-system], [go, cpp]]
        """))
    out = folder / "run"
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((out / "summary.json").read_text())
    result["_dir"] = out
    return result


def cells(summary: dict, scenario: str) -> dict[str, dict]:
    found = {c["runner"]: c for c in summary["cells"] if c["scenario_label"] == scenario}
    assert set(found) == set(RUNNERS), f"{scenario}: {sorted(found)}"
    for c in found.values():
        assert c["status"] == "ok", (scenario, c["runner"], c["error"])
    return found


def results(summary: dict, cell: dict) -> list[dict]:
    raw = Path(summary["_dir"]) / "raw" / cell["id"]
    return [json.loads(line) for p in raw.glob("process-*.jsonl") for line in p.read_text().splitlines()
            if '"result"' in line]


def test_video_counts_every_frame(summary: dict) -> None:
    for name, c in cells(summary, "video").items():
        (r,) = results(summary, c)
        assert r["frames_read"] == r["processed"] + r["dropped"] == 6 and r["dropped"] == 0, name
        assert c["fps"] > 0 and c["iterations"] == 5
    for name, c in cells(summary, "realtime").items():
        (r,) = results(summary, c)
        assert r["frames_read"] == r["processed"] + r["dropped"], name
        assert r["dropped"] > 0, f"{name}: 640 inference on 1 thread should not keep up with 10 fps"
        assert c["processed"] == 5 and c["source_fps"] == 10.0


def test_concurrency_throughput_for_every_language(summary: dict) -> None:
    for name, c in cells(summary, "concurrency w=2").items():
        assert c["workers"] == 2 and c["throughput_ips"] > 0 and c["startup_ms"] > 0, name
        assert c["mode"] == {"go": "goroutines", "cpp": "threads", "python-system": "threads"}[name]
        assert c["iterations"] == 6


def test_server_latency_includes_queueing(summary: dict) -> None:
    slow, fast = cells(summary, "server w=1 r=1/s"), cells(summary, "server w=1 r=60/s")
    for name in RUNNERS:
        # One worker serves ~10 images/s: 60 requests/s queue up, 1/s does not.
        assert fast[name]["latency_ms"]["p50"] > 1.5 * slow[name]["latency_ms"]["p50"], name
        assert fast[name]["queue_ms"]["p50"] > slow[name]["queue_ms"]["p50"], name
        assert fast[name]["achieved_rate"] < 60 and slow[name]["offered_rate"] == 1


def test_batch_is_per_image_cheaper_than_per_batch(summary: dict) -> None:
    for name, c in cells(summary, "batch").items():
        assert c["batch"] == 4 and c["model"] == "yolov5s-320-b4"
        assert c["per_image_ms"]["p50"] == pytest.approx(c["latency_ms"]["p50"] / 4, rel=0.25), name


def test_call_overhead_is_plausible_and_empty_is_cheaper(summary: dict) -> None:
    for name, c in cells(summary, "call_overhead").items():
        empty, opencv = c["ns_per_call_empty"]["p50"], c["ns_per_call"]["p50"]
        loop, mat = c["ns_per_loop"]["p50"], c["ns_per_call_mat"]["p50"]
        assert 0.1 < empty < 2_000 and 5 < opencv < 50_000, (name, empty, opencv)
        assert loop < empty < opencv < mat, (name, loop, empty, opencv, mat)  # a new Mat each call costs more
        assert c["ns_per_call"]["net"] == pytest.approx(opencv - loop), name
    entry = next(e for e in summary["comparisons"] if e["metric"] == "ns_per_call" and e["b"] == "python-system")
    assert entry["ratio"] > 0 and entry["ci95"][0] <= entry["ratio"] <= entry["ci95"][1]


def test_detections_agree_in_every_scenario(summary: dict) -> None:
    checked = {(p["scenario"], p["b"]): p for p in summary["parity"]}
    for scenario in ("video", "realtime", "concurrency w=2", "server w=1 r=1/s", "batch"):
        for other in ("python-system", "cpp"):
            p = checked[(scenario, other)]
            assert p["status"] == "pass" and p["images"] >= 1, (scenario, other, p["mismatches"][:3])


def test_server_capacity_is_the_highest_rate_within_the_bound(summary: dict) -> None:
    from orchestrator.kinds.server import server_capacity

    cells = [dict(c) for c in summary["cells"] if c["scenario"] == "server"]
    for c in cells:  # a bound between the two rates' p99s: the low rate meets it, the high one does not
        c["p99_bound_ms"] = 2 * max(x["latency_ms"]["p99"] for x in cells if x["offered_rate"] == 1)
        c["p99_within_bound"] = c["latency_ms"]["p99"] <= c["p99_bound_ms"]
    capacity = {c["runner"]: c for c in server_capacity(cells)}
    assert set(capacity) == set(RUNNERS)
    for name, c in capacity.items():
        assert c["rates"] == [1, 60]
        assert c["highest_rate_within_bound"] == 1, name
