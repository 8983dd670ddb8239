"""Golden tests, in the style of benchstat's testdata: small committed run folders (tests/golden/<name>/, made by
`scripts/bench_report.py --small --portable`) whose summary.json and summary.md must equal the committed
tests/golden/<name>.summary.json and .summary.md. Statistics and figures are tested on CPU in milliseconds,
without a runner or a model.

After a deliberate change of the figures: `UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then read the diff.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from conftest import ROOT

from orchestrator import exports, rundata, summary

GOLDEN = ROOT / "tests" / "golden"
# faster: the python runner is 10 % slower (a verdict). identical: the same made-up program twice, timings seeded
# with 2 (one A/A draw is called different about 3 % of the time, and seed 1 is such a draw: the error rates
# themselves are proven in tests/test_verdicts.py; this file pins what the figures of one run look like).
CASES = ("faster", "identical")


def rounded(value: Any) -> Any:
    """Floats to 10 significant digits: the golden files must not hang on the last bit of a libm."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def build(name: str) -> tuple[dict[str, Any], str]:
    s = rounded(summary.build(rundata.load(GOLDEN / name)))
    return s, exports.markdown(s)


@pytest.mark.parametrize("name", CASES)
def test_summary_matches_the_golden_files(name: str) -> None:
    got_json, got_md = build(name)
    json_path, md_path = GOLDEN / f"{name}.summary.json", GOLDEN / f"{name}.summary.md"
    if os.environ.get("UPDATE_GOLDEN"):
        json_path.write_text(json.dumps(got_json, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        md_path.write_text(got_md, encoding="utf-8")
    assert got_json == json.loads(json_path.read_text(encoding="utf-8"))
    assert got_md == md_path.read_text(encoding="utf-8")


def latency_outcome(name: str) -> str:
    s = json.loads((GOLDEN / f"{name}.summary.json").read_text(encoding="utf-8"))
    return next(e["outcome"] for e in s["comparisons"] if e["metric"] == "latency_p50")


def test_the_golden_files_say_what_their_inputs_are() -> None:
    """A golden file regenerated without reading it still has to tell a 10 % difference from none."""
    assert latency_outcome("faster") == "faster"
    assert latency_outcome("identical") != "faster"


def test_parsing_in_worker_processes_gives_the_same_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long run's streams are parsed in worker processes (rundata.PARALLEL_BYTES); the result is the same."""
    serial = rounded(summary.build(rundata.load(GOLDEN / "faster")))
    pools = []

    class Pool(rundata.ProcessPoolExecutor):
        def __init__(self, workers: int) -> None:
            pools.append(workers)
            super().__init__(workers)

    monkeypatch.setattr(rundata, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(rundata, "usable_cpus", lambda: 2)
    monkeypatch.setattr(rundata, "ProcessPoolExecutor", Pool)
    assert rounded(summary.build(rundata.load(GOLDEN / "faster"))) == serial
    assert pools == [2]
