"""Machines: the name and record of each run, and `merge` of several machines' runs into one report.

Fake runners stand in for the real ones here (tests/fakes/fake_runner.py): what is tested is the machine record,
the refusals, the collation and that nothing is pooled. The real runners, merged and opened in a browser, are in
tests/test_browser.py.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_run_with_fakes import FAKE, fake_config

from orchestrator import history, machine, runners
from orchestrator import merge as merge_mod
from orchestrator import run as run_mod
from orchestrator.errors import UserError
from orchestrator.progress import Progress

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fake_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runners, "PY_SCRIPT", FAKE)


def one_run(config: Path, out: Path, name: str | None) -> Path:
    outcome = run_mod.run(config, out, progress=Progress(io.StringIO(), interactive=False), machine_name=name)
    assert outcome.exit_code == 0
    return out


@pytest.fixture(scope="module")
def two_machines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """One config, run as two machines: `alpha`, and `beta` whose runners are 20 % slower (FAKE_MS 24, not 20)."""
    tmp = tmp_path_factory.mktemp("machines")
    mp = pytest.MonkeyPatch()
    mp.setattr(runners, "PY_SCRIPT", FAKE)
    try:
        config = fake_config(tmp, {"a": {}, "b": {}}, [["a", "b"]], iterations=6, repeats=4)
        a = one_run(config, tmp / "alpha", "alpha")
        mp.setenv("FAKE_MS", "24")
        mp.setenv("FAKE_SEED", "2")
        b = one_run(config, tmp / "beta", "beta")
    finally:
        mp.undo()
    return config, a, b


def test_each_run_records_its_machine_and_experiment(two_machines: tuple[Path, Path, Path]) -> None:
    config, a, b = two_machines
    record = json.loads((a / "machine.json").read_text())
    assert record["name"] == "alpha" and record["logical_cpus"] == os.cpu_count()
    assert {"os", "cpu_model", "ram_gb", "gpus", "opencv", "onnxruntime"} <= record.keys()
    assert record["experiment_sha256"] == machine.experiment_sha256(config)
    assert json.loads((b / "machine.json").read_text())["experiment_sha256"] == record["experiment_sha256"]


def test_the_experiment_identity_ignores_what_may_differ_between_machines(tmp_path: Path) -> None:
    base = "name: x\nthreads: auto\nrunners: [{name: a, kind: go}]\n"
    variants = {"same": base, "comment": "# on my box\n" + base.replace("\n", "\r\n"),
                "machine": base + "machine: box-2\n", "seed": base + "seed: 7\n", "other": base.replace("auto", "4")}
    digests = {}
    for key, text in variants.items():
        (tmp_path / f"{key}.yaml").write_bytes(text.encode())
        digests[key] = machine.experiment_sha256(tmp_path / f"{key}.yaml")
    assert digests["same"] == digests["comment"] == digests["machine"] == digests["seed"]
    assert digests["other"] != digests["same"]


def test_machine_name_comes_from_option_config_or_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = fake_config(tmp_path, {"a": {}}, [], iterations=2, repeats=1)
    monkeypatch.setattr(machine.platform, "node", lambda: "Build Box.example.org")
    assert machine.default_name() == "Build-Box"
    one_run(config, tmp_path / "host", None)
    assert json.loads((tmp_path / "host" / "machine.json").read_text())["name"] == "Build-Box"
    config.write_text(config.read_text() + "machine: lab-1\n")
    one_run(config, tmp_path / "keyed", None)
    assert json.loads((tmp_path / "keyed" / "machine.json").read_text())["name"] == "lab-1"
    one_run(config, tmp_path / "given", "ci-7")  # --machine wins over the config
    assert json.loads((tmp_path / "given" / "machine.json").read_text())["name"] == "ci-7"


def test_a_bad_machine_name_is_a_clear_error(tmp_path: Path) -> None:
    config = fake_config(tmp_path, {"a": {}}, [], iterations=2, repeats=1)
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(config), "--out", str(tmp_path / "r"),
                           "--machine", "../evil"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'../evil' cannot name a machine" in done.stderr and not (tmp_path / "r").exists()
    config.write_text(config.read_text() + "machine: 'a b'\n")
    done = subprocess.run([sys.executable, "-m", "orchestrator", "validate", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "machine" in done.stderr and "cannot name a machine" in done.stderr


def test_merge_collates_without_pooling(two_machines: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _config, a, b = two_machines
    page = merge_mod.merge([a, b], tmp_path / "merged")
    out = tmp_path / "merged"
    summary = json.loads((out / "summary.json").read_text())
    assert [m["name"] for m in summary["machines"]] == ["alpha", "beta"]
    for m, source in zip(summary["machines"], (a, b)):
        own = json.loads((source / "summary.json").read_text())
        # every figure of a machine is that machine's own run's, not a pool of both
        assert [c["latency_ms"] for c in m["summary"]["cells"]] == [c["latency_ms"] for c in own["cells"]]
        assert m["summary"]["comparisons"] == own["comparisons"]
        assert (out / m["run"] / "report.html").is_file() and (out / m["run"] / "raw" / "cells.json").is_file()
    [block] = summary["across_machines"]
    assert (block["a"], block["b"]) == ("alpha", "beta")
    rows = {r["runner"]: r for r in block["rows"]}
    assert set(rows) == {"a", "b"}
    for r in rows.values():  # beta's runner is 20 % slower: the ratio says so, and its CI holds 1.2
        assert r["ci95"][0] < 1.2 < r["ci95"][1] and r["ratio"] > 1.1 and r["change"] != "~"
    html = page.read_text()
    assert 'href="machines/alpha/report.html"' in html and 'href="machines/beta/report.html"' in html
    assert html.count('data-machine="alpha"') >= 2 and "Same runner, machine against machine" in html
    csv_lines = (out / "summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("machine,") and {line.split(",")[0] for line in csv_lines[1:]} == {"alpha", "beta"}
    assert "| alpha |" in (out / "summary.md").read_text()


def test_merge_refuses_what_it_cannot_merge(two_machines: tuple[Path, Path, Path], tmp_path: Path) -> None:
    config, a, b = two_machines
    with pytest.raises(UserError, match="needs two run folders"):
        merge_mod.merge([a], tmp_path / "one")
    with pytest.raises(UserError, match="both ran on the machine 'alpha'"):
        merge_mod.merge([a, a], tmp_path / "twice")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(UserError, match="already holds files"):
        merge_mod.merge([a, b], tmp_path / "full")
    with pytest.raises(UserError, match="not a run folder"):
        merge_mod.merge([a, tmp_path / "full"], tmp_path / "none")
    other = fake_config(tmp_path, {"a": {}, "b": {}}, [["a", "b"]], iterations=3, repeats=2)
    c = one_run(other, tmp_path / "gamma", "gamma")
    with pytest.raises(UserError, match="not of the same experiment") as refused:
        merge_mod.merge([a, c], tmp_path / "different")
    assert "alpha" in str(refused.value) and "gamma" in str(refused.value)
    assert "--allow-different-configs" in str(refused.value)
    page = merge_mod.merge([a, c], tmp_path / "allowed", allow_different=True)
    assert "ran different experiment configs" in page.read_text()


def test_merge_cli_says_what_is_wrong_without_traceback(two_machines: tuple[Path, Path, Path],
                                                        tmp_path: Path) -> None:
    _config, a, _b = two_machines
    done = subprocess.run([sys.executable, "-m", "orchestrator", "merge", str(a), str(a), "--out",
                           str(tmp_path / "m")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "one run per machine" in done.stderr


def test_a_run_folder_can_move(two_machines: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """No file of a run names the folder by its absolute path: moved, it re-renders and merges as before."""
    _config, a, b = two_machines
    moved = tmp_path / "elsewhere" / "alpha-moved"
    shutil.copytree(a, moved)
    for path in moved.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".csv", ".md", ".yaml", ".html", ".log"):
            assert str(a) not in path.read_text(encoding="utf-8", errors="replace"), path
    page = merge_mod.merge([moved, b], tmp_path / "merged")
    assert page.is_file()


def test_list_and_diff_know_machines(two_machines: tuple[Path, Path, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    _config, a, b = two_machines
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copytree(a, reports / "r1")
    merge_mod.merge([a, b], reports / "r2-merged")
    text = history.format_list(history.list_runs(reports))
    assert "fake  on alpha  2/2 cells ok" in text and "merged: alpha, beta  4/4 cells ok" in text
    history.diff(a, b)
    assert "old run is of machine alpha, the new one of beta" in capsys.readouterr().err
    with pytest.raises(UserError, match="merged report of several machines"):
        history.diff(a, reports / "r2-merged")
