"""The scenario registry is the one list of scenarios: every layer, runner, fixture and doc has each one.

These are the places docs/adding.md tells a newcomer to touch; a scenario missing from one fails here first.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, ROOT

from orchestrator import comparisons, config, kinds, matrix, protocol, registry, report, scenarios
from orchestrator.load import Requests
from orchestrator.rundata import CellData

NAMES = registry.TYPES


@pytest.mark.parametrize("name", [n for n, t in registry.SCENARIO_TYPES.items() if t.figures])
def test_each_scenario_computes_the_figures_it_declares(name: str) -> None:
    """The scenario's kind on its stream fixture gives every figure the registry names (with a value, but for a
    bound the config did not set)."""
    fixture = FIXTURES / "protocol" / f"stream-{name}"
    spec = json.loads(fixture.with_suffix(".spec.json").read_text())
    variant = {k: spec[k] for k in ("workers", "rate") if k in spec}
    if name == "http":
        variant["rate"] = 4.0  # the load is the orchestrator's: vegeta's requests, made up below
    cell = CellData({"id": name, "runner": "go", "scenario": name, "variant": variant, "model": "m", "threads": 1,
                     "mode": spec.get("mode")})
    cell.processes.append({"repeat": 0, "status": "ok"})
    cell.streams.append(protocol.read_file(str(fixture.with_suffix(".jsonl"))))
    cell.samples.append([])
    if name == "http":
        served = cell.streams[0].measured()
        cell.requests.append(Requests(np.arange(len(served)) * 250_000_000, served["handler_ns"] + 1_000_000,
                                      np.full(len(served), 200), ["ok"] * len(served)))
    scenario = scenarios.Scenario(name, name, spec["warmup"], spec["iterations"], 1, 0.0, batch=spec.get("batch", 1))
    got = kinds.KINDS[name].figures(cell, scenario)
    declared = registry.scenario_type(name).figures
    assert set(declared) <= set(got)
    # None only where the config set no bound, for the other load kind, or with no samples of the server
    unset = {"server": {"p99_within_bound"}, "http": {"p99_within_bound", "clients", "server_cpu_percent"}}
    assert {k for k in declared if got[k] is None} == unset.get(name, set())


def test_claims_find_their_scenario_in_the_registry() -> None:
    assert registry.claim_scenario("throughput") == "concurrency" and registry.claim_scenario("ns_per_call") == \
        "call_overhead" and registry.claim_scenario("latency_p50") is None


def _every_scenario(tmp_path) -> Path:  # noqa: ANN001
    """A config with one scenario of each type."""
    for name in ("m.onnx", "a.jpg", "v.avi"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "c.yaml").write_text(textwrap.dedent("""\
        name: all
        models: [{name: m, path: m.onnx, input_size: 320}, {name: mb, path: m.onnx, input_size: 320, batch: 2}]
        images: [a.jpg]
        runners: [{name: go, kind: go}]
        scenarios:
          - {type: single}
          - {type: video, video: v.avi}
          - {type: concurrency, workers: [2]}
          - {type: server, workers: [1], rates: [4]}
          - {type: batch, batch: 2}
          - {type: call_overhead}
          - {type: spawn, workers: [10]}
          - {type: http, workers: [2], rates: [4]}
        """))
    return tmp_path / "c.yaml"


def test_each_spec_carries_the_keys_its_scenario_declares(tmp_path) -> None:  # noqa: ANN001
    cfg = config.load(_every_scenario(tmp_path))
    specs = {c.scenario.type: matrix.spec(cfg, c) for c in matrix.expand(cfg)}
    assert set(specs) == set(NAMES)
    for name, spec in specs.items():
        kind = registry.scenario_type(name)
        assert set(kind.spec_keys) <= set(spec), name
        assert bool(spec["images"]) == kind.images, name


@pytest.mark.parametrize("name", NAMES)
def test_every_runner_dispatches_every_scenario(name: str) -> None:
    import runner  # py_runner/runner.py

    assert name in runner.SCENARIOS
    assert re.search(rf'^\s*"{name}":\s+run\w+,', (ROOT / "go_runner" / "main.go").read_text(), re.M)
    assert re.search(rf'^\s*\{{"{name}", run_\w+\}},', (ROOT / "cpp_runner" / "src" / "run.cpp").read_text(), re.M)


@pytest.mark.parametrize("name", NAMES)
def test_every_scenario_has_its_fixtures_and_docs(name: str) -> None:
    assert (FIXTURES / "protocol" / f"stream-{name}.jsonl").is_file()
    assert (FIXTURES / "protocol" / f"stream-{name}.spec.json").is_file()
    assert f"### {name}" in (ROOT / "docs" / "protocol.md").read_text()
    assert f"`{name}`" in (ROOT / "docs" / "config.md").read_text()


def test_declared_comparison_metrics_can_be_compared_and_worded() -> None:
    for t in registry.SCENARIO_TYPES.values():
        for metric, call in t.call_metrics:
            assert t.call_samples and call in protocol.CALLS, (t.name, call)
            assert metric in comparisons.WORD and metric in t.figures, (t.name, metric)
        for metric, figure in t.sample_metrics:
            assert t.spawn_samples and metric in comparisons.WORD and figure in t.figures, (t.name, metric)
        if t.throughput:  # a pool's completed images, or a server's answered requests (vegeta's)
            assert t.workers and t.result and ("completed" in t.result or t.serves), t.name


def test_every_scenario_has_its_kind_module_and_every_kind_module_a_scenario() -> None:
    """orchestrator/kinds/<type>.py for each registered type and no other (helpers start with `_`); a report
    section's partial, templates/scenarios/<type>.html.j2, exactly for the kinds that place a section."""
    folder = ROOT / "orchestrator" / "kinds"
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(NAMES)
    for name in NAMES:
        kind = kinds.KINDS[name]
        assert isinstance(kind, kinds.Kind) and kind.name == name
    partials = {p.name.removesuffix(".html.j2") for p in (report.TEMPLATES / "scenarios").glob("*.html.j2")}
    assert partials == set(kinds.sections())
    assert len({kinds.KINDS[n].section for n in kinds.sections()}) == len(kinds.sections())  # one place each


# The general modules dispatch through kinds.KINDS and never name a scenario type, but for the default scenario
# "single" (the type of a cell or config entry without one, and the label left out of titles: a name, not a type)
# and a model's key that is spelled as a type.
GENERAL = ["scenarios.py", "matrix.py", "figures.py", "report.py", "charts.py", "exports.py", "configschema.py",
           "merge.py", "templates/scenarios.html.j2", "templates/report.html.j2"]
ALLOWED = [r'\.get\("(scenario|label)", "single"\)', r'TYPES, "single"\)', r'SCENARIO_TYPES\["single"\]',
           r'\["scenario_label"\] == "single"', r'\bscenario [!=]= "single"',
           r'"batch": int_schema\(1, "the static batch the model']


@pytest.mark.parametrize("module", GENERAL)
def test_no_general_module_knows_a_scenario_type_by_name(module: str) -> None:
    text = (ROOT / "orchestrator" / module).read_text(encoding="utf-8")
    names = "|".join(map(re.escape, NAMES))
    found = []
    for m in re.finditer(rf"[\"'](?:{names})[\"']", text):
        start = text.rfind("\n", 0, m.start()) + 1
        line = text[start:text.find("\n", m.end())]
        at = m.start() - start
        if not any(a.start() <= at < a.end() for p in ALLOWED for a in re.finditer(p, line)):
            found.append(line.strip())
    assert not found, f"{module} names a scenario type; ask its kind (orchestrator/kinds/) instead: {found}"


def test_parsing_a_config_loads_no_chart_library(tmp_path) -> None:  # noqa: ANN001
    """config.py (so validate and run's first step) imports the kinds to parse, never matplotlib: charts are
    imported when a report is drawn."""
    path = _every_scenario(tmp_path)
    code = ("import sys; import orchestrator.config as c; assert 'matplotlib' not in sys.modules; "
            f"c.load({str(path)!r}); "
            "assert 'orchestrator.kinds.http' in sys.modules and 'matplotlib' not in sys.modules, 'matplotlib'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
