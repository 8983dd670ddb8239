"""The set-up scripts' `step` helper (scripts/lib.sh): one terminal line per step, the command's output in the
set-up log ($SETUP_LOG), and on failure the log's tail and path on the terminal and a non-zero exit."""
import shutil
import subprocess
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "scripts" / "lib.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run_steps(tmp_path, script):
    log = tmp_path / "logs" / "setup.log"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SETUP_LOG": str(log),
           "YOLO_BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(["bash", "-c", f'set -euo pipefail; source "{LIB}"; {script}'], env=env,
                          capture_output=True, text=True, timeout=30)
    return proc, log


def test_step_ok_prints_one_line_and_logs_the_output(tmp_path):
    proc, log = run_steps(tmp_path, 'step "saying hello" sh -c "echo hello-out; echo hello-err >&2"; echo after')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "after\n"
    assert proc.stderr.splitlines() == ["  saying hello ... ok"]
    text = log.read_text()
    assert "hello-out" in text and "hello-err" in text and "saying hello" in text


def test_step_runs_functions_with_errexit(tmp_path):
    proc, log = run_steps(tmp_path, 'f() { echo one; false; echo not-reached; }; step "a function" f')
    assert proc.returncode == 1
    assert "one" in log.read_text() and "not-reached" not in log.read_text()


def test_skip_line(tmp_path):
    proc, _ = run_steps(tmp_path, 'skip "vegeta v12.13.0"')
    assert proc.returncode == 0
    assert proc.stderr == "  vegeta v12.13.0 ... skipped (already installed)\n"


def test_step_failure_shows_the_tail_and_the_log_path(tmp_path):
    failing = 'sh -c "for i in \\$(seq 1 100); do echo line-\\$i; done; echo boom >&2; exit 3"'
    proc, log = run_steps(tmp_path, f'step "ok first" true; step -h "check the network" "failing step" {failing};'
                                    ' echo not-reached')
    assert proc.returncode == 3
    assert "not-reached" not in proc.stdout + proc.stderr
    err = proc.stderr
    assert "  ok first ... ok" in err
    assert "failing step ... FAILED" in err
    assert "boom" in err and "line-100" in err and "line-80" in err
    assert "line-50\n" not in err  # only the tail (30 lines), not the whole output
    assert "check the network" in err
    assert str(log) in err
    assert "line-1\n" in log.read_text()  # the log has everything
