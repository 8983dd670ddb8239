"""The fault suite: misbehaving runners, signals and interruptions; nothing hangs, nothing measured is lost.

Every orchestrator here runs as a subprocess with a deadline, so a fault that hangs it fails the test instead of
hanging `make test`. The runner is tests/fakes/fake_runner.py, one FAKE_MODE per fault.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from test_run_with_fakes import FAKE, cell, fake_config

FAULTS = {
    "ok": None,
    "crash": "exited with code 3",
    "kill": "exited with code -9",
    "hang": "timed out after 8 s",
    "orphan": "left",
    "huge": "longer than the",
    "negative": "inference must be a non-negative integer",
    "absurd": "longer than an hour",
    "protocol2": "speaks protocol 2",
    "no_end": "ended without an end record",
    "flood": None,
    "noline": None,
}
SCRIPT = ("import sys, runpy; from orchestrator import runners; runners.PY_SCRIPT = sys.argv.pop(1); "
          "runpy.run_module('orchestrator', run_name='__main__')")


def orchestrator(*args: str, **popen: object) -> subprocess.Popen:
    """`python -m orchestrator ARGS` with the fake runner in place of the Python runner."""
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(FAKE), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)  # type: ignore[call-overload]


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the orchestrator hung: {out[-2000:]} {err[-2000:]}")
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict, Path]:
    """One run with one runner per fault (a module-scoped run: each fault is a cell of it)."""
    tmp = tmp_path_factory.mktemp("faults")
    config = fake_config(tmp, {name: {"FAKE_MODE": name} for name in FAULTS}, [], iterations=5, timeout=8,
                         repeats=1)
    rc, out, err = finish(orchestrator("run", str(config), "--out", str(tmp / "run")), 240)
    return rc, err, json.loads((tmp / "run" / "summary.json").read_text()), tmp / "run"


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_a_clear_verdict_of_its_own_cell(faults: tuple[int, str, dict, Path], fault: str) -> None:
    _, err, summary, _ = faults
    got = cell(summary, fault)
    if FAULTS[fault] is None:
        assert got["status"] == "ok", got["error"]
    else:
        assert got["status"] == "failed" and FAULTS[fault] in got["error"], got["error"]
    assert "Traceback" not in err


def test_a_run_with_failed_cells_exits_non_zero_and_says_how_many_ran(faults: tuple[int, str, dict, Path]) -> None:
    rc, _, summary, _ = faults
    assert rc == 1
    assert summary["run"] == {"planned": len(FAULTS), "done": len(FAULTS), "interrupted": None}


def test_what_was_measured_before_a_fault_is_kept(faults: tuple[int, str, dict, Path]) -> None:
    _, _, summary, run_dir = faults
    for fault in ("crash", "kill", "negative"):  # iterations 0 .. 2 came before the fault
        assert cell(summary, fault)["cold_ms"] is not None, fault
    lines = (next(run_dir.glob("raw/*negative*")) / "process-0.jsonl").read_text().splitlines()
    bad = next(i for i, line in enumerate(lines, 1) if '"inference": -3' in line)
    assert f"stdout line {bad}" in cell(summary, "negative")["error"]  # the record's line, for the runner's author


def test_a_detached_grandchild_holding_stdout_is_killed(faults: tuple[int, str, dict, Path]) -> None:
    _, _, _, run_dir = faults
    stderr = (next(run_dir.glob("raw/*orphan*")) / "process-0.stderr.log").read_text()
    pid = int(re.search(r"grandchild pid (\d+)", stderr).group(1))  # type: ignore[union-attr]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_floods_and_huge_lines_are_bounded_and_said(faults: tuple[int, str, dict, Path]) -> None:
    _, _, summary, run_dir = faults
    flood = next(run_dir.glob("raw/*flood*")) / "process-0.stderr.log"
    assert flood.stat().st_size < 33 << 20 and "more bytes of stderr were not kept" in flood.read_text()[-300:]
    huge = (next(run_dir.glob("raw/*huge*")) / "process-0.jsonl").read_text()
    assert len(huge) < 1 << 20 and "cut by the orchestrator" in huge
    assert cell(summary, "huge")["cold_ms"] is not None  # the records around the line are kept


def _wait_for(path: Path, lines: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if path.is_file() and len(path.read_text().splitlines()) >= lines:
            return
        time.sleep(0.1)
    pytest.fail(f"{path} never reached {lines} lines")


def test_sigterm_stops_the_run_and_resume_finishes_it_to_the_same_summary(tmp_path: Path) -> None:
    envs = {"a": {"FAKE_SLEEP_MS": "60"}, "b": {"FAKE_SLEEP_MS": "60", "FAKE_MS": "25"}}
    config = fake_config(tmp_path, envs, [["a", "b"]], iterations=8, repeats=3)
    config.write_text(config.read_text() + "seed: 7\n")
    stopped = tmp_path / "stopped"
    proc = orchestrator("run", str(config), "--out", str(stopped))
    _wait_for(stopped / "raw" / "processes.jsonl", 2, 60)
    proc.send_signal(signal.SIGTERM)
    rc, _, err = finish(proc, 60)
    assert rc == 143 and "Traceback" not in err
    state = json.loads((stopped / "summary.json").read_text())["run"]
    assert state["interrupted"] == "SIGTERM" and 2 <= state["done"] < state["planned"] == 6
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(stopped) in " ".join(p.info["cmdline"] or [])]

    rc, out, err = finish(orchestrator("run", "--resume", str(stopped)), 120)
    assert rc == 0, err
    rc, _, _ = finish(orchestrator("run", str(config), "--out", str(tmp_path / "straight")), 120)
    assert rc == 0
    resumed = json.loads((stopped / "summary.json").read_text())
    straight = json.loads((tmp_path / "straight" / "summary.json").read_text())
    assert resumed["run"] == straight["run"] == {"planned": 6, "done": 6, "interrupted": None}
    assert resumed["order"] == straight["order"]
    keys = ("status", "processes", "iterations", "latency_ms", "cold_ms")
    for runner in envs:
        assert {k: cell(resumed, runner).get(k) for k in keys} == {k: cell(straight, runner).get(k) for k in keys}


def test_resume_refuses_a_changed_config_and_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    config = fake_config(tmp_path, {"a": {}}, [], iterations=3, repeats=1)
    rc, _, _ = finish(orchestrator("run", str(config), "--out", str(tmp_path / "run")), 60)
    assert rc == 0
    (tmp_path / "other").mkdir()
    other = fake_config(tmp_path / "other", {"a": {}, "b": {}}, [], iterations=3, repeats=1)
    rc, _, err = finish(orchestrator("run", str(other), "--resume", str(tmp_path / "run")), 60)
    assert rc == 2 and "is not the config" in err and "Traceback" not in err
    saved = tmp_path / "run" / "config.yaml"
    saved.write_text(saved.read_text().replace("iterations: 3", "iterations: 4"))
    rc, _, err = finish(orchestrator("run", "--resume", str(tmp_path / "run")), 60)
    assert rc == 2 and "was changed after the run started" in err
    rc, _, err = finish(orchestrator("run", "--resume", str(tmp_path)), 60)
    assert rc == 2 and "can be resumed" in err and "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or sys.platform != "linux",
                    reason="mounting a tmpfs needs root on Linux")
def test_a_read_only_folder_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    """A finished run on a file system then made read-only: report, resume, a new run and merge into it each
    say which path cannot be written and what to do, and the raw data stays as it was."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)]).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        config = fake_config(tmp_path, {"a": {}}, [], iterations=3, repeats=2)
        run_dir = mount / "run"
        for out_dir, name in ((run_dir, "one"), (mount / "run2", "two")):
            rc, _, err = finish(orchestrator("run", str(config), "--out", str(out_dir), "--machine", name), 60)
            assert rc == 0, err
        raw = {p: p.read_bytes() for p in (run_dir / "raw").rglob("*") if p.is_file()}
        assert subprocess.run(["mount", "-o", "remount,ro", str(mount)]).returncode == 0
        for args, said in ((("report", str(run_dir)), "cannot write"),
                           (("run", "--resume", str(run_dir)), "cannot write"),
                           (("run", str(config), "--out", str(mount / "new")), "cannot write"),
                           (("merge", str(run_dir), str(mount / "run2"), "--out", str(mount / "m")), "cannot create")):
            rc, out, err = finish(orchestrator(*args), 60)
            assert rc == 2 and "Traceback" not in err and said in err and str(mount) in err, (args, err)
        assert {p: p.read_bytes() for p in (run_dir / "raw").rglob("*") if p.is_file()} == raw
    finally:
        subprocess.run(["umount", "-l", str(mount)])


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or sys.platform != "linux",
                    reason="mounting a small tmpfs needs root on Linux")
def test_a_full_disk_is_a_clear_error_and_the_run_resumes(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)]).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        config = fake_config(tmp_path, {"a": {"FAKE_MODE": "flood"}}, [], iterations=3, repeats=2)
        rc, out, err = finish(orchestrator("run", str(config), "--out", str(mount / "run")), 60)
        assert rc != 0 and "Traceback" not in err
        assert "free disk space" in (err + out).lower() or "no space" in (err + out).lower()
    finally:
        subprocess.run(["umount", "-l", str(mount)])
