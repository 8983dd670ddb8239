"""The scenario registry: what each scenario is, declared once, read by every layer of the orchestrator.

A scenario is what one iteration of a runner is (docs/protocol.md, "Scenarios"). Each entry below says:
- `config_keys`: the keys its mapping in a config may hold besides the common ones (scenarios.py parses them);
- `spec_keys`: the keys it adds to a runner's spec (matrix.spec writes them), and whether the spec carries the
  images and a model the runner loads;
- `stream`: the integer keys its records add (protocol.py checks them: "iteration" on every iteration,
  "measured" on measured ones only, "load" on loads) and `result`: its result record's keys, if it has one;
- `workers`: whether it runs a pool of workers (one load per worker, iterations in completion order);
  `frames`: iterations are a video's frames (a detections record per frame; the video may end early);
  `call_samples`: call_sample records instead of iterations; `spawn_samples`: spawn_sample records instead;
  `serves`: the runner is an HTTP server that the orchestrator loads with vegeta (orchestrator/serving.py): its
  latencies are the clients', its iterations the server's side of each request;
- `figures`: the name of its figures in summary.json (figures.py computes them) and `claims`: the article's
  metrics that are judged on its cells (claims.py);
- `call_metrics`: (metric, call) pairs that comparisons.py compares instead of latencies (the median ns per
  call of each process), `sample_metrics`: the same for spawn samples (metric, figure of each sample), and
  `throughput`: whether completed images (http: answered requests) per second is compared too.
Adding a scenario starts here; docs/adding.md lists the rest (the three runners, the fixtures, the docs).

This module imports nothing of the orchestrator, so every other module can read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_INT = (int,)
_NUM = (int, float)


@dataclass(frozen=True)
class ScenarioType:
    name: str
    config_keys: frozenset[str] = frozenset()
    spec_keys: tuple[str, ...] = ()
    images: bool = True  # the spec lists the config's images (video reads its video, call_overhead nothing)
    model: bool = True  # the runner loads the model (call_overhead does not)
    stream: dict[str, tuple[str, ...]] = field(default_factory=dict)
    result: dict[str, tuple[type, ...]] | None = None
    workers: bool = False
    frames: bool = False
    call_samples: bool = False
    spawn_samples: bool = False
    serves: bool = False
    figures: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()
    call_metrics: tuple[tuple[str, str], ...] = ()
    sample_metrics: tuple[tuple[str, str], ...] = ()
    throughput: bool = False


_POOL_RESULT = {"workers": _INT, "mode": (str,), "startup_ns": _INT, "measured_wall_ns": _INT, "completed": _INT}

SCENARIO_TYPES: dict[str, ScenarioType] = {t.name: t for t in (
    ScenarioType("single"),
    ScenarioType(
        "video", config_keys=frozenset({"video", "realtime"}), spec_keys=("video",), images=False,
        stream={"iteration": ("frame",)},
        result={"frames_read": _INT, "processed": _INT, "dropped": _INT, "source_fps": _NUM, "measured_wall_ns": _INT},
        frames=True, figures=("fps", "frames_read", "processed", "dropped"), claims=("fps",)),
    ScenarioType(
        "concurrency", config_keys=frozenset({"workers", "python_mode"}), spec_keys=("workers", "mode"),
        stream={"iteration": ("worker",), "load": ("worker",)}, result=_POOL_RESULT, workers=True,
        figures=("workers", "throughput_ips", "startup_ms"), claims=("throughput",), throughput=True),
    ScenarioType(
        "server", config_keys=frozenset({"workers", "python_mode", "rates", "p99_bound_ms", "seed"}),
        spec_keys=("workers", "mode", "rate", "arrivals_ns"),
        stream={"iteration": ("worker",), "measured": ("queue_ns", "latency_ns"), "load": ("worker",)},
        result={**_POOL_RESULT, "rate": _NUM}, workers=True,
        figures=("offered_rate", "achieved_rate", "queue_ms", "p99_within_bound")),
    ScenarioType(
        "batch", config_keys=frozenset({"batch"}), spec_keys=("batch",), stream={"iteration": ("batch",)},
        figures=("batch", "per_image_ms")),
    ScenarioType(
        "call_overhead", config_keys=frozenset({"calls_per_sample"}), spec_keys=("calls_per_sample",),
        images=False, model=False, call_samples=True,
        figures=("ns_per_call", "ns_per_call_empty", "ns_per_call_mat", "ns_per_loop"), claims=("ns_per_call",),
        call_metrics=(("ns_per_call", "opencv"), ("ns_per_call_empty", "empty"), ("ns_per_call_mat", "mat"))),
    ScenarioType(
        "spawn", config_keys=frozenset({"workers", "python_mode", "tasks_per_worker", "task_sleep_ms", "print"}),
        spec_keys=("workers", "mode", "tasks", "task_sleep_ns", "print"), images=False, model=False,
        spawn_samples=True, figures=("workers", "mode", "startup_ms", "rss_mb", "rss_added_mb", "tasks_per_s"),
        claims=("startup", "spawn_memory", "tasks_per_s"),
        sample_metrics=(("spawn_startup", "startup_ms"), ("spawn_memory", "rss_added_mb"),
                        ("tasks_per_s", "tasks_per_s"))),
    ScenarioType(
        "http", config_keys=frozenset({"workers", "python_mode", "queue", "max_body_mb", "rates", "clients",
                                       "duration_s", "request_timeout_s", "p99_bound_ms"}),
        spec_keys=("workers", "mode", "http"),
        stream={"iteration": ("worker",), "measured": ("queue_ns", "handler_ns"), "load": ("worker",)},
        result={"workers": _INT, "mode": (str,), "startup_ns": _INT, "served": _INT, "rejected": _INT},
        workers=True, serves=True,
        figures=("workers", "mode", "load", "offered_rate", "clients", "achieved_rps", "client_ms", "errors",
                 "server_ms", "http_layer_ms", "server_cpu_percent", "p99_within_bound"),
        claims=("requests_per_s",), throughput=True),
)}
TYPES = tuple(SCENARIO_TYPES)
# Python's concurrency mode is configurable (per scenario type); the native runners have one each
# (docs/protocol.md).
PYTHON_MODES = ("threads", "processes")
PYTHON_MODES_OF = {"spawn": ("threads", "asyncio")}
NATIVE_MODE = {"go": "goroutines", "cpp": "threads"}
ALL_PYTHON_MODES = ("threads", "processes", "asyncio")


def python_modes(scenario: str) -> tuple[str, ...]:
    return PYTHON_MODES_OF.get(scenario, PYTHON_MODES)


def scenario_type(name: str) -> ScenarioType:
    return SCENARIO_TYPES[name]


def claim_scenario(metric: str) -> str | None:
    """The scenario whose cells a claim's metric is judged on; None: any scenario with latencies."""
    return next((t.name for t in SCENARIO_TYPES.values() if metric in t.claims), None)
