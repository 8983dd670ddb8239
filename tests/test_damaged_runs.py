"""`report`, `diff` and `list` on damaged run folders, and config strings that every output must carry safely.

The run folders are made by the fake runner (tests/test_run_with_fakes.py), then damaged by hand: a stream cut
short or overwritten, processes.jsonl cut mid-line, config.yaml gone, a run that never wrote its summary. Each
command must say what is broken, never print a traceback, and never call a damaged cell ok.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from test_run_with_fakes import FAKE, fake_config

from orchestrator import charts, exports, report, runners
from orchestrator import run as run_mod
from orchestrator.errors import UserError
from orchestrator.progress import Progress

TIMEOUT_S = 120


def make_run(base: Path, envs: dict[str, dict[str, str]], out: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runners, "PY_SCRIPT", FAKE)
        run_mod.run(fake_config(base, envs, [list(envs)] if len(envs) == 2 else [], iterations=4, repeats=2), out,
                    progress=Progress(io.StringIO(), interactive=False))
    return out


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished run of two fake runners, a and b, two rounds each: copied, never damaged itself."""
    base = tmp_path_factory.mktemp("pristine")
    return make_run(base, {"a": {}, "b": {"FAKE_SEED": "2"}}, base / "run")


@pytest.fixture
def folder(pristine: Path, tmp_path: Path) -> Path:
    out = tmp_path / "reports" / "1-run"
    shutil.copytree(pristine, out)
    return out


def cli(*args: object) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "orchestrator", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=TIMEOUT_S)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


def stream_of(run_dir: Path, runner: str, repeat: int = 0) -> Path:
    return next((run_dir / "raw").glob(f"*__{runner}__*/process-{repeat}.jsonl"))


def summary_cell(run_dir: Path, runner: str) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    return next(c for c in summary["cells"] if c["runner"] == runner)


def cut_mid_line(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2 + 7])  # somewhere inside a line


DAMAGE = {
    "cut mid-line": (cut_mid_line, "is not JSON"),
    "garbage": (lambda p: p.write_bytes(b"\x00\xff garbage \x13" * 200), "is not JSON"),
    "empty": (lambda p: p.write_bytes(b""), "no hello record"),
    "last lines gone": (lambda p: p.write_text("\n".join(p.read_text().splitlines()[:-2]) + "\n"), "no end record"),
    "missing": (lambda p: p.unlink(), "is missing"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_stream_fails_its_cell_with_the_reason(folder: Path, damage: str) -> None:
    do, reason = DAMAGE[damage]
    path = stream_of(folder, "a")
    do(path)
    done = cli("report", folder)
    assert done.returncode == 0, done.stderr
    a = summary_cell(folder, "a")
    assert a["status"] == "failed" and str(path) in a["error"] and reason in a["error"]
    assert a["processes"] == 1  # the intact round still counts
    assert summary_cell(folder, "b")["status"] == "ok"
    assert "warning:" in done.stderr and str(path) in done.stderr
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert any(str(path) in p for p in summary["damaged"])
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "This run folder is damaged" in html and "process-0.jsonl" in html


def test_every_stream_damaged_is_never_an_empty_ok_cell(folder: Path) -> None:
    for repeat in (0, 1):
        stream_of(folder, "a", repeat).write_text("not json at all\n")
    assert cli("report", folder).returncode == 0
    a = summary_cell(folder, "a")
    assert a["status"] == "failed" and a["iterations"] == 0 and "not JSON" in a["error"]


def cut_processes(run_dir: Path) -> int:
    """Cuts the last line of raw/processes.jsonl in half, as a run killed mid-write leaves it; its line number."""
    path = run_dir / "raw" / "processes.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-1] + [lines[-1][:len(lines[-1]) // 2]]), encoding="utf-8")
    return len(lines)


def test_a_cut_processes_file_is_reported_by_report_diff_and_list(folder: Path, pristine: Path) -> None:
    line = cut_processes(folder)
    said = f"processes.jsonl line {line} is cut short"
    done = cli("report", folder)
    assert done.returncode == 0 and said in done.stderr
    assert any(said in p for p in json.loads((folder / "summary.json").read_text(encoding="utf-8"))["damaged"])
    done = cli("diff", pristine, folder)
    assert done.returncode == 0 and said in done.stderr and "runner" in done.stdout
    done = cli("list", folder.parent)
    assert done.returncode == 0 and "[damaged]" in done.stdout and said in done.stdout


def test_a_missing_config_is_a_clear_error(folder: Path, pristine: Path) -> None:
    (folder / "config.yaml").unlink()
    for args in (("report", folder), ("diff", pristine, folder)):
        done = cli(*args)
        assert done.returncode == 2 and str(folder / "config.yaml") in done.stderr and "restore" in done.stderr
    done = cli("list", folder.parent)
    assert done.returncode == 0 and "config.yaml is missing" in done.stdout


def test_a_damaged_config_and_cells_file_are_clear_errors(folder: Path) -> None:
    (folder / "config.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    done = cli("report", folder)
    assert done.returncode == 2 and "config.yaml" in done.stderr and "not valid YAML" in done.stderr
    (folder / "config.yaml").unlink()
    (folder / "raw" / "cells.json").write_text("[{", encoding="utf-8")
    done = cli("list", folder.parent)
    assert done.returncode == 0 and "cells.json is damaged" in done.stdout


def test_a_damaged_environment_and_samples_are_warnings(folder: Path) -> None:
    (folder / "environment.json").write_text("{cut", encoding="utf-8")
    samples = next((folder / "raw").glob("*__a__*/process-0.samples.csv"))
    samples.write_text(samples.read_text(encoding="utf-8") + "1.0,garbage\n", encoding="utf-8")
    done = cli("report", folder)
    assert done.returncode == 0 and "environment.json is damaged" in done.stderr
    assert "damaged row(s) skipped" in done.stderr and summary_cell(folder, "a")["status"] == "ok"


def test_list_shows_aborted_runs(folder: Path) -> None:
    aborted = folder.parent / "2-aborted"
    shutil.copytree(folder, aborted)
    for name in ("summary.json", "summary.csv", "summary.md", "report.html"):
        (aborted / name).unlink()
    started = folder.parent / "3-started"
    (started / "raw").mkdir(parents=True)
    shutil.copy(folder / "config.yaml", started / "config.yaml")
    (folder.parent / "not-a-run").mkdir()
    done = cli("list", folder.parent)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith(" ")]
    assert [line.split()[0] for line in lines] == ["1-run", "2-aborted", "3-started"]
    assert "[" not in lines[0] and "2/2 cells ok" in lines[0]
    assert lines[1].endswith("[aborted]") and "2 cells, no summary" in lines[1]
    assert lines[2].endswith("[aborted]") and "fake" in lines[2]
    assert "no process recorded" in done.stdout
    assert cli("report", aborted).returncode == 0 and summary_cell(aborted, "a")["status"] == "ok"


def unescaped_pipes(line: str) -> int:
    """Pipes that split a GitHub Markdown table row: a backslash escapes the character after it."""
    count, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        count += line[i] == "|"
        i += 1
    return count


WEIRD = "$\\foo$|x"


def test_a_weird_runner_name_is_safe_in_every_output(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, {WEIRD: {}, "b": {"FAKE_SEED": "2"}}, tmp_path / "run")
    assert (run_dir / "report.html").is_file()
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert {c["runner"] for c in summary["cells"]} == {WEIRD, "b"}
    for cell in summary["cells"]:  # the cell's folder name is slugged
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", cell["id"])
    table = [line for line in (run_dir / "summary.md").read_text(encoding="utf-8").splitlines()
             if line.startswith("|")]
    assert table and all(unescaped_pipes(line) == 4 for line in table)  # measure, the weird runner, b
    assert "$\\\\foo$\\|x" in table[0]
    with open(run_dir / "summary.csv", newline="", encoding="utf-8") as f:
        assert {row["runner"] for row in csv.DictReader(f)} == {WEIRD, "b"}
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 2  # the latency charts drew the name
    png = charts.bars(summary["cells"], "single", lambda s: (s["latency_ms"]["p50"], None), "ms",
                      {WEIRD: "#000000", "b": "#0072B2"})
    assert png and png.startswith(b"\x89PNG")


def test_markdown_escapes_pipes_and_line_breaks() -> None:
    assert exports.md("a|b\nc\\d") == "a\\|b c\\\\d"
    assert exports.md("plain name") == "plain name"


def test_a_derived_file_that_cannot_be_written_is_a_clear_error(tmp_path: Path, folder: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="cannot write .*nowhere.*free disk space"):
        exports.write_atomic(tmp_path / "nowhere" / "report.html", "x", tmp_path)
    (folder / "report.html").write_text("the old page", encoding="utf-8")
    real_replace = exports.os.replace

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exports.os, "replace", full_disk)
    with pytest.raises(UserError, match=r"summary\.json \(No space left on device\).*orchestrator report"):
        report.render(folder)
    monkeypatch.setattr(exports.os, "replace", real_replace)
    assert not list(folder.glob(".*.tmp"))  # no temporary file left behind
    assert (folder / "report.html").read_text(encoding="utf-8") == "the old page"  # untouched, not half-written
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8"))["cells"]
