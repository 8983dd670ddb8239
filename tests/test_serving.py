"""The http scenario's orchestration: vegeta's argv and results, the config's bounds, and whole runs against a fake
server (tests/fakes/fake_server.py) under the real vegeta: a server that crashes, hangs, or answers garbage is a
failed cell whose requests are kept."""

from __future__ import annotations

import base64
import io
import json
import sys
import textwrap
from pathlib import Path

import pytest

from orchestrator import load, matrix
from orchestrator import run as run_mod
from orchestrator import runners as runners_mod
from orchestrator.config import load as load_config
from orchestrator.errors import ConfigError
from orchestrator.progress import Progress

FAKE_SERVER = Path(__file__).parent / "fakes" / "fake_server.py"
ANSWER = {"image": "a.jpg", "width": 100, "height": 100,
          "detections": [{"class_id": 0, "score": 0.9, "box": [10.0, 10.0, 50.0, 50.0]}]}


def b64(obj: object) -> str:
    return base64.b64encode(obj if isinstance(obj, bytes) else json.dumps(obj).encode()).decode()


def test_targets_only_ever_name_loopback(tmp_path: Path) -> None:
    text = load.targets([str(tmp_path / "a.jpg"), str(tmp_path / "b.png")], 8123)
    requests = [line for line in text.splitlines() if line.startswith("POST")]
    assert requests == ["POST http://127.0.0.1:8123/v1/detect"] * 2
    assert "X-Image-Name: b.png" in text and "Content-Type: image/png" in text
    for bad in (0, 70000, "80", True):
        with pytest.raises(ValueError):
            load.targets(["a.jpg"], bad)  # type: ignore[arg-type]


def test_attacks_are_bounded_in_time_and_in_flight(tmp_path: Path) -> None:
    open_loop = load.attack_argv(load.Plan(4, 30, rate=8), tmp_path / "t", tmp_path / "r")
    assert "-rate=8/1s" in open_loop and "-duration=4s" in open_loop and "-timeout=30s" in open_loop
    assert f"-max-workers={load.MAX_OPEN_WORKERS}" in open_loop
    closed = load.attack_argv(load.Plan(4, 30, clients=1000), tmp_path / "t", tmp_path / "r")
    assert "-rate=0" in closed and "-max-workers=1000" in closed and "-workers=1000" in closed


def test_requests_are_classified(tmp_path: Path) -> None:
    rows = [
        [1000, 200, 5_000_000, 10, 20, "", b64(ANSWER)],
        [2000, 200, 7_000_000, 10, 20, "", b64({**ANSWER, "detections": []})],  # not what the image holds
        [3000, 200, 6_000_000, 10, 20, "", b64(b"<html>")],
        [4000, 503, 1_000_000, 10, 20, "", b64({"error": "overloaded"})],
        [5000, 0, 30_000_000_000, 10, 0, "Post ...: context deadline exceeded (Client.Timeout exceeded)", ""],
        [6000, 0, 1_000, 10, 0, "dial tcp 127.0.0.1:1: connect: connection refused", ""],
        [7000, 413, 1_000, 10, 0, "", b64({"error": "too_large"})],
    ]
    path = tmp_path / "r.csv"
    path.write_text("".join(",".join(str(v) for v in r) + ",,0,POST,http://127.0.0.1:1/v1/detect,\n" for r in rows)
                    + "not,a,result\n")
    requests = load.read_requests(path, {"a.jpg": ANSWER})
    assert requests.kind == ["ok", "wrong_answer", "bad_body", "overloaded", "timeout", "connection", "refused_4xx"]
    assert requests.ok_latency_ns().tolist() == [5_000_000]
    assert requests.start_ns.tolist() == [0, 1000, 2000, 3000, 4000, 5000, 6000]
    assert requests.problems == ["r.csv line 8 is not a vegeta result"]
    assert load.read_requests(path, None).kind[1] == "ok"  # without a reference only the form is checked


def write_config(tmp_path: Path, scenario: str, env: dict[str, str] | None = None) -> Path:
    (tmp_path / "m.onnx").write_bytes(b"x")
    imgs = tmp_path / "imgs"
    imgs.mkdir(exist_ok=True)
    for name in ("a.jpg", "b.jpg"):
        (imgs / name).write_bytes(b"x")
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: serving
        models: [{{name: m, path: m.onnx, input_size: 320}}]
        images: imgs
        threads: pool
        busy_cores: 4
        timeout_s: 6
        runners:
          - {{name: a, kind: python, interpreter: {sys.executable}, env: {json.dumps(env or {})}}}
        scenario: {scenario}
        """))
    return path


def test_config_bounds_and_the_thread_policy(tmp_path: Path) -> None:
    for scenario, key in (("{type: http, workers: 1}", "rates"), ("{type: http, workers: 2000, rates: [1]}", "workers"),
                          ("{type: http, clients: [20000]}", "clients"), ("{type: http, rates: [0]}", "rates"),
                          ("{type: http, rates: [1], duration_s: 9999}", "duration_s"),
                          ("{type: spawn, workers: [100000], tasks_per_worker: 1000}", "tasks_per_worker"),
                          ("{type: spawn, python_mode: processes}", "python_mode")):
        with pytest.raises(ConfigError, match=key):
            load_config(write_config(tmp_path, scenario))
    config = load_config(write_config(tmp_path, "{type: http, workers: [1, 2], rates: [4], clients: [10]}"))
    cells = matrix.expand(config)
    assert [(c.label, c.threads) for c in cells] == [
        ("http w=1 r=4/s", matrix.pool_threads(1)), ("http w=1 c=10", matrix.pool_threads(1)),
        ("http w=2 r=4/s", 1), ("http w=2 c=10", 1)]
    assert matrix.pool_threads(1, cpus=16) == 16 and matrix.pool_threads(4, cpus=16) == 1
    spec = matrix.spec(config, cells[0])
    assert spec["http"]["port"] == 0 and spec["mode"] == "threads" and spec["workers"] == 1


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Path]]:
    """One run, one fake server per behaviour (each its own runner), under the real vegeta."""
    tmp_path = tmp_path_factory.mktemp("served")
    config = write_config(tmp_path, "{type: http, workers: 1, rates: [40], duration_s: 1, request_timeout_s: 2, "
                                    "repeats: 1, warmup: 0}")
    behaviours = {"ok": 10**6, "crash": 5, "garbage": 5, "hang": 5, "no_listen": 5}
    text = config.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("- {name: a,"))
    runners = "\n".join(line.replace("name: a,", f"name: {mode},").replace(
        "env: {}", f"env: {json.dumps({'FAKE_SERVER': mode, 'FAKE_AFTER': str(after)})}")
        for mode, after in behaviours.items())
    config.write_text(text.replace(line, runners))
    run_dir = tmp_path / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runners_mod, "PY_SCRIPT", FAKE_SERVER)
        run_mod.run(config, run_dir, progress=Progress(io.StringIO(), interactive=False))
    summary = json.loads((run_dir / "summary.json").read_text())
    return {c["runner"]: (c, run_dir / "raw" / c["id"] / "process-0.requests.csv") for c in summary["cells"]}


def test_a_healthy_server_is_loaded_and_every_answer_checked(served: dict[str, tuple[dict, Path]]) -> None:
    cell, requests = served["ok"]
    assert cell["status"] == "ok", cell["error"]
    assert cell["requests"] >= 30 and cell["answered"] == cell["requests"] and cell["errors"] == {}
    assert 25 < cell["achieved_rps"] < 55  # 40 requests/s offered
    assert cell["client_ms"]["p50"] > 0 and cell["server_ms"]["handler_p50"] == pytest.approx(0.009)
    assert len(requests.read_text().splitlines()) == cell["requests"]  # vegeta's own results, kept


@pytest.mark.parametrize("mode, why", [("crash", "exited with code 3"), ("garbage", "bad body"),
                                        ("no_listen", "exited with code 4"), ("hang", "timed out")])
def test_a_failing_server_fails_its_cell_and_keeps_its_requests(served: dict[str, tuple[dict, Path]], mode: str,
                                                                why: str) -> None:
    cell, requests = served[mode]
    assert cell["status"] == "failed" and why in cell["error"]
    if mode != "no_listen":
        good = load.read_requests(requests, {n: ANSWER | {"image": n} for n in ("a.jpg", "b.jpg")}).kind
        assert len(good) > 5  # the answers before the fault, and the failures after it
        assert good[:3] == ["ok"] * 3 and "ok" not in good[3:]  # 5 answered well, 2 of them in the parity pass


def test_spawn_memory_is_the_cold_spawn_and_speed_the_measured_samples() -> None:
    """A runtime keeps what its first N workers took: later samples measure reuse, so memory is the first
    sample's; start-up and tasks per second are the measured samples' median."""
    from orchestrator.protocol import Stream
    from orchestrator.rundata import CellData

    def sample(i: int, added_mb: float, startup_ms: float) -> dict:
        return {"type": "spawn_sample", "index": i, "warmup": i == 0, "workers": 1000, "tasks": 10000,
                "startup_ns": int(startup_ms * 1e6), "tasks_ns": 10**8, "rss_before_bytes": 100 * 2**20,
                "rss_bytes": int((100 + added_mb) * 2**20)}

    cell = CellData({"id": "s", "runner": "go", "scenario": "spawn", "variant": {"workers": 1000}})
    cell.processes.append({"repeat": 0, "status": "ok"})
    cell.streams.append(Stream(spawn_samples=[sample(0, 2.8, 5.0), sample(1, 0.1, 1.0), sample(2, 0.0, 3.0)]))
    assert cell.process_spawn("rss_added_mb") == {0: pytest.approx(2.8, abs=1e-3)}
    assert cell.process_spawn("startup_ms") == {0: pytest.approx(2.0)}
    assert cell.process_spawn("tasks_per_s") == {0: pytest.approx(100_000)}
