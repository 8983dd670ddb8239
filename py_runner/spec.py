"""Reading and checking the runner spec of docs/protocol.md."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from backends import BACKENDS, TARGETS
from records import PROTOCOL_VERSION, RunnerError

SCENARIOS = ("single", "video", "concurrency", "server", "batch", "call_overhead")
MODES = ("threads", "processes")


@dataclass(frozen=True)
class Spec:
    scenario: str
    model_name: str
    model_path: str
    model_format: str
    input_size: int
    images: list[str]
    conf_threshold: float
    nms_threshold: float
    max_detections: int
    warmup: int
    iterations: int
    threads: int
    backend: str
    target: str
    # Scenario keys (docs/protocol.md, "Scenarios"): only the running scenario's are checked.
    video_path: str = ""
    realtime: bool = False
    workers: int = 1
    mode: str = "threads"
    rate: float = 0.0
    arrivals_ns: tuple[int, ...] = ()
    batch: int = 1
    calls_per_sample: int = 0


def load_spec(path: str) -> Spec:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        raw = json.loads(text)
    except (OSError, ValueError) as exc:
        raise RunnerError("spec", f"cannot read spec {path}: {exc}") from exc
    return parse_spec(raw)


def parse_spec(raw: Any) -> Spec:
    if not isinstance(raw, dict):
        raise RunnerError("spec", "spec must be a JSON object")
    if raw.get("protocol") != PROTOCOL_VERSION:
        raise RunnerError("protocol", f"spec protocol {raw.get('protocol')!r}, this runner speaks {PROTOCOL_VERSION}")
    model = _get(raw, "model", dict)
    spec = Spec(
        scenario=_get(raw, "scenario", str),
        model_name=_get(model, "name", str, "model."),
        model_path=_get(model, "path", str, "model."),
        model_format=_get(model, "format", str, "model."),
        input_size=_get(model, "input_size", int, "model."),
        images=_get(raw, "images", list),
        conf_threshold=float(_get(raw, "conf_threshold", (int, float))),
        nms_threshold=float(_get(raw, "nms_threshold", (int, float))),
        max_detections=_get(raw, "max_detections", int),
        warmup=_get(raw, "warmup", int),
        iterations=_get(raw, "iterations", int),
        threads=_get(raw, "threads", int),
        backend=_get(raw, "backend", str),
        target=_get(raw, "target", str),
        **_scenario_keys(raw),
    )
    _check(spec)
    return spec


def _scenario_keys(raw: dict) -> dict[str, Any]:
    scenario = raw.get("scenario")
    if scenario == "video":
        video = _get(raw, "video", dict)
        return {"video_path": _get(video, "path", str, "video."), "realtime": bool(video.get("realtime", False))}
    if scenario in ("concurrency", "server"):
        keys = {"workers": _get(raw, "workers", int), "mode": _get(raw, "mode", str)}
        if scenario == "server":
            arrivals = _get(raw, "arrivals_ns", list)
            if not all(isinstance(a, int) and a >= 0 for a in arrivals):
                raise RunnerError("spec", "arrivals_ns must hold non-negative integers")
            keys.update(rate=float(_get(raw, "rate", (int, float))), arrivals_ns=tuple(arrivals))
        return keys
    if scenario == "batch":
        return {"batch": _get(raw, "batch", int)}
    if scenario == "call_overhead":
        return {"calls_per_sample": _get(raw, "calls_per_sample", int)}
    return {}


def _get(obj: dict, key: str, kind: type | tuple, prefix: str = "") -> Any:
    value = obj.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, kind):
        raise RunnerError("spec", f"spec key {prefix}{key} is missing or has the wrong type: {value!r}")
    return value


def _check(spec: Spec) -> None:
    problems = []
    if spec.model_format != "onnx":
        problems.append(f"model.format {spec.model_format!r} (only 'onnx')")
    if spec.input_size <= 0 or spec.input_size % 32:
        problems.append(f"model.input_size {spec.input_size} (a positive multiple of 32)")
    needs_images = spec.scenario not in ("video", "call_overhead")
    if (needs_images and not spec.images) or not all(isinstance(p, str) for p in spec.images):
        problems.append("images (a non-empty list of paths)")
    if spec.workers < 1 or spec.batch < 1 or spec.calls_per_sample < 0:
        problems.append("workers >= 1, batch >= 1, calls_per_sample >= 1")
    if spec.scenario == "call_overhead" and spec.calls_per_sample < 1:
        problems.append("calls_per_sample >= 1")
    if spec.scenario == "server" and len(spec.arrivals_ns) != spec.iterations:
        problems.append(f"arrivals_ns has {len(spec.arrivals_ns)} entries for {spec.iterations} iterations")
    if spec.warmup < 0 or spec.iterations < 1 or spec.threads < 0 or spec.max_detections < 1:
        problems.append("warmup >= 0, iterations >= 1, threads >= 0, max_detections >= 1")
    if spec.backend not in BACKENDS or spec.target not in TARGETS:
        problems.append(f"backend {spec.backend!r} / target {spec.target!r}")
    if problems:
        raise RunnerError("spec", "invalid spec: " + "; ".join(problems))
    if spec.scenario not in SCENARIOS:
        raise RunnerError("unsupported_scenario", f"py_runner does not run scenario {spec.scenario!r}")
    if spec.scenario in ("concurrency", "server") and spec.mode not in MODES:
        raise RunnerError("unsupported_scenario", f"py_runner has no concurrency mode {spec.mode!r} "
                          f"(it has {', '.join(MODES)})")
