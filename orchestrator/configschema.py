"""A JSON Schema (draft 2020-12) of the experiment configs, built from the definitions the parser checks against.

The allowed keys and the choices come from orchestrator/config.py, orchestrator/scenarios.py, the scenario
registry (orchestrator/registry.py) and orchestrator/engines.py, so a key added there is a key of the schema (and
a scenario key without a value schema, here or in its kind's `schema` (orchestrator/kinds/), fails the
generator). The schema lets an editor complete and check a config (`# yaml-language-server:
$schema=../docs/config.schema.json`); the parser stays the judge: it also checks files, names and
cross-references. `python -m orchestrator.configschema` writes docs/config.schema.json;
tests/test_validate.py fails when the committed file differs from what this module generates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import config, engines, i18n, machine, quiet, scenarios, verdicts
from .kinds import KINDS
from .registry import ALL_PYTHON_MODES, SCENARIO_TYPES, TYPES, python_modes

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "docs" / "config.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def int_schema(low: int | None = None, description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "integer"}
    if low is not None:
        out["minimum"] = low
    return _described(out, description)


def num_schema(low: float | None = None, high: float | None = None, description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number"}
    if low is not None:
        out["minimum"] = low
    if high is not None:
        out["maximum"] = high
    return _described(out, description)


def str_schema(description: str = "") -> dict[str, Any]:
    return _described({"type": "string"}, description)


def bool_schema(description: str = "") -> dict[str, Any]:
    return _described({"type": "boolean"}, description)


def enum_schema(values: tuple | list, description: str = "") -> dict[str, Any]:
    return _described({"enum": list(values)}, description)


def one_or_list(item: dict[str, Any], description: str = "", min_items: int = 1) -> dict[str, Any]:
    return _described({"anyOf": [item, {"type": "array", "items": item, "minItems": min_items}]}, description)


def object_schema(properties: dict[str, Any], keys: set[str] | tuple, required: tuple = (), description: str = ""
            ) -> dict[str, Any]:
    """A mapping that takes exactly `keys` (the parser's allowed set); each must have a value schema."""
    missing = set(keys) - set(properties)
    if missing:
        raise KeyError(f"no value schema for the config key(s) {', '.join(sorted(missing))}: add them to "
                       "orchestrator/configschema.py (a scenario type's own keys: its kind's schema, "
                       "orchestrator/kinds/)")
    out: dict[str, Any] = {"type": "object", "properties": {k: properties[k] for k in sorted(keys)},
                           "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return _described(out, description)


def _described(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, **schema} if description else schema


ENGINE = enum_schema(engines.ENGINES)
THREAD = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": config.MAX_THREADS}, {"enum": ["auto", "pool"]}]}


def _models() -> dict[str, Any]:
    item = object_schema({
        "name": str_schema("unique name, used in the report and in matrix.exclude"),
        "path": str_schema("the model file, relative to the config's folder"),
        "format": enum_schema(config.MODEL_FORMATS, "the model's format (default onnx)"),
        "input_size": {**int_schema(32, "the network's square input size (a multiple of 32)"), "multipleOf": 32},
        "batch": int_schema(1, "the static batch the model was exported with (default 1)"),
    }, config.MODEL_KEYS, ("name", "path", "input_size"))
    return {"type": "array", "items": item, "minItems": 1, "description": "the models to run"}


def _runners() -> dict[str, Any]:
    item = object_schema({
        "name": str_schema("unique name, used in the report, compare and matrix.exclude"),
        "kind": enum_schema(config.RUNNER_KINDS, "go (gocv), python (cv2.dnn) or cpp (the native floor)"),
        "interpreter": str_schema("python only: the interpreter that runs py_runner/runner.py (a path or a name on "
                                  "PATH); omitted: the orchestrator's own"),
        "env": {"type": "object", "description": "extra environment variables for the runner process",
                "propertyNames": {"pattern": f"^{config.ENV_NAME.pattern}$"},
                "additionalProperties": {"type": ["string", "number", "boolean"]}},
        "threads": {**int_schema(0, "an OpenCV thread count for this runner only, overriding threads"),
                    "maximum": config.MAX_THREADS},
        "engine": one_or_list(ENGINE, "the engines this runner runs, instead of the config's engine"),
        "mode": enum_schema(ALL_PYTHON_MODES, "python only: its concurrency mode where the scenario has that mode"),
    }, config.RUNNER_KEYS, ("name", "kind"))
    python_only = [k for k in ("interpreter", "mode") if k in config.RUNNER_KEYS]
    item["allOf"] = [{"if": {"required": ["kind"], "properties": {"kind": {"not": {"const": "python"}}}},
                      "then": {"not": {"anyOf": [{"required": [k]} for k in python_only]}}}]
    return {"type": "array", "items": item, "minItems": 1, "description": "the runners to run"}


# The value of the scenario keys that every type or several types take (the registry says which type takes which;
# COMMON_KEYS are everyone's); a type's own keys are its kind's (Kind.schema, orchestrator/kinds/<type>.py).
SCENARIO_VALUES: dict[str, dict[str, Any]] = {
    "name": str_schema("the scenario's name in the report, matrix.exclude and cell names (default: its type)"),
    "type": enum_schema(TYPES, "what one iteration is (docs/protocol.md, Scenarios); default single"),
    "warmup": {"description": "iterations run first in each process and reported apart, or auto (default 3)",
               "anyOf": [{"type": "integer", "minimum": 0}, {"const": "auto"}]},
    "iterations": int_schema(1, "measured iterations per process (default 10)"),
    "repeats": int_schema(1, "fresh processes per cell (default 10); fewer than 6 give no verdict"),
    "min_time_s": num_schema(0, None, "a cell measuring less than this in total is flagged (default 3)"),
    "workers": one_or_list(int_schema(1), "worker counts to scan, one cell each"),
    "python_mode": enum_schema(ALL_PYTHON_MODES, "Python runners' concurrency mode (default threads)"),
    "rates": one_or_list(num_schema(0.001), "offered request rates per second, one cell each", min_items=0),
    "p99_bound_ms": num_schema(0, None, "the latency bound a cell's p99 must meet"),
}


def _scenario() -> dict[str, Any]:
    """Every key any scenario takes, narrowed per type to the common keys and that type's own."""
    keys = set(scenarios.COMMON_KEYS).union(*(t.config_keys for t in SCENARIO_TYPES.values()))
    values = {**SCENARIO_VALUES, **{k: v for kind in KINDS.values() for k, v in kind.schema().items()}}
    out = object_schema(values, keys, description="what one measured iteration is and how many there are")
    rules = []
    for name, t in SCENARIO_TYPES.items():
        allowed: dict[str, Any] = {"propertyNames": {"enum": sorted(scenarios.COMMON_KEYS | t.config_keys)}}
        if "python_mode" in t.config_keys:
            allowed["properties"] = {"python_mode": enum_schema(python_modes(name))}
        rules.append({"if": {"required": ["type"], "properties": {"type": {"const": name}}}, "then": allowed})
    default = SCENARIO_TYPES["single"]
    rules.append({"if": {"not": {"required": ["type"]}},
                  "then": {"propertyNames": {"enum": sorted(scenarios.COMMON_KEYS | default.config_keys)}}})
    out["allOf"] = rules
    return out


def _claims() -> dict[str, Any]:
    item = object_schema({
        "claim": str_schema("the claim in words, as published"),
        "metric": enum_schema(config.CLAIM_METRICS, "what the claim is about"),
        "a": str_schema("a runner name"), "b": str_schema("a runner name"),
        "a_value": num_schema(0, None, "the published value of a"),
        "b_value": num_schema(0, None, "the published value of b"),
        "model": str_schema("the model whose cells to use"),
        "workers": int_schema(1, "the worker count the claim is about"),
        "clients": int_schema(1, "http: the concurrent clients the claim is about"),
        "a_engine": enum_schema(config.CLAIM_ENGINES, "an engine claim: a's engine"),
        "b_engine": enum_schema(config.CLAIM_ENGINES, "an engine claim: b's engine"),
        "hardware": str_schema("where the claim was measured (e.g. RTX 3090)"),
    }, config.CLAIM_KEYS, ("claim", "metric", "a", "b", "a_value", "b_value"))
    return {"type": "array", "items": item, "description": "published claims to check against this run"}


def build() -> dict[str, Any]:
    """The schema, as a JSON-serializable dict."""
    scenario = _scenario()
    exclude_rule = {"type": "object", "minProperties": 1, "propertyNames": {"enum": list(config.MATRIX_AXES)},
                    "properties": {"threads": {"type": "integer"}, "engine": ENGINE}}
    top = object_schema({
        "name": str_schema("the experiment's name; part of the run folder's name"),
        "description": str_schema("shown at the top of the report"),
        "models": _models(),
        "images": {"description": "a folder of images or a non-empty list of image files",
                   "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
        "runners": _runners(),
        "scenario": scenario,
        "scenarios": {"type": "array", "items": {"$ref": "#/$defs/scenario"}, "minItems": 1,
                      "description": "several scenarios in one run (instead of scenario)"},
        "threads": one_or_list(THREAD, "OpenCV threads per runner process: a count, auto, pool, or a list (an axis)"),
        "engine": one_or_list(ENGINE, "what runs the inference phase; a list makes it a matrix axis"),
        "onnxruntime": object_schema({
            "library": str_schema("the ORT shared library the Go and C++ runners load"),
            "python_path": str_schema("the folder every Python runner imports onnxruntime from"),
            "provider": one_or_list(enum_schema(engines.PROVIDERS), "ONNX Runtime's providers, one cell each"),
        }, config.ONNXRUNTIME_KEYS, description="where ONNX Runtime is and the providers its cells ask for"),
        "backend": enum_schema(config.BACKENDS, "OpenCV DNN backend (default opencv)"),
        "target": enum_schema(config.TARGETS, "OpenCV DNN target (default cpu)"),
        "thresholds": object_schema({
            "confidence": num_schema(0, 1, "default 0.25"), "nms": num_schema(0, 1, "NMS IoU, default 0.45"),
            "max_detections": int_schema(1, "default 300"),
        }, config.THRESHOLD_KEYS, description="detection thresholds"),
        "matrix": object_schema({"exclude": {
            "type": "array", "items": exclude_rule,
            "description": "cells to leave out: each rule matches every axis it names"}},
            config.MATRIX_KEYS, description="the experiment matrix"),
        "compare": {"type": "array", "description": "runner pairs to compare; ratios are a / b",
                    "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}},
        "timeout_s": num_schema(1, None, "a runner process that runs longer is stopped (default 600)"),
        "parity": object_schema({k: num_schema(0, 1) for k in config.PARITY_KEYS}, config.PARITY_KEYS,
                                description="detection-matching tolerances"),
        "cpu_affinity": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0}, "minItems": 1,
                         "description": "pin every runner process to these CPUs"},
        "cooldown_s": num_schema(0, None, "pause between two runner processes (default 0)"),
        "on_unavailable": enum_schema(config.ON_UNAVAILABLE, "what a cell becomes when its backend/target/provider is "
                                      "unavailable (default fail)"),
        "reference": str_schema("the native runner of the overhead-over-native view (default: the first cpp runner)"),
        "claims": _claims(),
        "order": enum_schema(config.ORDERS, "how the processes of all cells are interleaved (default random)"),
        "seed": {"type": ["integer", "null"], "minimum": 0,
                 "description": "the seed of order: random (default: a fresh one per run)"},
        "report": object_schema({"lang": enum_schema(i18n.LANGS, "the language of report.html (default en)")},
                                config.REPORT_KEYS, description="the report"),
        "min_effect": num_schema(0, 0.5,
                                 f"the practical threshold of a verdict (default {verdicts.DEFAULT_MIN_EFFECT})"),
        "busy_cores": num_schema(0, None, f"other CPU use that flags a process busy (default {quiet.BUSY_CORES})"),
        "machine": {"type": ["string", "null"], "pattern": machine.NAME.pattern,
                    "description": "the machine's name in a merged report (default: --machine, else the host name)"},
    }, config.TOP_KEYS, ("name", "models", "images", "runners"))
    top["properties"]["scenario"] = {"$ref": "#/$defs/scenario"}
    return {"$schema": DRAFT, "title": "yolo-bench experiment config",
            "description": "An experiment of `python -m orchestrator run CONFIG`; the reference is docs/config.md. "
                           "Generated by `python -m orchestrator.configschema`: do not edit.",
            **top, "not": {"required": ["scenario", "scenarios"]}, "$defs": {"scenario": scenario}}


def text() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else SCHEMA_PATH
    path.write_text(text(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
