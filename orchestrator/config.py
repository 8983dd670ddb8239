"""Experiment configs: YAML in, checked dataclasses out, every error located by file, line and key.

The reference for every key is docs/config.md. Relative paths resolve against the config file's folder.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from .errors import ConfigError

RUNNER_KINDS = ("go", "python", "cpp")
SCENARIOS = ("single",)
BACKENDS = ("default", "opencv", "cuda", "openvino")
TARGETS = ("cpu", "opencl", "opencl_fp16", "cuda", "cuda_fp16")
MATRIX_AXES = ("runner", "model", "threads")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    format: str
    input_size: int


@dataclass(frozen=True)
class Runner:
    name: str
    kind: str
    interpreter: str | None = None  # python only; None means the orchestrator's own interpreter
    env: dict[str, str] = field(default_factory=dict)
    threads: int | None = None  # overrides the matrix's thread count for this runner (to study an unfair setting)


@dataclass(frozen=True)
class Scenario:
    type: str
    warmup: int | None  # None: `auto`, steady state detected from the stream (orchestrator/warmup.py)
    iterations: int
    repeats: int
    min_time_s: float  # a cell measuring less than this in total is flagged, like hyperfine's 3 s
    order: str  # round-robin | random: how the processes of all cells are interleaved
    seed: int  # for order: random


@dataclass(frozen=True)
class Claim:
    """A published claim to hold against this run: `a` vs `b` on `metric`, with the values the claim gives."""

    claim: str
    metric: str
    a: str
    b: str
    a_value: float
    b_value: float
    model: str | None


@dataclass(frozen=True)
class Parity:
    """Detection-matching tolerances: strict for one OpenCV build, looser across builds."""

    iou: float = 0.99
    score: float = 1e-3
    cross_build_iou: float = 0.9
    cross_build_score: float = 0.05


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    description: str
    models: list[Model]
    images: list[Path]
    runners: list[Runner]
    scenario: Scenario
    threads: list[int]
    backend: str
    target: str
    conf_threshold: float
    nms_threshold: float
    max_detections: int
    exclude: list[dict[str, Any]]
    compare: list[tuple[str, str]]
    timeout_s: float
    parity: Parity
    cpu_affinity: list[int] | None
    cooldown_s: float
    on_unavailable: str
    reference: str | None
    claims: list[Claim]

    def runner(self, name: str) -> Runner:
        return next(r for r in self.runners if r.name == name)

    def model(self, name: str) -> Model:
        return next(m for m in self.models if m.name == name)


class _Doc:
    """The parsed YAML plus the line of every key, so that each error can point at its line."""

    def __init__(self, path: Path, data: Any, lines: dict[tuple, int]) -> None:
        self.path, self.data, self.lines = path, data, lines

    def fail(self, keypath: tuple, problem: str) -> ConfigError:
        line = None
        for n in range(len(keypath), -1, -1):  # the nearest located ancestor
            line = self.lines.get(keypath[:n])
            if line:
                break
        return ConfigError(self.path, line, _dotted(keypath), problem)


def _dotted(keypath: tuple) -> str:
    out = ""
    for part in keypath:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load(path: str | os.PathLike) -> Config:
    """Read and check a config file; raises ConfigError naming the file, line and key of the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, None, "", f"cannot read the config ({exc.strerror}). Check the path.") from exc
    return parse(text, path)


def parse(text: str, path: Path) -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ConfigError(path, line, "", f"not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    lines: dict[tuple, int] = {}
    if node is not None:
        _collect_lines(node, (), lines, path)
    doc = _Doc(path, data, lines)
    if not isinstance(data, dict):
        raise doc.fail((), "the config must be a mapping of keys (name, models, images, runners, ...)")
    return _build(doc)


def _collect_lines(node: yaml.Node, keypath: tuple, lines: dict[tuple, int], path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ConfigError(path, key_node.start_mark.line + 1, _dotted(keypath + (key,)),
                                  "this key appears twice; keep one")
            seen.add(key)
            lines[keypath + (key,)] = key_node.start_mark.line + 1
            _collect_lines(value_node, keypath + (key,), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[keypath + (i,)] = item.start_mark.line + 1
            _collect_lines(item, keypath + (i,), lines, path)


TOP_KEYS = {"name", "description", "models", "images", "runners", "scenario", "threads", "backend", "target",
            "thresholds", "matrix", "compare", "timeout_s", "parity", "cpu_affinity", "cooldown_s",
            "on_unavailable", "reference", "claims"}
CLAIM_METRICS = ("latency_mean", "latency_p50", "latency_p99", "peak_rss")


def _build(doc: _Doc) -> Config:
    d = doc.data
    _no_unknown(doc, (), d, TOP_KEYS)
    for key in ("name", "models", "images", "runners"):
        if key not in d:
            raise doc.fail((key,), f"missing; see docs/config.md for the key '{key}'")
    models = _models(doc)
    runners = _runners(doc)
    scenario = _scenario(doc)
    thresholds = _mapping(doc, ("thresholds",), {"confidence", "nms", "max_detections"})
    config = Config(
        path=doc.path,
        name=_typed(doc, ("name",), str),
        description=_typed(doc, ("description",), str, ""),
        models=models,
        images=_images(doc),
        runners=runners,
        scenario=scenario,
        threads=_threads(doc),
        backend=_choice(doc, ("backend",), BACKENDS, "opencv"),
        target=_choice(doc, ("target",), TARGETS, "cpu"),
        conf_threshold=_number(doc, ("thresholds", "confidence"), thresholds.get("confidence", 0.25), 0, 1),
        nms_threshold=_number(doc, ("thresholds", "nms"), thresholds.get("nms", 0.45), 0, 1),
        max_detections=_integer(doc, ("thresholds", "max_detections"), thresholds.get("max_detections", 300), 1),
        exclude=_exclude(doc, models, runners),
        compare=_compare(doc, runners),
        timeout_s=_number(doc, ("timeout_s",), d.get("timeout_s", 600), 1, None),
        parity=_parity(doc),
        cpu_affinity=_affinity(doc),
        cooldown_s=_number(doc, ("cooldown_s",), d.get("cooldown_s", 0), 0, None),
        on_unavailable=_choice(doc, ("on_unavailable",), ("fail", "skip"), "fail"),
        reference=_reference(doc, runners),
        claims=_claims(doc, runners, models),
    )
    return config


def _no_unknown(doc: _Doc, keypath: tuple, mapping: dict, allowed: set[str]) -> None:
    for key in mapping:
        if key not in allowed:
            raise doc.fail(keypath + (key,), f"unknown key; allowed here: {', '.join(sorted(allowed))}")


def _typed(doc: _Doc, keypath: tuple, kind: type, default: Any = None) -> Any:
    value = _lookup(doc.data, keypath)
    if value is None:
        if default is None:
            raise doc.fail(keypath, f"missing; expected a {kind.__name__}")
        return default
    if not isinstance(value, kind) or isinstance(value, bool):
        raise doc.fail(keypath, f"expected a {kind.__name__}, got {value!r}")
    return value


def _lookup(data: Any, keypath: tuple) -> Any:
    for part in keypath:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _mapping(doc: _Doc, keypath: tuple, allowed: set[str]) -> dict:
    value = _lookup(doc.data, keypath)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.fail(keypath, f"expected a mapping with keys {', '.join(sorted(allowed))}")
    _no_unknown(doc, keypath, value, allowed)
    return value


def _number(doc: _Doc, keypath: tuple, value: Any, low: float | None, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise doc.fail(keypath, f"expected a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise doc.fail(keypath, f"{value} is out of range; use a number {bounds}")
    return float(value)


def _integer(doc: _Doc, keypath: tuple, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.fail(keypath, f"expected a whole number, got {value!r}")
    if value < low:
        raise doc.fail(keypath, f"{value} is too small; use {low} or more")
    return value


def _choice(doc: _Doc, keypath: tuple, choices: tuple, default: str | None) -> str:
    value = _lookup(doc.data, keypath)
    if value is None:
        if default is None:
            raise doc.fail(keypath, f"missing; one of: {', '.join(choices)}")
        return default
    if value not in choices:
        raise doc.fail(keypath, f"{value!r} is not one of: {', '.join(choices)}")
    return value


def _name(doc: _Doc, keypath: tuple, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise doc.fail(keypath, f"expected a non-empty name, got {value!r}")
    return value


def _list_of_mappings(doc: _Doc, key: str) -> list[dict]:
    items = doc.data.get(key)
    if not isinstance(items, list) or not items:
        raise doc.fail((key,), "expected a non-empty list")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise doc.fail((key, i), f"expected a mapping, got {item!r}")
    return items


def _unique(doc: _Doc, key: str, names: list[str]) -> None:
    for i, name in enumerate(names):
        if name in names[:i]:
            raise doc.fail((key, i, "name"), f"the name {name!r} is used twice; names must be unique")


def _models(doc: _Doc) -> list[Model]:
    models = []
    for i, item in enumerate(_list_of_mappings(doc, "models")):
        kp = ("models", i)
        _no_unknown(doc, kp, item, {"name", "path", "format", "input_size"})
        path = _existing_file(doc, kp + ("path",), item.get("path"),
                              "run `make models` to fetch and export the YOLOv5s models")
        fmt = _choice(doc, kp + ("format",), ("onnx",), "onnx")
        size = _integer(doc, kp + ("input_size",), item.get("input_size"), 32)
        if size % 32:
            raise doc.fail(kp + ("input_size",), f"{size} is not a multiple of 32 (YOLOv5's stride)")
        models.append(Model(_name(doc, kp + ("name",), item.get("name")), path, fmt, size))
    _unique(doc, "models", [m.name for m in models])
    return models


def _resolve(doc: _Doc, value: str) -> Path:
    path = Path(os.path.expandvars(os.path.expanduser(value)))
    return path if path.is_absolute() else (doc.path.parent / path).resolve()


def _existing_file(doc: _Doc, keypath: tuple, value: Any, hint: str) -> Path:
    if not isinstance(value, str) or not value:
        raise doc.fail(keypath, "expected a file path")
    path = _resolve(doc, value)
    if not path.is_file():
        raise doc.fail(keypath, f"file not found: {path}; {hint}")
    return path


def _images(doc: _Doc) -> list[Path]:
    value = doc.data.get("images")
    hint = "run `make data` to fetch the images"
    if isinstance(value, str):
        folder = _resolve(doc, value)
        if not folder.is_dir():
            raise doc.fail(("images",), f"folder not found: {folder}; {hint}")
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise doc.fail(("images",), f"no {'/'.join(IMAGE_SUFFIXES)} image in {folder}; {hint}")
        return images
    if isinstance(value, list) and value:
        return [_existing_file(doc, ("images", i), v, hint) for i, v in enumerate(value)]
    raise doc.fail(("images",), "expected a folder or a non-empty list of image files")


def _runners(doc: _Doc) -> list[Runner]:
    runners = []
    for i, item in enumerate(_list_of_mappings(doc, "runners")):
        kp = ("runners", i)
        _no_unknown(doc, kp, item, {"name", "kind", "interpreter", "env", "threads"})
        kind = item.get("kind")
        if kind not in RUNNER_KINDS:
            raise doc.fail(kp + ("kind",), f"{kind!r} is not one of: {', '.join(RUNNER_KINDS)}")
        interpreter = item.get("interpreter")
        if interpreter is not None:
            if kind != "python":
                raise doc.fail(kp + ("interpreter",), "only python runners take an interpreter")
            interpreter = _typed(doc, kp + ("interpreter",), str)
        env = item.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(v, (str, int, float)) for v in env.values()):
            raise doc.fail(kp + ("env",), "expected a mapping of environment variable names to values")
        threads = None if item.get("threads") is None else _integer(doc, kp + ("threads",), item["threads"], 0)
        runners.append(Runner(_name(doc, kp + ("name",), item.get("name")), kind, interpreter,
                              {str(k): str(v) for k, v in env.items()}, threads))
    _unique(doc, "runners", [r.name for r in runners])
    return runners


def _scenario(doc: _Doc) -> Scenario:
    s = _mapping(doc, ("scenario",), {"type", "warmup", "iterations", "repeats", "min_time_s", "order", "seed"})
    warmup = s.get("warmup", 3)
    return Scenario(
        type=_choice(doc, ("scenario", "type"), SCENARIOS, "single"),
        warmup=None if warmup == "auto" else _integer(doc, ("scenario", "warmup"), warmup, 0),
        iterations=_integer(doc, ("scenario", "iterations"), s.get("iterations", 30), 1),
        repeats=_integer(doc, ("scenario", "repeats"), s.get("repeats", 3), 1),
        min_time_s=_number(doc, ("scenario", "min_time_s"), s.get("min_time_s", 3), 0, None),
        order=_choice(doc, ("scenario", "order"), ("round-robin", "random"), "random"),
        seed=_integer(doc, ("scenario", "seed"), s.get("seed", 1), 0),
    )


def _affinity(doc: _Doc) -> list[int] | None:
    value = doc.data.get("cpu_affinity")
    if value is None:
        return None
    count = os.cpu_count() or 1
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and 0 <= v < count for v in value):
        raise doc.fail(("cpu_affinity",), f"expected a list of CPU numbers between 0 and {count - 1}, got {value!r}")
    return value


def _reference(doc: _Doc, runners: list[Runner]) -> str | None:
    """The native runner that the "overhead over native" view divides by: named, or the first cpp runner."""
    value = doc.data.get("reference")
    if value is None:
        return next((r.name for r in runners if r.kind == "cpp"), None)
    if value not in {r.name for r in runners}:
        raise doc.fail(("reference",), f"{value!r} is not a configured runner")
    return value


def _claims(doc: _Doc, runners: list[Runner], models: list[Model]) -> list[Claim]:
    items = doc.data.get("claims", [])
    if not isinstance(items, list):
        raise doc.fail(("claims",), "expected a list of claims (see docs/config.md)")
    out = []
    names, model_names = {r.name for r in runners}, {m.name for m in models}
    for i, item in enumerate(items):
        kp = ("claims", i)
        if not isinstance(item, dict):
            raise doc.fail(kp, "expected a mapping with claim, metric, a, b, a_value, b_value")
        _no_unknown(doc, kp, item, {"claim", "metric", "a", "b", "a_value", "b_value", "model"})
        for side in ("a", "b"):
            if item.get(side) not in names:
                raise doc.fail(kp + (side,), f"{item.get(side)!r} is not a configured runner")
        model = item.get("model")
        if model is not None and model not in model_names:
            raise doc.fail(kp + ("model",), f"{model!r} is not a configured model")
        out.append(Claim(
            claim=_typed(doc, kp + ("claim",), str),
            metric=_choice(doc, kp + ("metric",), CLAIM_METRICS, None),
            a=item["a"], b=item["b"],
            a_value=_number(doc, kp + ("a_value",), item.get("a_value"), 0, None),
            b_value=_number(doc, kp + ("b_value",), item.get("b_value"), 0, None),
            model=model,
        ))
    return out


def _threads(doc: _Doc) -> list[int]:
    """`threads` is a count or a list of counts; 0 keeps OpenCV's default, `auto` is the logical CPU count."""
    value = doc.data.get("threads", ["auto"])
    values = value if isinstance(value, list) else [value]
    out = []
    for i, v in enumerate(values):
        kp = ("threads", i) if isinstance(value, list) else ("threads",)
        out.append((os.cpu_count() or 1) if v == "auto" else _integer(doc, kp, v, 0))
    if not out:
        raise doc.fail(("threads",), "expected at least one thread count")
    return list(dict.fromkeys(out))


def _exclude(doc: _Doc, models: list[Model], runners: list[Runner]) -> list[dict[str, Any]]:
    matrix = _mapping(doc, ("matrix",), {"exclude"})
    rules = matrix.get("exclude", [])
    if not isinstance(rules, list):
        raise doc.fail(("matrix", "exclude"), "expected a list of {runner, model, threads} mappings")
    known: dict[str, Callable[[Any], bool]] = {
        "runner": lambda v: v in {r.name for r in runners},
        "model": lambda v: v in {m.name for m in models},
        "threads": lambda v: isinstance(v, int),
    }
    for i, rule in enumerate(rules):
        kp = ("matrix", "exclude", i)
        if not isinstance(rule, dict) or not rule:
            raise doc.fail(kp, "expected a mapping such as {runner: go, model: yolov5s-640}")
        _no_unknown(doc, kp, rule, set(MATRIX_AXES))
        for axis, v in rule.items():
            if not known[axis](v):
                raise doc.fail(kp + (axis,), f"{v!r} does not name a configured {axis}")
    return rules


def _compare(doc: _Doc, runners: list[Runner]) -> list[tuple[str, str]]:
    pairs = doc.data.get("compare", [])
    if not isinstance(pairs, list):
        raise doc.fail(("compare",), "expected a list of runner pairs, e.g. [[go, python-system]]")
    names = {r.name for r in runners}
    out = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise doc.fail(("compare", i), f"expected a pair of runner names, got {pair!r}")
        for j, name in enumerate(pair):
            if name not in names:
                raise doc.fail(("compare", i, j), f"{name!r} is not a configured runner ({', '.join(names)})")
        if pair[0] == pair[1]:
            raise doc.fail(("compare", i), "a runner cannot be compared with itself")
        out.append((pair[0], pair[1]))
    return out


def _parity(doc: _Doc) -> Parity:
    p = _mapping(doc, ("parity",), {"iou", "score", "cross_build_iou", "cross_build_score"})
    base = Parity()
    return Parity(**{k: _number(doc, ("parity", k), p.get(k, getattr(base, k)), 0, 1)
                     for k in ("iou", "score", "cross_build_iou", "cross_build_score")})


def resolved(config: Config) -> dict[str, Any]:
    """The config as it was run: defaults filled in, paths absolute (written to the run folder as config.yaml)."""
    return {
        "name": config.name,
        "description": config.description,
        "models": [{"name": m.name, "path": str(m.path), "format": m.format, "input_size": m.input_size}
                   for m in config.models],
        "images": [str(p) for p in config.images],
        "runners": [_resolved_runner(r) for r in config.runners],
        "scenario": {"type": config.scenario.type,
                     "warmup": "auto" if config.scenario.warmup is None else config.scenario.warmup,
                     "iterations": config.scenario.iterations, "repeats": config.scenario.repeats,
                     "min_time_s": config.scenario.min_time_s, "order": config.scenario.order,
                     "seed": config.scenario.seed},
        "threads": list(config.threads),
        "backend": config.backend,
        "target": config.target,
        "thresholds": {"confidence": config.conf_threshold, "nms": config.nms_threshold,
                       "max_detections": config.max_detections},
        "matrix": {"exclude": list(config.exclude)},
        "compare": [list(p) for p in config.compare],
        "timeout_s": config.timeout_s,
        "parity": asdict(config.parity),
        "cpu_affinity": config.cpu_affinity,
        "cooldown_s": config.cooldown_s,
        "on_unavailable": config.on_unavailable,
        "reference": config.reference,
        "claims": [asdict(c) for c in config.claims],
    }


def _resolved_runner(r: Runner) -> dict[str, Any]:
    out: dict[str, Any] = {"name": r.name, "kind": r.kind, "env": dict(r.env)}
    if r.kind == "python":
        out["interpreter"] = r.interpreter or default_interpreter()
    if r.threads is not None:
        out["threads"] = r.threads
    return out


def default_interpreter() -> str:
    """The interpreter a python runner uses when the config names none: the orchestrator's own (the venv)."""
    return sys.executable
