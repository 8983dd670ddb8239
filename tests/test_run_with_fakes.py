"""The whole `run` flow with fake runners: failures are clear and lose nothing; statistics reach a verdict."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator import report, runners
from orchestrator import run as run_mod
from orchestrator.progress import Progress

FAKE = Path(__file__).parent / "fakes" / "fake_runner.py"


def fake_config(tmp_path: Path, runner_envs: dict[str, dict[str, str]], compare: list[list[str]],
                iterations: int = 12, timeout: int = 60, repeats: int = 6) -> Path:
    """A config of fake runners. `busy_cores: 4`: these tests are about the statistics, not the machine, whose
    quiet check has real tests of its own (tests/test_verdicts_real.py)."""
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
        scenario: {{warmup: 2, iterations: {iterations}, repeats: {repeats}}}
        threads: 2
        busy_cores: 4
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
    run_mod.run(config, tmp_path / "run", progress=Progress(io.StringIO(), interactive=False))
    return json.loads((tmp_path / "run" / "summary.json").read_text())


def cell(summary: dict, runner: str) -> dict:
    return next(c for c in summary["cells"] if c["runner"] == runner)


def test_crash_hang_garbage_and_error_are_clear_and_keep_what_was_measured(tmp_path: Path) -> None:
    envs = {"good": {}, "crash": {"FAKE_MODE": "crash"}, "hang": {"FAKE_MODE": "hang"},
            "garbage": {"FAKE_MODE": "garbage"}, "error": {"FAKE_MODE": "error"}}
    summary = run(tmp_path, fake_config(tmp_path, envs, [], iterations=5, timeout=3, repeats=2))
    assert cell(summary, "good")["status"] == "ok" and cell(summary, "good")["iterations"] == 10
    crash = cell(summary, "crash")
    assert crash["status"] == "failed" and "exited with code 3" in crash["error"]
    assert "simulated crash" in crash["error"]
    assert crash["cold_ms"] is not None  # the iterations before the crash are kept
    hang = cell(summary, "hang")
    assert hang["status"] == "failed" and "timed out after 3 s" in hang["error"]
    garbage = cell(summary, "garbage")
    assert garbage["status"] == "failed" and "not JSON: 'this is not json'" in garbage["error"]
    assert garbage["iterations"] == 2 * 5  # every valid record around the garbage line is kept
    assert cell(summary, "error")["error"] == "model_load: cannot read model"
    assert (tmp_path / "run" / "report.html").is_file()


def test_identical_runners_are_not_called_different(tmp_path: Path) -> None:
    """Each fake process has its own level (3 % spread), as real processes do: pooled iterations would call these
    two different; the paired process medians do not."""
    envs = {"a": {"FAKE_SEED": "1"}, "b": {"FAKE_SEED": "2"}}
    summary = run(tmp_path, fake_config(tmp_path, envs, [["a", "b"]], iterations=30))
    latency = next(c for c in summary["comparisons"] if c["metric"] == "latency_p50")
    assert latency["outcome"] in ("equivalent", "inconclusive") and not latency["significant"]
    assert latency["rounds"] == 6 and latency["unit"] == "n = 6 rounds x 30 iterations"
    assert latency["ci95"][0] <= 1 <= latency["ci95"][1]
    assert latency["fair"] and latency["spread_a"] > 0.005  # the process effects are there
    from scipy import stats
    pooled = [[r["total_ns"] for p in sorted((tmp_path / "run" / "raw").glob(f"*__{n}__*/process-*.jsonl"))
               for r in map(json.loads, p.read_text().splitlines()) if r["type"] == "iteration" and not r["warmup"]]
              for n in ("a", "b")]
    assert stats.mannwhitneyu(*pooled).pvalue < 0.05  # what the old design would have said


def test_a_20_percent_slowdown_is_detected(tmp_path: Path) -> None:
    envs = {"slow": {"FAKE_MS": "24", "FAKE_SEED": "1"}, "fast": {"FAKE_MS": "20", "FAKE_SEED": "2"}}
    summary = run(tmp_path, fake_config(tmp_path, envs, [["slow", "fast"]]))
    latency = next(c for c in summary["comparisons"] if c["metric"] == "latency_p50")
    assert latency["outcome"] == "faster" and latency["winner"] == "fast" and latency["ci95"][0] > 1
    assert latency["ratio"] == pytest.approx(1.2, abs=0.04)
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
    assert c["iterations"] == len(measured) == 72 and c["processes"] == 6
    assert c["latency_ms"]["min"] == pytest.approx(min(measured))
    assert c["memory_mb"]["peak_rss"] == 50.0 and c["memory_mb"]["processes"] == 6
    medians = c["latency_ms"]["process_median"]
    assert medians["processes"] == 6 and medians["ci95"][0] < medians["center"] < medians["ci95"][1]
    (tmp_path / "run" / "report.html").unlink()
    report.render(tmp_path / "run")
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == summary


def test_one_process_per_cell_renders_without_intervals(tmp_path: Path) -> None:
    """One round: no interval anywhere, and the report says so instead of failing to render."""
    envs = {"native": {"FAKE_MS": "20"}, "lang": {"FAKE_MS": "25"}}
    config = with_keys(fake_config(tmp_path, envs, [["lang", "native"]], iterations=3, repeats=1),
                       "reference: native\n")
    summary = run(tmp_path, config)
    latency = next(c for c in summary["comparisons"] if c["metric"] == "latency_p50")
    assert latency["outcome"] == "too_few_rounds" and latency["ci95"] is None
    assert summary["native_overhead"][0]["phases"]["total"]["ci95"] is None
    assert "one round: no interval" in (tmp_path / "run" / "report.html").read_text()


def test_html_in_a_runner_name_is_escaped(tmp_path: Path) -> None:
    envs = {"<script>alert(1)</script>": {}}
    run(tmp_path, fake_config(tmp_path, envs, [], iterations=3))
    html = (tmp_path / "run" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def with_keys(config: Path, extra: str) -> Path:
    config.write_text(config.read_text() + textwrap.dedent(extra))
    return config


def test_claims_are_checked_for_what_they_say(tmp_path: Path) -> None:
    """The fake's decode, preprocess and postprocess are 30 % of its latency: slow (24 ms) does 7.2 ms of its
    own work per image, fast (20 ms) 6.0 ms, a difference of 1.2 ms."""
    envs = {"slow": {"FAKE_MS": "24", "FAKE_SEED": "1", "FAKE_RSS_MB": "80"},
            "fast": {"FAKE_MS": "20", "FAKE_SEED": "2"}, "twin": {"FAKE_MS": "20", "FAKE_SEED": "3"}}
    config = with_keys(fake_config(tmp_path, envs, [["slow", "fast"]], iterations=20), """\
        claims:
          - {claim: "slow 24 ms vs fast 20 ms", metric: latency_mean, a: slow, b: fast, a_value: 24, b_value: 20}
          - {claim: "slow 21.2 ms vs fast 20 ms", metric: latency_mean, a: slow, b: fast, a_value: 21.2, b_value: 20}
          - {claim: "slow is twice as fast", metric: latency_p50, a: slow, b: fast, a_value: 10, b_value: 20}
          - {claim: "less memory", metric: peak_rss, a: slow, b: fast, a_value: 820, b_value: 980}
          - {claim: "twins differ", metric: latency_p50, a: twin, b: fast, a_value: 30, b_value: 20}
          - {claim: "1000 workers", metric: throughput, a: slow, b: fast, a_value: 9800, b_value: 1100,
             workers: 1000}
          - {claim: "start in 12 ms", metric: startup, a: slow, b: fast, a_value: 12, b_value: 85}
          - {claim: "p99", metric: latency_p99, a: slow, b: fast, a_value: 30, b_value: 25}
        """)
    ratio_ok, own_ok, contradicted, memory, twins, workers, startup, p99 = run(tmp_path, config)["claims"]
    assert p99["verdict"] == "not comparable" and "n too small" in p99["detail"]  # 120 iterations, need 437
    assert ratio_ok["ratio_view"]["verdict"] == "consistent" and ratio_ok["view"] == "own work"
    assert ratio_ok["verdict"] == "same direction, different size"  # 4 ms claimed, 1.2 ms of own work measured
    assert ratio_ok["own_work"]["ci95"][0] < 1.2 < ratio_ok["own_work"]["ci95"][1]
    assert own_ok["verdict"] == "consistent" and own_ok["ratio_view"]["verdict"] == "same direction, different size"
    assert contradicted["verdict"] == "contradicted"
    assert memory["verdict"] == "contradicted" and memory["measured"]["ratio"] == pytest.approx(1.6)
    assert twins["verdict"] == "not confirmed"  # a CI that contains 0 says nothing, whatever was claimed
    assert workers["verdict"] == "not comparable" and "no concurrency cell" in workers["detail"]
    # the article's start-up of 1000 sleeping workers is the spawn scenario's, never concurrency's (N networks)
    assert startup["verdict"] == "not comparable" and "spawn scenario" in startup["detail"]
    assert "Claims checked" in (tmp_path / "run" / "report.html").read_text()


def test_warmup_auto_detects_the_slow_start(tmp_path: Path) -> None:
    config = fake_config(tmp_path, {"a": {"FAKE_WARM": "4"}}, [], iterations=30)
    config.write_text(config.read_text().replace("warmup: 2", "warmup: auto"))
    c = cell(run(tmp_path, config), "a")
    assert c["warmup"]["mode"] == "auto" and c["warmup"]["detected"] == [4] * 6
    assert c["iterations"] == 6 * (30 + 10 - 4)  # the runner runs 10 extra; the detected warm-up is dropped
    assert c["latency_ms"]["max"] < 1.5 * c["latency_ms"]["p50"]  # no slow warm-up iteration left
    assert {"code": "auto_dropped", "params": {"dropped": 24, "processes": 6},
            "text": "warmup: auto dropped 24 slow iteration(s) at the start of 6 process(es)"} in c["warnings"]


def test_a_fixed_warmup_that_was_too_short_is_flagged(tmp_path: Path) -> None:
    c = cell(run(tmp_path, fake_config(tmp_path, {"a": {"FAKE_WARM": "3"}}, [], iterations=30)), "a")
    assert c["warmup"]["mode"] == "fixed" and c["warmup"]["detected"] == [3] * 6
    assert c["iterations"] == 6 * 30  # kept: a fixed warm-up is the user's choice, the report only warns
    assert any(w["code"] == "still_settling" and w["params"]["warmup"] == 2 and w["params"]["processes"] == 6
               for w in c["warnings"])


def test_native_overhead_min_time_and_affinity(tmp_path: Path) -> None:
    envs = {"native": {"FAKE_MS": "20"}, "lang": {"FAKE_MS": "25", "FAKE_SEED": "3"}}
    config = with_keys(fake_config(tmp_path, envs, [], iterations=10), "reference: native\ncpu_affinity: [0]\n")
    summary = run(tmp_path, config)
    (entry,) = summary["native_overhead"]
    assert entry["runner"] == "lang" and entry["phases"]["total"]["ratio"] == pytest.approx(1.25, abs=0.05)
    assert entry["phases"]["inference"]["ci95"][0] > 1
    assert any(w["code"] == "short_measurement" and w["params"]["min_s"] == 3
               for w in cell(summary, "lang")["warnings"])  # 20 x 25 ms = 0.5 s
    stderr = next((tmp_path / "run" / "raw").glob("*lang*/process-0.stderr.log")).read_text()
    if sys.platform.startswith("linux"):
        assert "affinity [0]" in stderr


@pytest.mark.parametrize("choice", ["skip", "fail"])
def test_missing_backend_and_silent_fallback_are_never_reported_as_ok(tmp_path: Path, choice: str) -> None:
    envs = {"absent": {"FAKE_MODE": "unavailable"}, "fallback": {"FAKE_MODE": "fallback"}}
    summary = run(tmp_path, with_keys(fake_config(tmp_path, envs, [], iterations=3), f"on_unavailable: {choice}\n"))
    status = "skipped" if choice == "skip" else "failed"
    assert cell(summary, "absent")["status"] == status and "backend_unavailable" in cell(summary, "absent")["error"]
    fallback = cell(summary, "fallback")
    assert fallback["status"] == status and fallback["error"].startswith("fell back to CPU")


def test_progress_lines_when_not_a_terminal(tmp_path: Path) -> None:
    out = io.StringIO()
    run_mod.run(fake_config(tmp_path, {"a": {}, "b": {}}, [], iterations=3), tmp_path / "run",
                progress=Progress(out, interactive=False))
    lines = out.getvalue().splitlines()
    steps = [line for line in lines if line.startswith("[")]
    assert [s.split("]")[0] for s in steps] == [f"[{k}/12" for k in range(1, 13)]
    assert steps[0].endswith("ETA ?") and "ETA " in steps[-1] and "\r" not in out.getvalue()
    assert lines[-1] == f"report: {tmp_path / 'run' / 'report.html'}"


def test_progress_updates_one_line_on_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(out, interactive=True)
    progress.start(2)
    progress.process("cell a")
    progress.finished("ok", None)
    progress.process("cell b")
    progress("done")
    assert out.getvalue().count("\r\033[K") == 2 and out.getvalue().endswith("done\n")


def test_ctrl_c_stops_cleanly_and_reports_what_finished(tmp_path: Path) -> None:
    config = fake_config(tmp_path, {"quick": {}, "stuck": {"FAKE_MODE": "hang"}}, [], iterations=3, timeout=600)
    config.write_text(config.read_text().replace("repeats: 6", "repeats: 1") + "order: round-robin\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent / "fakes")}
    script = ("import sys, runpy; from orchestrator import runners; runners.PY_SCRIPT = sys.argv.pop(1); "
              "runpy.run_module('orchestrator', run_name='__main__')")
    proc = subprocess.Popen([sys.executable, "-c", script, str(FAKE), "run", str(config), "--out",
                             str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "run" / "raw").glob("*stuck*/process-0.jsonl")):
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    stdout, stderr = proc.communicate(timeout=60)
    assert "interrupted" in stdout and "Traceback" not in stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert cell(summary, "quick")["status"] == "ok" and cell(summary, "stuck")["status"] == "skipped"
    assert (tmp_path / "run" / "report.html").is_file()


def test_diff_and_list(tmp_path: Path) -> None:
    from orchestrator import history

    old = fake_config(tmp_path, {"a": {"FAKE_MS": "20"}, "b": {"FAKE_MS": "30"}}, [])
    run_mod.run(old, tmp_path / "reports" / "1-old", progress=Progress(io.StringIO(), interactive=False))
    new = fake_config(tmp_path, {"a": {"FAKE_MS": "24", "FAKE_SEED": "5"}, "b": {"FAKE_MS": "30", "FAKE_SEED": "6"}},
                      [])
    run_mod.run(new, tmp_path / "reports" / "2-new", progress=Progress(io.StringIO(), interactive=False))
    rows = {r["runner"]: r for r in history.diff(tmp_path / "reports" / "1-old", tmp_path / "reports" / "2-new")}
    # 6 processes a run with 3 % spread each: the ratio's standard error is about 1.7 %
    assert rows["a"]["change"].startswith("+") and rows["a"]["ratio"] == pytest.approx(1.2, abs=0.06)
    assert rows["a"]["ci95"][0] > 1.1
    assert rows["b"]["change"] == "~"
    done = subprocess.run([sys.executable, "-m", "orchestrator", "diff", str(tmp_path / "reports" / "1-old"),
                           str(tmp_path / "reports" / "2-new"), "--html", str(tmp_path / "diff.html")],
                          capture_output=True, text=True)
    assert done.returncode == 0 and rows["a"]["change"] in done.stdout and "~" in done.stdout
    assert "<table>" in (tmp_path / "diff.html").read_text()
    listed = subprocess.run([sys.executable, "-m", "orchestrator", "list", str(tmp_path / "reports")],
                            capture_output=True, text=True).stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["1-old", "2-new"] and "2/2 cells ok" in listed[0]
    bad = subprocess.run([sys.executable, "-m", "orchestrator", "diff", str(tmp_path), str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "not a run folder" in bad.stderr and "Traceback" not in bad.stderr


def test_every_run_draws_a_fresh_seed_and_records_it(tmp_path: Path) -> None:
    import yaml

    config = fake_config(tmp_path, {"a": {}, "b": {}}, [], iterations=2, repeats=2)
    seeds = []
    for name in ("one", "two"):
        run_mod.run(config, tmp_path / name, progress=Progress(io.StringIO(), interactive=False))
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        recorded = yaml.safe_load((tmp_path / name / "config.yaml").read_text())["seed"]
        assert isinstance(recorded, int) and summary["design"]["seed"] == recorded
        seeds.append(recorded)
    assert seeds[0] != seeds[1]  # a position effect cannot become the same bias in every run


def test_processes_run_in_the_recorded_interleaved_order(tmp_path: Path) -> None:
    from orchestrator import config as config_mod
    from orchestrator import matrix

    path = fake_config(tmp_path, {"a": {}, "b": {}, "c": {}}, [], iterations=2)
    path.write_text(path.read_text().replace("repeats: 6", "repeats: 3") + "seed: 11\n")
    summary = run(tmp_path, path)
    order = summary["order"]
    assert [o["order"] for o in order] == list(range(9))
    rounds = [[o["cell"] for o in order if o["repeat"] == k] for k in range(3)]
    assert all(sorted(r) == sorted(rounds[0]) for r in rounds)  # every cell once per round: A B C, never A A A
    assert [o["repeat"] for o in order] == [0] * 3 + [1] * 3 + [2] * 3
    config = config_mod.load(path)
    planned = matrix.schedule(matrix.expand(config), {"single": 3}, config.order, config.seed)
    assert [c.id for c, _ in planned] == [o["cell"] for o in order]  # the seeded order, as run
    starts = [json.loads(line)["order"] for line in (tmp_path / "run" / "raw" / "processes.jsonl").open()]
    assert starts == list(range(9))
