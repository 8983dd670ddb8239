"""Config fuzzing: any document is a valid run plan or one clear ConfigError, never a traceback.

Documents are drawn from the config's own keys (so that the fuzzer reaches deep checks) and values of every YAML
type, including the ones that once crashed a run: NaN, huge numbers, `=` and NUL in env names, alias bombs.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import config, matrix
from orchestrator.errors import ConfigError

KEYS = sorted(config.TOP_KEYS | config.RUNNER_KEYS | config.MODEL_KEYS | {"type", "iterations", "warmup", "workers",
                                                                            "repeats", "rates", "clients"})
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["auto", "pool", "go", "python", "cpp", "m.onnx", "imgs",
                                                           "single", "http", "onnx", "A=B", "A\0B", ".nan", "$x$"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)),
    max_leaves=25)
DOCS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=10)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])


def _plan_or_error(text: str, path: Path) -> None:
    try:
        parsed = config.parse(text, path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), exc  # the message names the file (and the line where it can)
        return
    matrix.expand(parsed)  # a config that parses gives a run plan
    assert parsed.runners and parsed.models


@SETTINGS
@given(DOCS)
def test_any_document_of_config_keys_is_a_plan_or_a_clear_error(tmp_path: Path, doc: dict) -> None:
    (tmp_path / "m.onnx").write_bytes(b"x")
    (tmp_path / "imgs").mkdir(exist_ok=True)
    (tmp_path / "imgs" / "a.jpg").write_bytes(b"x")
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except yaml.YAMLError:
        return
    _plan_or_error(text, tmp_path / "c.yaml")


@SETTINGS
@given(st.text(max_size=200))
def test_any_text_is_a_plan_or_a_clear_error(tmp_path: Path, text: str) -> None:
    _plan_or_error(text, tmp_path / "c.yaml")


def test_the_faults_that_once_crashed_a_run_are_config_errors(tmp_path: Path) -> None:
    base = (tmp_path / "c.yaml")
    (tmp_path / "m.onnx").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"x")
    valid = "name: x\nmodels: [{name: m, path: m.onnx, input_size: 320}]\nimages: [a.jpg]\n" \
            "runners:\n  - {name: a, kind: python}\n"
    config.parse(valid, base)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcdef", "bcdefg"))
    cases = {
        bomb: "expands to more than",
        "name: x\ntimeout_s: .nan\n": "timeout_s: nan is not a finite number",
        valid.replace("kind: python}", "kind: python, env: {'A=B': 1}}"): "runners[0].env.A=B",
        valid.replace("kind: python}", "kind: python, env: {A: \"x\\0y\"}}"): "cannot hold a NUL",
        valid + "threads: 10000\n": "threads: 10000 is too large",
        "[" * 5000 + "]" * 5000: "",
    }
    for text, want in cases.items():
        try:
            config.parse(text, base)
        except ConfigError as exc:
            assert want in str(exc), (want, str(exc))
        else:
            raise AssertionError(f"{text[:40]!r} was accepted")
    big = tmp_path / "big.yaml"
    big.write_text("name: x\n" + "# padding\n" * 200_000)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: x\ndescription: caf\xe9\n")
    for path, want in ((big, "larger than 1 MiB"), (bad, "bad.yaml:2: byte 0xe9 is not UTF-8")):
        try:
            config.load(path)
        except ConfigError as exc:
            assert want in str(exc), str(exc)
        else:
            raise AssertionError(f"{path} was accepted")
