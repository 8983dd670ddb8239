"""Config validation: every error names the file, the line and the key, and says what to do."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestrator import config, engines
from orchestrator.errors import ConfigError

GOOD = """\
name: t
models:
  - name: m320
    path: model.onnx
    input_size: 320
images: imgs
runners:
  - name: go
    kind: go
  - name: py
    kind: python
    interpreter: /usr/bin/python3
threads: [1, 2]
matrix:
  exclude:
    - {runner: py, threads: 2}
compare:
  - [go, py]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model.onnx").write_bytes(b"x")
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.jpg").write_bytes(b"x")
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "c.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(folder: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config.load(write(folder, text))
    return info.value


def test_good_config_resolves_paths_and_defaults(folder: Path) -> None:
    c = config.load(write(folder, GOOD))
    assert c.models[0].path == folder / "model.onnx"
    assert c.images == [folder / "imgs" / "a.jpg"]  # only image suffixes
    assert c.threads == [1, 2]
    assert c.scenario.repeats == 10 and c.scenario.warmup == 3 and c.seed is None and c.min_effect == 0.03
    assert c.compare == [("go", "py")]
    assert c.conf_threshold == 0.25 and c.nms_threshold == 0.45


def test_unknown_key_names_line_and_allowed_keys(folder: Path) -> None:
    err = error_of(folder, GOOD.replace("threads: [1, 2]", "threads: [1, 2]\nthreds: 4"))
    assert err.line == 14 and err.key == "threds"
    assert "unknown key" in str(err) and "threads" in str(err) and str(folder / "c.yaml") in str(err)


def test_wrong_type_in_nested_list(folder: Path) -> None:
    err = error_of(folder, GOOD.replace("input_size: 320", "input_size: big"))
    assert err.key == "models[0].input_size" and err.line == 5
    assert "whole number" in str(err)


def test_missing_model_file_says_make_models(folder: Path) -> None:
    err = error_of(folder, GOOD.replace("path: model.onnx", "path: nothere.onnx"))
    assert err.key == "models[0].path" and err.line == 4 and "make models" in str(err)


def test_unknown_runner_in_compare(folder: Path) -> None:
    err = error_of(folder, GOOD.replace("[go, py]", "[go, rust]"))
    assert err.key == "compare[0][1]" and err.line == 18 and "'rust'" in str(err)


def test_duplicate_key_and_duplicate_name(folder: Path) -> None:
    err = error_of(folder, GOOD + "name: again\n")
    assert err.key == "name" and err.line == 19 and "twice" in str(err)
    err = error_of(folder, GOOD.replace("name: py", "name: go"))
    assert err.key == "runners[1].name" and "used twice" in str(err)


def test_bad_yaml_points_at_the_line(folder: Path) -> None:
    err = error_of(folder, GOOD.replace("threads: [1, 2]", "threads: [1, 2"))
    assert err.line is not None and "not valid YAML" in str(err)


def test_exclude_rule_must_name_configured_axes(folder: Path) -> None:
    err = error_of(folder, GOOD.replace("{runner: py, threads: 2}", "{runner: nope}"))
    assert err.key == "matrix.exclude[0].runner"


def test_interpreter_only_for_python(folder: Path) -> None:
    err = error_of(folder, GOOD.replace("kind: go", "kind: go\n    interpreter: /x"))
    assert err.key == "runners[0].interpreter"


def test_interpreter_paths_are_expanded_as_every_path(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYHOME", "/opt/py")
    cases = (("$PYHOME/bin/python3", "/opt/py/bin/python3"), ("venv/bin/python", str(folder / "venv/bin/python")),
             ("~/py/bin/python", str(Path("~/py/bin/python").expanduser())), ("python3", "python3"))
    for given, want in cases:
        c = config.load(write(folder, GOOD.replace("interpreter: /usr/bin/python3", f"interpreter: {given}")))
        assert c.runners[1].interpreter == want, given


def test_cli_prints_one_clear_line_and_no_traceback(folder: Path) -> None:
    path = write(folder, GOOD.replace("kind: go", "kind: java"))
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{path}:9: runners[0].kind: 'java' is not one of: go, python, cpp" in done.stderr


def test_the_shipped_configs_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parent.parent
    # configs/gpu.yaml names scripts/gpu_check.sh's installation by variables: the CPU one stands in for it here
    monkeypatch.setenv("ORT_GPU_LIBRARY", str(engines.default_library()))
    monkeypatch.setenv("ORT_GPU_PYTHON_PATH", str(engines.ORT_HOME))
    for path in sorted((root / "configs").glob("*.yaml")):
        try:
            config.load(path)
        except ConfigError as exc:
            # The models and data are fetched by `make models data`; any other problem is a bug in the config.
            assert "make models" in str(exc) or "make data" in str(exc), str(exc)


def test_scenario_keys_are_checked_per_type(folder: Path) -> None:
    err = error_of(folder, GOOD + "scenario: {type: single, workers: 2}\n")
    assert err.key == "scenario.workers" and "unknown key" in str(err)
    err = error_of(folder, GOOD + "scenarios:\n  - {type: server, workers: 2}\n")
    assert err.key == "scenarios[0].rates" and "missing" in str(err)
    err = error_of(folder, GOOD + "scenarios:\n  - {type: video, video: nothere.avi}\n")
    assert err.key == "scenarios[0].video" and "make data" in str(err)
    err = error_of(folder, GOOD + "scenario: {type: single}\nscenarios: [{type: single}]\n")
    assert "not both" in str(err)
    err = error_of(folder, GOOD + "scenarios: [{type: single}, {type: single}]\n")
    assert err.key == "scenarios[1].name" and "used twice" in str(err)
    err = error_of(folder, GOOD + "scenario: {type: concurrency, python_mode: fork}\n")
    assert err.key == "scenario.python_mode" and "threads, processes" in str(err)


def test_doctor_names_what_is_missing_and_how_to_get_it(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("runners:\n  - {name: old-python, kind: python, interpreter: /nonexistent/python3}\n")
    done = subprocess.run([sys.executable, "-m", "orchestrator", "doctor", "--config", str(config)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    line = next(x for x in done.stdout.splitlines() if "old-python" in x)
    assert line.startswith("MISSING") and "python3-opencv" in done.stdout
    assert any(x.startswith("ok") and "Go toolchain" in x for x in done.stdout.splitlines())


def test_two_images_with_one_name_are_refused(folder: Path) -> None:
    (folder / "other").mkdir()
    (folder / "other" / "a.jpg").write_bytes(b"x")
    err = error_of(folder, GOOD.replace("images: imgs", "images: [imgs/a.jpg, other/a.jpg]"))
    assert err.key == "images[1]" and "two images are named 'a.jpg'" in str(err)


def test_a_run_folder_config_loads_on_a_machine_with_fewer_cpus(folder: Path) -> None:
    path = write(folder, GOOD + "cpu_affinity: [4000]\n")
    with pytest.raises(ConfigError):
        config.load(path)  # a user's config is checked against this machine
    assert config.load_resolved(path).cpu_affinity == [4000]  # a run folder's was checked on its own
