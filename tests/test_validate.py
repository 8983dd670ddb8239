"""`validate` (orchestrator/preflight.py) and the config's JSON Schema (orchestrator/configschema.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from orchestrator import config, configschema, load, preflight
from orchestrator.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def base() -> dict[str, Any]:
    """A config whose only runner is the orchestrator's own interpreter (which has cv2: a project dependency)."""
    return {"name": "t", "models": [{"name": "m320", "path": "model.onnx", "input_size": 320}], "images": "imgs",
            "runners": [{"name": "py", "kind": "python"}], "threads": [1, 2],
            "scenario": {"type": "single", "warmup": 1, "iterations": 2, "repeats": 3}}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model.onnx").write_bytes(b"x")
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.jpg").write_bytes(b"x")
    return tmp_path


def write(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / "c.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(configschema.SCHEMA_PATH.read_text(encoding="utf-8")))


def validate_cli(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", "validate", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


# The schema


def test_committed_schema_is_the_generated_one() -> None:
    assert configschema.SCHEMA_PATH.read_text(encoding="utf-8") == configschema.text(), \
        "docs/config.schema.json is stale: run `python -m orchestrator.configschema`"


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = configschema.build()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_matches_the_schema(path: Path) -> None:
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator().iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
    assert not errors


def test_the_schema_takes_every_key_the_parser_takes() -> None:
    schema = configschema.build()
    assert set(schema["properties"]) == config.TOP_KEYS
    assert set(schema["properties"]["runners"]["items"]["properties"]) == config.RUNNER_KEYS
    scenario_keys = set(schema["$defs"]["scenario"]["properties"])
    for kind in configschema.SCENARIO_TYPES.values():
        assert kind.config_keys <= scenario_keys


def _top(d: dict) -> None:
    d["colour"] = "blue"


def _runner(d: dict) -> None:
    d["runners"][0]["colour"] = "blue"


def _scenario(d: dict) -> None:
    d["scenario"]["colour"] = "blue"


def _other_types_key(d: dict) -> None:
    d["scenario"]["rates"] = [2]  # a server/http key in a single scenario


def _interpreter_on_go(d: dict) -> None:
    d["runners"].append({"name": "go", "kind": "go", "interpreter": "python3"})


def _both_scenario_keys(d: dict) -> None:
    d["scenarios"] = [dict(d["scenario"])]


@pytest.mark.parametrize("break_it, key", [
    (_top, "colour"), (_runner, "runners[0].colour"), (_scenario, "scenario.colour"),
    (_other_types_key, "scenario.rates"), (_interpreter_on_go, "runners[1].interpreter"),
    (_both_scenario_keys, "scenarios"),
], ids=["top-level", "runner", "scenario", "other-type", "python-only", "scenario-and-scenarios"])
def test_schema_and_parser_reject_the_same_mistakes(folder: Path, break_it, key: str) -> None:
    data = base()
    assert not list(validator().iter_errors(data))
    break_it(data)
    assert list(validator().iter_errors(data)), "the schema accepts it"
    with pytest.raises(ConfigError) as info:
        config.load(write(folder, data))
    assert info.value.key == key and info.value.line


# validate


def test_validate_a_good_config_prints_the_counts(folder: Path) -> None:
    done = validate_cli(write(folder, base()))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == f"{folder / 'c.yaml'}: ok — 2 cells, 6 processes"


def test_validate_a_broken_config_exits_2_with_file_and_line(folder: Path) -> None:
    data = base()
    _runner(data)
    path = write(folder, data)
    done = validate_cli(path)
    assert done.returncode == 2
    assert f"{path}:" in done.stderr and "runners[0].colour: unknown key" in done.stderr
    line = done.stderr.split(f"{path}:")[1].split(":")[0]
    assert line.isdigit()
    assert "Traceback" not in done.stderr


def test_preflight_counts_cells_and_processes_without_writing(folder: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    path = write(folder, base())
    monkeypatch.chdir(folder)  # where run would create reports/
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    plan = preflight.check(path)
    assert (plan.cells, plan.processes, plan.problems) == (2, 6, [])
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_preflight_stops_when_exclude_removes_every_cell(folder: Path) -> None:
    data = base()
    data["matrix"] = {"exclude": [{"runner": "py"}]}
    with pytest.raises(UserError, match="removes every cell"):
        preflight.check(write(folder, data))


def test_preflight_reports_an_interpreter_without_cv2(folder: Path, tmp_path: Path) -> None:
    venv = tmp_path / "bare"  # a fresh venv: the standard library, no cv2
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    data = base()
    data["runners"].append({"name": "bare", "kind": "python", "interpreter": str(python)})
    plan = preflight.check(write(folder, data))
    assert plan.cells == 4
    [problem] = plan.problems
    assert "'bare'" in problem.subject and str(python) in problem.subject
    assert "No module named 'cv2'" in problem.detail
    done = validate_cli(folder / "c.yaml")
    assert done.returncode == 1 and "No module named 'cv2'" in done.stdout


def test_preflight_reports_a_missing_interpreter(folder: Path) -> None:
    data = base()
    data["runners"][0]["interpreter"] = str(folder / "no-such-python")
    [problem] = preflight.check(write(folder, data)).problems
    assert "not there" in problem.detail


def test_preflight_reports_a_native_runner_it_cannot_build(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "TOOLCHAINS", {"go": (folder / "go_runner", "no-such-go-tool", "Go")})
    data = base()
    data["runners"].append({"name": "go", "kind": "go"})
    [problem] = preflight.check(write(folder, data)).problems
    assert "no-such-go-tool" in problem.detail
    (folder / "go_runner").write_bytes(b"")  # built already: nothing to build
    assert preflight.check(folder / "c.yaml").problems == []


def test_preflight_reports_vegeta_for_an_http_scenario(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "VEGETA", folder / "no-vegeta")
    data = base()
    data["scenarios"] = [data.pop("scenario"), {"type": "http", "rates": [2], "repeats": 2}]
    plan = preflight.check(write(folder, data))
    assert plan.cells == 4 and plan.processes == 2 * 3 + 2 * 2
    assert any("vegeta" in p.detail for p in plan.problems)


def test_run_says_up_front_what_validate_finds(folder: Path) -> None:
    """`run` makes validate's checks before its first process: a missing interpreter is said at once, its cells
    fail with the reason, and the other runner's cells still run."""
    data = base()
    data["threads"] = 1
    data["scenario"]["repeats"] = 1
    data["runners"].append({"name": "gone", "kind": "python", "interpreter": str(folder / "no-such-python")})
    path = write(folder, data)
    env = {"PYTHONPATH": str(ROOT / "tests"), "PATH": "/usr/bin:/bin"}
    script = ("import sys, runpy; from orchestrator import runners; runners.PY_SCRIPT = sys.argv.pop(1); "
              "sys.argv[0] = 'orchestrator'; runpy.run_module('orchestrator', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", script, str(ROOT / "tests" / "fakes" / "fake_runner.py"), "run",
                           str(path), "--out", str(folder / "run")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, env=env)
    out = done.stdout + done.stderr
    warning = out.index("warning: runner 'gone'")
    assert "the interpreter is not there" in out[warning:].splitlines()[0]
    assert warning < out.index("[1/2]")  # before the first process
    summary = json.loads((folder / "run" / "summary.json").read_text())
    status = {c["runner"]: c["status"] for c in summary["cells"]}
    assert status == {"py": "ok", "gone": "failed"} and done.returncode == 1
