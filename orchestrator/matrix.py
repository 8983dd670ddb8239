"""The experiment matrix: which cells a config asks for, the spec each runner gets, and the run order."""

from __future__ import annotations

import itertools
import os
import random
import re
from dataclasses import dataclass, field
from typing import Any

from . import engines, warmup
from .config import POOL_THREADS, Config, Model, Runner
from .kinds import KINDS
from .protocol import PROTOCOL_VERSION
from .registry import NATIVE_MODE, python_modes, scenario_type
from .scenarios import Scenario, label


@dataclass(frozen=True)
class Cell:
    id: str  # a file-system-safe, unique name for the cell's raw folder
    runner: Runner
    model: Model | None  # None for call_overhead, which loads no model
    threads: int
    scenario: Scenario
    variant: dict[str, Any] = field(default_factory=dict)  # workers and rate of this cell
    engine: str = "opencv"  # what runs the inference (orchestrator/engines.py)
    provider: str = ""  # onnxruntime's provider; "" for opencv
    threads_policy: str = ""  # "pool" when `threads: pool` chose the count (pool_threads)

    @property
    def label(self) -> str:
        """The scenario variant and, for an engine other than OpenCV, its tag: cells of one label are compared."""
        return " ".join(p for p in (label(self.scenario, self.variant), engines.tag(self.engine, self.provider))
                        if p)

    @property
    def model_name(self) -> str:
        return self.model.name if self.model else "-"

    def axes(self) -> dict[str, Any]:
        return {"runner": self.runner.name, "model": self.model_name, "threads": self.threads,
                "scenario": self.scenario.name, "engine": self.engine}


def expand(config: Config) -> list[Cell]:
    """scenario (x its variants) x runner x engine x model x threads, minus the `matrix.exclude` rules.

    A rule matches a cell when all its axes match. Batch scenarios take the models exported with their batch,
    the others the batch-1 models; call_overhead loads no model, so it has one cell per runner and thread count,
    on OpenCV (it times calls into OpenCV, whatever the engine). A runner with its own `engine` list runs those.
    """
    cells = []
    for scenario in config.scenarios:
        for variant, runner, model, asked in itertools.product(scenario.variants(), config.runners,
                                                               _models_for(scenario, config), config.threads):
            threads = pool_threads(variant.get("workers", 1)) if asked == POOL_THREADS else asked
            for engine, provider in _engines_for(scenario, runner, config):
                policy = "pool" if asked == POOL_THREADS else ""
                cell = Cell("", runner, model, threads, scenario, variant, engine, provider, policy)
                if any(all(cell.axes()[k] == v for k, v in rule.items()) for rule in config.exclude):
                    continue
                slug = re.sub(r"[^A-Za-z0-9_.-]+", "_",
                              f"{cell.label}__{runner.name}__{cell.model_name}__t{threads}")
                cells.append(Cell(f"{len(cells):03d}-{slug}", runner, model, threads, scenario, variant, engine,
                                  provider, policy))
    return cells


def pool_threads(networks: int, cpus: int | None = None) -> int:
    """`threads: pool`, one policy for every language and mode: every CPU for a single network, one thread per
    network when there are several. OpenCV's parallel_for_ keeps one process-wide "nested" flag, so K networks x T
    threads in one process use about K + T - 1 threads but K processes use K x T: with T = 1 both use K, and the
    threads and processes modes (and Go, Python and C++) do the same work (docs/methodology.md, "Threads")."""
    return (cpus or os.cpu_count() or 1) if networks <= 1 else 1


def mode_of(cell: Cell) -> str:
    """The concurrency mode a runner is asked for: the native runners' own, a Python runner's `mode` where the
    scenario has it, else the scenario's python_mode."""
    kind, s = cell.runner.kind, cell.scenario
    if kind in NATIVE_MODE:
        return NATIVE_MODE[kind]
    mode = cell.runner.mode
    return mode if mode in python_modes(s.type) else s.python_mode


def _engines_for(scenario: Scenario, runner: Runner, config: Config) -> list[tuple[str, str]]:
    """(engine, provider) of each cell: OpenCV once, ONNX Runtime once per provider."""
    if not scenario_type(scenario.type).model:
        return [("opencv", "")]
    names = runner.engines if runner.engines is not None else config.engines
    return [(e, p) for e in names for p in (config.onnxruntime.providers if e == "onnxruntime" else ("",))]


def _models_for(scenario: Scenario, config: Config) -> list[Model | None]:
    if not scenario_type(scenario.type).model:
        return [None]
    batch = KINDS[scenario.type].model_batch(scenario)
    return [m for m in config.models if m.batch == batch]


def schedule(cells: list[Cell], repeats: dict[str, int], order: str = "random", seed: int = 1
             ) -> list[tuple[Cell, int]]:
    """Rounds: every cell's k-th process runs in round k, before any cell's (k+1)-th (A B A B ..., never A A B B).

    Interleaving spreads slow drift of the machine (heat, background load) over all cells alike, and pairs the
    processes of two compared cells by round (orchestrator/statistics.py). `random` orders each round by a
    balanced Latin square (Williams design) over the round's cells, with the cells assigned to its symbols and
    its rows taken in a seeded random order: over every n rounds (2n for an odd n) each cell runs once in each
    position and right after each other cell equally often, so that a position effect (on a 2-core machine the
    first process of a round measured up to 10 % slower) averages out instead of becoming a fixed bias of one
    runner. `round-robin` keeps the config's order. `repeats` maps a scenario name to its count.
    """
    rng = random.Random(seed)
    plan: list[tuple[Cell, int]] = []
    squares: dict[tuple[str, ...], tuple[list[Cell], list[list[int]]]] = {}
    for repeat in range(max(repeats.values(), default=0)):
        round_ = [c for c in cells if repeat < repeats[c.scenario.name]]
        if order == "random":
            key = tuple(c.id for c in round_)
            if key not in squares:
                symbols = round_[:]
                rng.shuffle(symbols)
                rows = williams(len(round_))
                rng.shuffle(rows)
                squares[key] = (symbols, rows)
            symbols, rows = squares[key]
            round_ = [symbols[s] for s in rows[repeat % len(rows)]]
        plan += [(cell, repeat) for cell in round_]
    return plan


def williams(n: int) -> list[list[int]]:
    """A Williams design: rows of a Latin square in which every symbol follows every other equally often
    (n rows for even n; for odd n the square and its mirror, 2n rows)."""
    if n <= 1:
        return [[0]] * max(n, 1) if n else [[]]
    first = [0]
    for k in range(1, n):  # 0, 1, n-1, 2, n-2, ...
        first.append((k + 1) // 2 if k % 2 else n - k // 2)
    rows = [[(x + r) % n for x in first] for r in range(n)]
    return rows if n % 2 == 0 else rows + [row[::-1] for row in rows]


def threads_for(cell: Cell) -> int:
    """The OpenCV thread count the runner is asked for: the matrix's, unless the runner overrides it."""
    return cell.threads if cell.runner.threads is None else cell.runner.threads


def arrivals_ns(rate: float, count: int, seed: int) -> list[int]:
    """Open-loop Poisson arrivals: exponential inter-arrival times of mean 1/rate, as MLPerf's Server scenario.

    The same seed gives every runner the very same schedule; the first request arrives at 0.
    """
    rng = random.Random(seed)
    t, out = 0.0, []
    for _ in range(count):
        out.append(round(t * 1e9))
        t += rng.expovariate(rate)
    return out


def spec(config: Config, cell: Cell, repeat: int = 0) -> dict[str, Any]:
    s = cell.scenario
    auto = s.warmup is None
    out: dict[str, Any] = {
        "protocol": PROTOCOL_VERSION,
        "scenario": s.type,
        "model": _model_spec(cell.model),
        "images": [str(p) for p in config.images] if scenario_type(s.type).images else [],
        "conf_threshold": config.conf_threshold,
        "nms_threshold": config.nms_threshold,
        "max_detections": config.max_detections,
        "warmup": warmup.AUTO_RUNNER_WARMUP if auto else s.warmup,
        "iterations": s.iterations + (warmup.AUTO_EXTRA if auto else 0),
        "threads": threads_for(cell),
        "backend": config.backend,
        "target": config.target,
    }
    if cell.engine == "onnxruntime":
        out["engine"] = config.onnxruntime.spec(cell.provider)
    out.update(KINDS[s.type].spec(cell, out, repeat))  # the keys its kind adds (orchestrator/kinds/)
    return out


def _model_spec(model: Model | None) -> dict[str, Any]:
    if model is None:  # call_overhead: the protocol keeps the key; no runner loads it
        return {"name": "-", "path": "-", "format": "onnx", "input_size": 32}
    return {"name": model.name, "path": str(model.path), "format": model.format, "input_size": model.input_size}
