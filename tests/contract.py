"""The runner contract as data (tests/fixtures/protocol/conformance.json): the cases, and the spec of each.

The Go tests (go_runner/contract_test.go) and the C++ selftest read the same file; keep the three readers
in step with its `_doc`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import FIXTURES, ROOT

CONTRACT = json.loads((FIXTURES / "protocol" / "conformance.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Case:
    name: str
    code: str | None  # the last record's error code; None: a complete run
    hello: bool = False
    mentions: str = ""
    status: int | None = None
    text: str | None = None
    set: dict[str, Any] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)
    args: list[str] | None = None
    stdin: str = ""
    unless_available: str = ""
    unless_provider: str = ""

    def spec_text(self, language: str) -> str:
        return self.text if self.text is not None else json.dumps(spec(self, language))


SPEC_CASES = [Case(**c) for c in CONTRACT["spec_cases"]]
CLI_CASES = [Case(**c) for c in CONTRACT["cli_cases"]]


def spec(case: Case, language: str) -> dict[str, Any]:
    """The base spec with the case's keys removed and set; fixture paths made absolute."""
    out = copy.deepcopy(CONTRACT["base"])
    for key in case.remove:
        parent, leaf = _dotted(out, key)
        parent.pop(leaf, None)
    for key, value in case.set.items():
        parent, leaf = _dotted(out, key)
        parent[leaf] = CONTRACT["native_modes"][language] if value == "$native" else value
    absolute = lambda p: str(ROOT / p) if isinstance(p, str) and p else p  # noqa: E731
    for obj in (out.get("model"), out.get("video")):
        if isinstance(obj, dict) and "path" in obj:
            obj["path"] = absolute(obj["path"])
    if isinstance(out.get("images"), list):
        out["images"] = [absolute(p) for p in out["images"]]
    if isinstance(out.get("engine"), dict):
        _engine_paths(out["engine"], absolute)
    return out


ORT = CONTRACT["ort"]
ORT_LIBRARY = ROOT / ORT["library"]
ORT_PYTHON_PATH = ROOT / ORT["python_path"]


def _engine_paths(engine: dict[str, Any], absolute: Any) -> None:
    """The placeholders of the set-up's ONNX Runtime, and any other library path, made absolute."""
    places = {"$ort_library": ORT["library"], "$ort_python_path": ORT["python_path"]}
    for key in ("library", "python_path"):
        if isinstance(engine.get(key), str):
            engine[key] = absolute(places.get(engine[key], engine[key]))


def _dotted(obj: dict[str, Any], key: str) -> tuple[dict[str, Any], str]:
    """The object that holds a dotted key ("model.path": obj["model"], "path"), created when absent."""
    *parents, leaf = key.split(".")
    for p in parents:
        if not isinstance(obj.get(p), dict):
            obj[p] = {}
        obj = obj[p]
    return obj, leaf


def cli_args(case: Case) -> list[str]:
    return [a.replace("tests/", f"{ROOT}/tests/", 1) for a in case.args or []]


def check(case: Case, status: int, records: list[dict[str, Any]]) -> None:
    """One run against a case: exit status, the last record, a hello first or not."""
    assert records, f"{case.name}: no records (status {status})"
    last, hello = records[-1], records[0]["type"] == "hello"
    want = case.code
    if case.unless_available and hello and case.unless_available in records[0]["available_targets"]:
        want = "model_load"
    providers = records[0].get("ort", {}).get("available_providers", []) if hello else []
    if case.unless_provider and case.unless_provider in providers:
        want = "model_load"
    if want is None:
        assert (status, last["type"]) == (0, "end"), f"{case.name}: {status} {last}"
        return
    assert status == (case.status or 1), f"{case.name}: status {status}, last record {last}"
    assert (last["type"], last.get("code"), last.get("fatal")) == ("error", want, True), f"{case.name}: {last}"
    assert case.mentions in last["message"], f"{case.name}: {last['message']!r} does not mention {case.mentions!r}"
    if case.args is None:
        assert hello == case.hello, f"{case.name}: hello first is {hello} ({[r['type'] for r in records]})"


def ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


def fixture_path(name: str) -> Path:
    return FIXTURES / "protocol" / name
