"""Reading and checking the runner spec of docs/protocol.md."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from backend import BACKENDS, TARGETS
from records import PROTOCOL_VERSION, RunnerError

SCENARIOS = ("single", "video", "concurrency", "server", "batch", "call_overhead", "spawn", "http")
MODES = ("threads", "processes")
# The modes of each scenario with workers (docs/protocol.md: Python's own, the native runners have theirs).
SCENARIO_MODES = {"concurrency": MODES, "server": MODES, "http": MODES, "spawn": ("threads", "asyncio")}
# Inclusive ranges of the scenario keys that have one (docs/protocol.md, "spawn" and "http").
MAX_WORKERS = {"spawn": 100_000, "http": 1024}
MAX_TASKS = 10_000_000
MAX_TASK_SLEEP_NS = 10**10


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
    tasks: int = 0  # spawn
    task_sleep_ns: int = 0
    print_tasks: bool = False
    http_queue: int = 0  # http
    http_max_body_bytes: int = 0
    http_port: int = 0
    http_python_path: str = ""
    # The engine of step 4 (docs/protocol.md, "Engines"); the ort_* keys only under onnxruntime.
    engine: str = "opencv"
    provider: str = ""
    ort_library: str = ""
    ort_python_path: str = ""


def load_spec(path: str, stdin: TextIO = sys.stdin) -> Spec:
    try:
        text = stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        raw = json.loads(text)
    except (OSError, ValueError) as exc:
        raise RunnerError("spec", f"cannot read spec {path}: {exc}") from exc
    return parse_spec(raw)


def parse_spec(raw: Any) -> Spec:
    if not isinstance(raw, dict):
        raise RunnerError("spec", "spec must be a JSON object")
    # The version first: a spec of another version may legitimately fail the rest.
    if raw.get("protocol") is None:
        raise RunnerError("spec", "missing key protocol")
    version = raw["protocol"]
    if type(version) is not int or version != PROTOCOL_VERSION:  # true == 1 in Python, not in JSON
        raise RunnerError("protocol", f"spec protocol {json.dumps(version)}, this runner speaks {PROTOCOL_VERSION}")
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
        **_engine_keys(raw),
    )
    _check(spec)
    return spec


def _scenario_keys(raw: dict) -> dict[str, Any]:
    scenario = raw.get("scenario")
    if scenario == "video":
        video = _get(raw, "video", dict)
        return {"video_path": _get(video, "path", str, "video."), "realtime": _get(video, "realtime", bool, "video.")}
    if scenario in ("concurrency", "server"):
        keys = {"workers": _get(raw, "workers", int), "mode": _get(raw, "mode", str)}
        if scenario == "server":
            arrivals = _get(raw, "arrivals_ns", list)
            if not all(type(a) is int and 0 <= a < 2**63 for a in arrivals):
                raise RunnerError("spec", "arrivals_ns must hold non-negative 64-bit integers")
            if any(b < a for a, b in zip(arrivals, arrivals[1:])):
                raise RunnerError("spec", "arrivals_ns must be in order (the dispatcher enqueues them in turn)")
            keys.update(rate=float(_get(raw, "rate", (int, float))), arrivals_ns=tuple(arrivals))
        return keys
    if scenario == "batch":
        return {"batch": _get(raw, "batch", int)}
    if scenario == "call_overhead":
        return {"calls_per_sample": _get(raw, "calls_per_sample", int)}
    if scenario == "spawn":
        return {"workers": _get(raw, "workers", int), "mode": _get(raw, "mode", str), "tasks": _get(raw, "tasks", int),
                "task_sleep_ns": _get(raw, "task_sleep_ns", int), "print_tasks": _get(raw, "print", bool)}
    if scenario == "http":
        return {"workers": _get(raw, "workers", int), "mode": _get(raw, "mode", str), **_http_keys(raw)}
    return {}


def _http_keys(raw: dict) -> dict[str, Any]:
    http = _get(raw, "http", dict)
    python_path = http.get("python_path")
    python_path = "" if python_path is None else python_path
    if not isinstance(python_path, str):
        raise RunnerError("spec", f"http.python_path must be text: {python_path!r}")
    return {"http_queue": _get(http, "queue", int, "http."), "http_max_body_bytes": _get(http, "max_body_bytes", int,
            "http."), "http_port": _get(http, "port", int, "http."), "http_python_path": python_path}


ENGINES = ("opencv", "onnxruntime")
PROVIDERS = ("cpu", "cuda", "tensorrt")


def _engine_keys(raw: dict) -> dict[str, Any]:
    """The optional `engine` object: absent is OpenCV."""
    if "engine" not in raw:
        return {}
    engine = _get(raw, "engine", dict)
    name = _get(engine, "name", str, "engine.")
    if name not in ENGINES:
        raise RunnerError("spec", f"engine.name {name!r} is not one of {', '.join(ENGINES)}")
    if name == "opencv":
        return {}
    provider = _get(engine, "provider", str, "engine.")
    if provider not in PROVIDERS:
        raise RunnerError("spec", f"engine.provider {provider!r} is not one of {', '.join(PROVIDERS)}")
    library = _get(engine, "library", str, "engine.")
    if not library:
        raise RunnerError("spec", "engine.library is empty")
    python_path = engine.get("python_path")
    python_path = "" if python_path is None else python_path
    if not isinstance(python_path, str):
        raise RunnerError("spec", f"engine.python_path must be text: {python_path!r}")
    return {"engine": name, "provider": provider, "ort_library": library, "ort_python_path": python_path}


def _get(obj: dict, key: str, kind: type | tuple, prefix: str = "") -> Any:
    """obj[key] of the given JSON type: a missing key or a null is an error, and a bool is not a number."""
    value = obj.get(key)
    if value is None or (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise RunnerError("spec", f"spec key {prefix}{key} is missing or has the wrong type: {value!r}")
    return value


def _check(spec: Spec) -> None:
    problems = []
    for name, value in (("model.name", spec.model_name), ("model.path", spec.model_path),
                        ("video.path", spec.video_path if spec.scenario == "video" else "-")):
        if not value:
            problems.append(f"{name} is empty")
    if spec.model_format != "onnx":
        problems.append(f"model.format {spec.model_format!r} (only 'onnx')")
    if spec.input_size <= 0 or spec.input_size % 32:
        problems.append(f"model.input_size {spec.input_size} (a positive multiple of 32)")
    needs_images = spec.scenario not in ("video", "call_overhead", "spawn")
    if (needs_images and not spec.images) or not all(isinstance(p, str) and p for p in spec.images):
        problems.append("images (a non-empty list of non-empty paths)")
    for name, value in (("workers", spec.workers), ("batch", spec.batch)):
        if value < 1:
            problems.append(f"{name} {value} must be >= 1")
    problems += _scenario_problems(spec)
    if spec.scenario == "call_overhead" and spec.calls_per_sample < 1:
        problems.append(f"calls_per_sample {spec.calls_per_sample} must be >= 1")
    if spec.scenario == "server" and not spec.rate > 0:
        problems.append(f"rate {spec.rate} must be > 0")
    if spec.scenario == "server" and len(spec.arrivals_ns) != spec.iterations:
        problems.append(f"arrivals_ns has {len(spec.arrivals_ns)} entries for {spec.iterations} iterations")
    for name, value, least in (("warmup", spec.warmup, 0), ("iterations", spec.iterations, 1),
                               ("threads", spec.threads, 0), ("max_detections", spec.max_detections, 1)):
        if value < least:
            problems.append(f"{name} {value} must be >= {least}")
    for name, value in (("conf_threshold", spec.conf_threshold), ("nms_threshold", spec.nms_threshold)):
        if not 0 <= value <= 1:
            problems.append(f"{name} {value} must be in [0, 1]")
    if spec.backend not in BACKENDS:
        problems.append(f"backend {spec.backend!r} is not one of {', '.join(BACKENDS)}")
    if spec.target not in TARGETS:
        problems.append(f"target {spec.target!r} is not one of {', '.join(TARGETS)}")
    if problems:
        raise RunnerError("spec", "invalid spec: " + "; ".join(problems))
    if spec.scenario not in SCENARIOS:
        raise RunnerError("unsupported_scenario", f"py_runner does not run scenario {spec.scenario!r}")
    modes = SCENARIO_MODES.get(spec.scenario, ())
    if modes and spec.mode not in modes:
        raise RunnerError("unsupported_scenario", f"py_runner has no {spec.scenario} mode {spec.mode!r} "
                          f"(it has {', '.join(modes)})")
    if spec.scenario == "http" and spec.mode == "processes" and not hasattr(os, "fork"):
        # Pre-forked workers share the parent's listening socket by inheriting it (as gunicorn's do).
        raise RunnerError("unsupported_scenario", "py_runner's http mode 'processes' pre-forks its workers, and "
                          "this platform has no fork(): use mode threads")


def _scenario_problems(spec: Spec) -> list[str]:
    """The ranges of the spawn and http keys (docs/protocol.md)."""
    problems = []
    most = MAX_WORKERS.get(spec.scenario)
    if most is not None and spec.workers > most:
        problems.append(f"workers {spec.workers} must be <= {most}")
    if spec.scenario == "spawn":
        if not 1 <= spec.tasks <= MAX_TASKS:
            problems.append(f"tasks {spec.tasks} must be in 1 .. {MAX_TASKS}")
        if not 0 <= spec.task_sleep_ns <= MAX_TASK_SLEEP_NS:
            problems.append(f"task_sleep_ns {spec.task_sleep_ns} must be in 0 .. {MAX_TASK_SLEEP_NS}")
    if spec.scenario == "http":
        for name, value, least in (("http.queue", spec.http_queue, 0), ("http.max_body_bytes",
                                                                           spec.http_max_body_bytes, 1)):
            if value < least:
                problems.append(f"{name} {value} must be >= {least}")
        if not 0 <= spec.http_port <= 65535:
            problems.append(f"http.port {spec.http_port} must be in 0 .. 65535")
    return problems
