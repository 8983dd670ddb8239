"""Experiment configs: YAML in, checked dataclasses out, every error located by file, line and key.

The reference for every key is docs/config.md. Relative paths resolve against the config file's folder.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from . import engines, hostos, i18n, quiet, scenarios, verdicts
from . import machine as machine_mod
from .engines import OnnxRuntime
from .errors import ConfigError
from .registry import ALL_PYTHON_MODES, NATIVE_MODE
from .scenarios import Scenario
from .yamldoc import (
    Doc,
    choice,
    collect_lines,
    existing_file,
    integer,
    list_of_mappings,
    mapping,
    no_unknown,
    number,
    resolve_path,
    typed,
    unique,
    valid_name,
)

MAX_CONFIG_BYTES = 1 << 20  # a config lists experiments; a larger file is a mistake (or an attack)
MAX_NODES = 100_000  # values in the document with its aliases expanded
MAX_THREADS = 1024  # OS threads per network: more is a typo, and would start that many threads per process
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RUNNER_KINDS = ("go", "python", "cpp")
BACKENDS = ("default", "opencv", "cuda", "openvino")
TARGETS = ("cpu", "opencl", "opencl_fp16", "cuda", "cuda_fp16")
MATRIX_AXES = ("runner", "model", "threads", "scenario", "engine")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    format: str
    input_size: int
    batch: int = 1  # the fixed batch the model was exported with: batch scenarios need it, others need 1


@dataclass(frozen=True)
class Runner:
    name: str
    kind: str
    interpreter: str | None = None  # python only; None means the orchestrator's own interpreter
    env: dict[str, str] = field(default_factory=dict)
    threads: int | None = None  # overrides the matrix's thread count for this runner (to study an unfair setting)
    engines: tuple[str, ...] | None = None  # the engines this runner runs; None: the config's
    mode: str | None = None  # python: its concurrency mode where a scenario has that mode (asyncio in spawn)


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
    workers: int | None = None  # the worker count the claim is about (throughput, startup): only cells with it
    clients: int | None = None  # http: the concurrent clients the claim is about: only cells with that many
    # An engine claim (the article's TensorRT vs ONNX Runtime): each side's engine, `opencv` or
    # `onnxruntime:PROVIDER`, and the hardware it was measured on (judged only on a machine that has it).
    a_engine: str | None = None
    b_engine: str | None = None
    hardware: str | None = None


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
    scenarios: list[Scenario]
    threads: list[int]
    engines: list[str]  # the engine axis (orchestrator/engines.py)
    onnxruntime: OnnxRuntime
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
    lang: str  # report.lang: the language of report.html

    order: str  # random | round-robin: how the processes of all cells are interleaved
    seed: int | None  # of order: random; None draws a fresh one per run (recorded in the run folder)
    min_effect: float = 0.03  # the practical threshold of a verdict (orchestrator/verdicts.py)
    busy_cores: float = 0.25  # other CPU use above which a process is flagged busy (orchestrator/quiet.py)
    machine: str | None = None  # the machine's name (orchestrator/machine.py); None: `--machine`, else the host name

    @property
    def scenario(self) -> Scenario:
        """The first scenario (most configs have one)."""
        return self.scenarios[0]

    def runner(self, name: str) -> Runner:
        return next(r for r in self.runners if r.name == name)

    def model(self, name: str) -> Model:
        return next(m for m in self.models if m.name == name)


def load(path: str | os.PathLike) -> Config:
    """Read and check a config file; raises ConfigError naming the file, line and key of the first problem."""
    return parse(read_text(Path(path)), Path(path))


def load_resolved(path: Path) -> Config:
    """A run folder's config.yaml, through the same schema and defaults as a user's config. Its files are not
    required to exist: a run re-renders on a machine without its models and images."""
    return parse(read_text(path), path, check_files=False)


def read_text(path: Path) -> str:
    """A config's text: at most MAX_CONFIG_BYTES, UTF-8, or a ConfigError that says where it is not."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(path, None, "", f"cannot read the config ({exc.strerror}). Check the path.") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(path, None, "", f"the config is larger than {MAX_CONFIG_BYTES >> 20} MiB; a config "
                          "lists experiments, not data: put images and models in files it names")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(path, line, "", f"byte {raw[exc.start]:#04x} is not UTF-8; save the file as "
                          "UTF-8") from None


def parse(text: str, path: Path, check_files: bool = True) -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            bounded(node, path)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ConfigError(path, line, "", f"not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    except RecursionError:
        raise ConfigError(path, None, "", "the YAML is nested too deeply; a config is a few levels deep") from None
    lines: dict[tuple, int] = {}
    if node is not None:
        collect_lines(node, (), lines, path)
    doc = Doc(path, data, lines, check_files)
    if not isinstance(data, dict):
        raise doc.fail((), "the config must be a mapping of keys (name, models, images, runners, ...)")
    finite(doc, (), data)
    return _build(doc)


def bounded(root: yaml.Node, path: Path) -> None:
    """Refuse a document whose aliases expand past MAX_NODES (a "billion laughs" config) before anything walks
    it; each alias counts as many nodes as it stands for."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = MAX_NODES + 1  # a node that contains itself never ends
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else \
            node.value if isinstance(node, yaml.SequenceNode) else []
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                break
        sizes[id(node)] = total
        return total
    if size(root) > MAX_NODES:
        raise ConfigError(path, root.start_mark.line + 1, "", f"the document expands to more than {MAX_NODES} values "
                          "(YAML aliases and anchors repeat what they name); write the config out plainly")


def finite(doc: Doc, keypath: tuple, value: Any) -> None:
    """No .nan or .inf anywhere: every number of a config is a count, a time or a ratio."""
    if isinstance(value, float) and not math.isfinite(value):
        raise doc.fail(keypath, f"{value} is not a finite number; give a number")
    if isinstance(value, dict):
        for key, item in value.items():
            finite(doc, keypath + (key,), item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            finite(doc, keypath + (i,), item)


TOP_KEYS = {"name", "description", "models", "images", "runners", "scenario", "threads", "engine", "onnxruntime",
            "backend", "target",
            "thresholds", "matrix", "compare", "timeout_s", "parity", "cpu_affinity", "cooldown_s",
            "on_unavailable", "reference", "claims", "scenarios", "order", "seed", "report", "min_effect",
            "busy_cores", "machine"}
CLAIM_METRICS = ("latency_mean", "latency_p50", "latency_p99", "peak_rss", "ns_per_call", "throughput", "startup",
                 "fps", "spawn_memory", "tasks_per_s", "requests_per_s")
CLAIM_ENGINES = ("opencv",) + tuple(f"onnxruntime:{p}" for p in engines.PROVIDERS)
# The keys and choices of each mapping, named so that orchestrator/configschema.py builds the JSON Schema from them.
MODEL_KEYS = {"name", "path", "format", "input_size", "batch"}
MODEL_FORMATS = ("onnx",)
RUNNER_KEYS = {"name", "kind", "interpreter", "env", "threads", "engine", "mode"}
THRESHOLD_KEYS = {"confidence", "nms", "max_detections"}
ONNXRUNTIME_KEYS = {"library", "python_path", "provider"}
CLAIM_KEYS = {"claim", "metric", "a", "b", "a_value", "b_value", "model", "workers", "a_engine", "b_engine",
              "hardware", "clients"}
PARITY_KEYS = ("iou", "score", "cross_build_iou", "cross_build_score")
MATRIX_KEYS = {"exclude"}
REPORT_KEYS = {"lang"}
ON_UNAVAILABLE = ("fail", "skip")
ORDERS = ("random", "round-robin")


def _build(doc: Doc) -> Config:
    d = doc.data
    no_unknown(doc, (), d, TOP_KEYS)
    for key in ("name", "models", "images", "runners"):
        if key not in d:
            raise doc.fail((key,), f"missing; see docs/config.md for the key '{key}'")
    models = _models(doc)
    runners = _runners(doc)
    thresholds = mapping(doc, ("thresholds",), THRESHOLD_KEYS)
    scenario_list = scenarios.parse_all(doc)
    config = Config(
        path=doc.path,
        name=typed(doc, ("name",), str),
        description=typed(doc, ("description",), str, ""),
        models=models,
        images=_images(doc),
        runners=runners,
        scenarios=scenario_list,
        threads=_threads(doc),
        engines=list(_engines(doc, ("engine",), d.get("engine", "opencv"))),
        onnxruntime=_onnxruntime(doc, runners),
        backend=choice(doc, ("backend",), BACKENDS, "opencv"),
        target=choice(doc, ("target",), TARGETS, "cpu"),
        conf_threshold=number(doc, ("thresholds", "confidence"), thresholds.get("confidence", 0.25), 0, 1),
        nms_threshold=number(doc, ("thresholds", "nms"), thresholds.get("nms", 0.45), 0, 1),
        max_detections=integer(doc, ("thresholds", "max_detections"), thresholds.get("max_detections", 300), 1),
        exclude=_exclude(doc, models, runners, scenario_list),
        compare=_compare(doc, runners),
        timeout_s=number(doc, ("timeout_s",), d.get("timeout_s", 600), 1, None),
        parity=_parity(doc),
        cpu_affinity=_affinity(doc),
        cooldown_s=number(doc, ("cooldown_s",), d.get("cooldown_s", 0), 0, None),
        on_unavailable=choice(doc, ("on_unavailable",), ON_UNAVAILABLE, "fail"),
        reference=_reference(doc, runners),
        claims=_claims(doc, runners, models),
        order=choice(doc, ("order",), ORDERS, "random"),
        lang=choice(doc, ("report", "lang"), i18n.LANGS, "en") if mapping(doc, ("report",), REPORT_KEYS) else "en",
        seed=None if d.get("seed") is None else integer(doc, ("seed",), d["seed"], 0),
        min_effect=number(doc, ("min_effect",), d.get("min_effect", verdicts.DEFAULT_MIN_EFFECT), 0, 0.5),
        busy_cores=number(doc, ("busy_cores",), d.get("busy_cores", quiet.BUSY_CORES), 0, None),
        machine=_machine(doc),
    )
    return config


def _machine(doc: Doc) -> str | None:
    if doc.data.get("machine") is None:
        return None
    name = typed(doc, ("machine",), str)
    why = machine_mod.problem(name)
    if why:
        raise doc.fail(("machine",), why)
    return name


def _models(doc: Doc) -> list[Model]:
    models = []
    for i, item in enumerate(list_of_mappings(doc, "models")):
        kp = ("models", i)
        no_unknown(doc, kp, item, MODEL_KEYS)
        path = existing_file(doc, kp + ("path",), item.get("path"),
                              "run `make models` to fetch and export the YOLOv5s models")
        fmt = choice(doc, kp + ("format",), MODEL_FORMATS, "onnx")
        size = integer(doc, kp + ("input_size",), item.get("input_size"), 32)
        if size % 32:
            raise doc.fail(kp + ("input_size",), f"{size} is not a multiple of 32 (YOLOv5's stride)")
        batch = integer(doc, kp + ("batch",), item.get("batch", 1), 1)
        models.append(Model(valid_name(doc, kp + ("name",), item.get("name")), path, fmt, size, batch))
    unique(doc, "models", [m.name for m in models])
    return models


def _images(doc: Doc) -> list[Path]:
    """The images, with distinct base names: the runners name each by its base name in their records."""
    images = _image_paths(doc)
    names = [p.name for p in images]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise doc.fail(("images", i) if isinstance(doc.data.get("images"), list) else ("images",),
                           f"two images are named {name!r} ({images[names.index(name)]} and {images[i]}): the "
                           "runners report each image by its file name; rename or drop one")
    return images


def _image_paths(doc: Doc) -> list[Path]:
    value = doc.data.get("images")
    hint = "run `make data` to fetch the images"
    if isinstance(value, str):
        folder = resolve_path(doc, value)
        if not folder.is_dir():
            raise doc.fail(("images",), f"folder not found: {folder}; {hint}")
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise doc.fail(("images",), f"no {'/'.join(IMAGE_SUFFIXES)} image in {folder}; {hint}")
        return images
    if isinstance(value, list) and value:
        return [existing_file(doc, ("images", i), v, hint) for i, v in enumerate(value)]
    raise doc.fail(("images",), "expected a folder or a non-empty list of image files")


def _interpreter(doc: Doc, kp: tuple, value: str) -> str:
    """A path (`~` and `$VARIABLES` expanded, relative to the config's folder) or a bare name for PATH. Not
    checked here: a config that names /usr/bin/python3 still loads on a machine without one, and that runner's
    cells fail with the reason while the others run."""
    expanded = os.path.expandvars(os.path.expanduser(value))
    if os.sep in expanded or (os.altsep and os.altsep in expanded):
        return str(resolve_path(doc, expanded))
    return expanded


def _runners(doc: Doc) -> list[Runner]:
    runners = []
    for i, item in enumerate(list_of_mappings(doc, "runners")):
        kp = ("runners", i)
        no_unknown(doc, kp, item, RUNNER_KEYS)
        kind = item.get("kind")
        if kind not in RUNNER_KINDS:
            raise doc.fail(kp + ("kind",), f"{kind!r} is not one of: {', '.join(RUNNER_KINDS)}")
        interpreter = item.get("interpreter")
        if interpreter is not None:
            if kind != "python":
                raise doc.fail(kp + ("interpreter",), "only python runners take an interpreter")
            interpreter = _interpreter(doc, kp + ("interpreter",), typed(doc, kp + ("interpreter",), str))
        env = item.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(v, (str, int, float)) for v in env.values()):
            raise doc.fail(kp + ("env",), "expected a mapping of environment variable names to values")
        for key, value in env.items():
            if not isinstance(key, str) or not ENV_NAME.fullmatch(key):
                raise doc.fail(kp + ("env", key), "an environment variable name is letters, digits and _ (not "
                               "starting with a digit), with no '=' or spaces")
            if "\0" in str(value):
                raise doc.fail(kp + ("env", key), "an environment variable's value cannot hold a NUL character")
        threads = None if item.get("threads") is None else \
            integer(doc, kp + ("threads",), item["threads"], 0, MAX_THREADS)
        runner_engines = None if item.get("engine") is None else _engines(doc, kp + ("engine",), item["engine"])
        mode = item.get("mode")
        if mode is not None:
            if kind != "python":
                raise doc.fail(kp + ("mode",), f"only python runners take a mode; {kind} runs {NATIVE_MODE[kind]}")
            mode = choice(doc, kp + ("mode",), ALL_PYTHON_MODES, None)
        runners.append(Runner(valid_name(doc, kp + ("name",), item.get("name")), kind, interpreter,
                              {str(k): str(v) for k, v in env.items()}, threads, runner_engines, mode))
    unique(doc, "runners", [r.name for r in runners])
    return runners


def _engines(doc: Doc, kp: tuple, value: Any) -> tuple[str, ...]:
    """An engine name or a list of them (a matrix axis)."""
    values = value if isinstance(value, list) else [value]
    for i, v in enumerate(values):
        if v not in engines.ENGINES:
            raise doc.fail(kp + ((i,) if isinstance(value, list) else ()),
                           f"{v!r} is not one of: {', '.join(engines.ENGINES)}")
    if not values:
        raise doc.fail(kp, f"expected at least one engine ({', '.join(engines.ENGINES)})")
    return tuple(dict.fromkeys(values))


def _onnxruntime(doc: Doc, runners: list[Runner]) -> OnnxRuntime:
    """Where ONNX Runtime is and the providers its cells ask for; the files are checked only when a cell uses it."""
    kp = ("onnxruntime",)
    m = mapping(doc, kp, ONNXRUNTIME_KEYS)
    used = "onnxruntime" in _engines(doc, ("engine",), doc.data.get("engine", "opencv")) or any(
        r.engines and "onnxruntime" in r.engines for r in runners)
    library = resolve_path(doc, typed(doc, kp + ("library",), str)) if "library" in m else engines.default_library()
    python_path = resolve_path(doc, typed(doc, kp + ("python_path",), str)) if "python_path" in m else engines.ORT_HOME
    if used and doc.check_files:
        for key, path, there in (("library", library, library.is_file()), ("python_path", python_path,
                                                                            python_path.is_dir())):
            if not there:
                raise doc.fail(kp + ((key,) if key in m else ()), f"ONNX Runtime is not there: {path} is missing; "
                               + _ort_hint(m.get(key)))
    if "provider" not in m:
        return OnnxRuntime(library, python_path)
    value = m["provider"]
    providers = tuple(dict.fromkeys(
        choice(doc, kp + ("provider",) + ((i,) if isinstance(value, list) else ()), engines.PROVIDERS, None)
        for i in range(len(value) if isinstance(value, list) else 1)))
    if not providers:
        raise doc.fail(kp + ("provider",), f"expected a provider or a list of them ({', '.join(engines.PROVIDERS)})")
    return OnnxRuntime(library, python_path, providers)


def _ort_hint(value: Any) -> str:
    if value is not None and "$" in os.path.expandvars(str(value)):
        return "the variable in it is not set (configs/gpu.yaml is run by scripts/gpu_check.sh, which sets it)"
    return ("run `make onnxruntime` (part of `make setup`) to install the pinned ONNX Runtime "
            "(for a GPU: scripts/gpu_check.sh)")


def _affinity(doc: Doc) -> list[int] | None:
    value = doc.data.get("cpu_affinity")
    if value is None:
        return None
    count = (os.cpu_count() or 1) if doc.check_files else 2**16  # a run folder's machine had its own CPUs
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and 0 <= v < count for v in value):
        raise doc.fail(("cpu_affinity",), f"expected a list of CPU numbers between 0 and {count - 1}, got {value!r}")
    return value


def _reference(doc: Doc, runners: list[Runner]) -> str | None:
    """The native runner that the "overhead over native" view divides by: named, or the first cpp runner."""
    value = doc.data.get("reference")
    if value is None:
        return next((r.name for r in runners if r.kind == "cpp"), None)
    if value not in {r.name for r in runners}:
        raise doc.fail(("reference",), f"{value!r} is not a configured runner")
    return value


def _claims(doc: Doc, runners: list[Runner], models: list[Model]) -> list[Claim]:
    items = doc.data.get("claims", [])
    if not isinstance(items, list):
        raise doc.fail(("claims",), "expected a list of claims (see docs/config.md)")
    out = []
    names, model_names = {r.name for r in runners}, {m.name for m in models}
    for i, item in enumerate(items):
        kp = ("claims", i)
        if not isinstance(item, dict):
            raise doc.fail(kp, "expected a mapping with claim, metric, a, b, a_value, b_value")
        no_unknown(doc, kp, item, CLAIM_KEYS)
        for side in ("a", "b"):
            if item.get(side) not in names:
                raise doc.fail(kp + (side,), f"{item.get(side)!r} is not a configured runner")
        model = item.get("model")
        if model is not None and model not in model_names:
            raise doc.fail(kp + ("model",), f"{model!r} is not a configured model")
        out.append(Claim(
            claim=typed(doc, kp + ("claim",), str),
            metric=choice(doc, kp + ("metric",), CLAIM_METRICS, None),
            a=item["a"], b=item["b"],
            a_value=number(doc, kp + ("a_value",), item.get("a_value"), 0, None),
            b_value=number(doc, kp + ("b_value",), item.get("b_value"), 0, None),
            model=model,
            workers=None if item.get("workers") is None else integer(doc, kp + ("workers",), item["workers"], 1),
            clients=None if item.get("clients") is None else integer(doc, kp + ("clients",), item["clients"], 1),
            a_engine=None if item.get("a_engine") is None else choice(doc, kp + ("a_engine",), CLAIM_ENGINES, None),
            b_engine=None if item.get("b_engine") is None else choice(doc, kp + ("b_engine",), CLAIM_ENGINES, None),
            hardware=None if item.get("hardware") is None else typed(doc, kp + ("hardware",), str),
        ))
    return out


POOL_THREADS = -1  # `threads: pool`: resolved per cell by matrix.pool_threads


def _threads(doc: Doc) -> list[int]:
    """`threads` is a count or a list of counts; 0 keeps OpenCV's default, `auto` the CPUs this process may use, `pool`
    the pool policy of docs/methodology.md (every CPU for one network, one thread per network for several)."""
    value = doc.data.get("threads", ["auto"])
    values = value if isinstance(value, list) else [value]
    out = []
    for i, v in enumerate(values):
        kp = ("threads", i) if isinstance(value, list) else ("threads",)
        out.append(_usable_cpus() if v == "auto" else POOL_THREADS if v == "pool" else
                   integer(doc, kp, v, 0, MAX_THREADS))
    if not out:
        raise doc.fail(("threads",), "expected at least one thread count")
    return list(dict.fromkeys(out))


def _usable_cpus() -> int:
    """`threads: auto`: the CPUs this process may run on (a container's or `taskset`'s set), else the count."""
    return hostos.usable_cpus()


def _exclude(doc: Doc, models: list[Model], runners: list[Runner], scenario_list: list[Scenario]
             ) -> list[dict[str, Any]]:
    matrix = mapping(doc, ("matrix",), MATRIX_KEYS)
    rules = matrix.get("exclude", [])
    if not isinstance(rules, list):
        raise doc.fail(("matrix", "exclude"), "expected a list of {runner, model, threads, scenario} mappings")
    known: dict[str, Callable[[Any], bool]] = {
        "runner": lambda v: v in {r.name for r in runners},
        "model": lambda v: v in {m.name for m in models},
        "threads": lambda v: isinstance(v, int),
        "engine": lambda v: v in engines.ENGINES,
        "scenario": lambda v: v in {s.name for s in scenario_list},
    }
    for i, rule in enumerate(rules):
        kp = ("matrix", "exclude", i)
        if not isinstance(rule, dict) or not rule:
            raise doc.fail(kp, "expected a mapping such as {runner: go, model: yolov5s-640}")
        no_unknown(doc, kp, rule, set(MATRIX_AXES))
        for axis, v in rule.items():
            if not known[axis](v):
                raise doc.fail(kp + (axis,), f"{v!r} does not name a configured {axis}")
    return rules


def _compare(doc: Doc, runners: list[Runner]) -> list[tuple[str, str]]:
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


def _parity(doc: Doc) -> Parity:
    p = mapping(doc, ("parity",), set(PARITY_KEYS))
    base = Parity()
    return Parity(**{k: number(doc, ("parity", k), p.get(k, getattr(base, k)), 0, 1)
                     for k in PARITY_KEYS})


def resolved(config: Config) -> dict[str, Any]:
    """The config as it was run: defaults filled in, paths absolute (written to the run folder as config.yaml)."""
    return {
        "name": config.name,
        "description": config.description,
        "models": [{"name": m.name, "path": str(m.path), "format": m.format, "input_size": m.input_size,
                    "batch": m.batch} for m in config.models],
        "images": [str(p) for p in config.images],
        "runners": [_resolved_runner(r) for r in config.runners],
        "scenarios": [scenarios.resolved(s) for s in config.scenarios],
        "report": {"lang": config.lang},
        "order": config.order,
        "seed": config.seed,
        "min_effect": config.min_effect,
        "busy_cores": config.busy_cores,
        "machine": config.machine,
        "threads": ["pool" if t == POOL_THREADS else t for t in config.threads],
        "engine": list(config.engines),
        "onnxruntime": {"library": str(config.onnxruntime.library), "python_path": str(config.onnxruntime.python_path),
                        "provider": list(config.onnxruntime.providers)},
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
    if r.engines is not None:
        out["engine"] = list(r.engines)
    if r.mode is not None:
        out["mode"] = r.mode
    return out


def default_interpreter() -> str:
    """The interpreter a python runner uses when the config names none: the orchestrator's own (the venv).

    Windows: pythonw.exe is taken as the python.exe beside it (a runner writes its records to stdout), and a
    venv's Scripts\\python.exe is a launcher that starts the base interpreter as its child, so the runner's tree
    (its job, its memory curve) holds both (docs/methodology.md). With no sys.executable (an embedding program):
    the project's venv."""
    if sys.executable:
        return hostos.console_python(sys.executable)
    return str(hostos.venv_python(engines.ROOT / ".venv"))
