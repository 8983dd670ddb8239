"""The experiment matrix: which cells a config asks for, the spec each runner gets, and the run order."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

from . import warmup
from .config import Config, Model, Runner
from .protocol import PROTOCOL_VERSION


@dataclass(frozen=True)
class Cell:
    id: str  # a file-system-safe, unique name for the cell's raw folder
    runner: Runner
    model: Model
    threads: int

    def axes(self) -> dict[str, Any]:
        return {"runner": self.runner.name, "model": self.model.name, "threads": self.threads}


def expand(config: Config) -> list[Cell]:
    """runner x model x threads, minus the `matrix.exclude` rules (a rule matches when all its axes match)."""
    cells = []
    for runner, model, threads in itertools.product(config.runners, config.models, config.threads):
        axes = {"runner": runner.name, "model": model.name, "threads": threads}
        if any(all(axes[k] == v for k, v in rule.items()) for rule in config.exclude):
            continue
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{runner.name}__{model.name}__t{threads}")
        cells.append(Cell(f"{len(cells):03d}-{slug}", runner, model, threads))
    return cells


def schedule(cells: list[Cell], repeats: int, order: str = "round-robin", seed: int = 1) -> list[tuple[Cell, int]]:
    """Every cell's k-th process runs before any cell's (k+1)-th (A B A B ..., never A A B B).

    Interleaving spreads slow drift of the machine (heat, background load) over all cells alike instead of
    charging it to whichever runner happens to run last. `random` shuffles the cells within each round with a
    seeded generator, so that no runner always runs right after the same other one.
    """
    rng = random.Random(seed)
    plan = []
    for repeat in range(repeats):
        round_ = list(cells)
        if order == "random":
            rng.shuffle(round_)
        plan += [(cell, repeat) for cell in round_]
    return plan


def threads_for(cell: Cell) -> int:
    """The OpenCV thread count the runner is asked for: the matrix's, unless the runner overrides it."""
    return cell.threads if cell.runner.threads is None else cell.runner.threads


def spec(config: Config, cell: Cell) -> dict[str, Any]:
    auto = config.scenario.warmup is None
    return {
        "protocol": PROTOCOL_VERSION,
        "scenario": config.scenario.type,
        "model": {"name": cell.model.name, "path": str(cell.model.path), "format": cell.model.format,
                  "input_size": cell.model.input_size},
        "images": [str(p) for p in config.images],
        "conf_threshold": config.conf_threshold,
        "nms_threshold": config.nms_threshold,
        "max_detections": config.max_detections,
        "warmup": warmup.AUTO_RUNNER_WARMUP if auto else config.scenario.warmup,
        "iterations": config.scenario.iterations + (warmup.AUTO_EXTRA if auto else 0),
        "threads": threads_for(cell),
        "backend": config.backend,
        "target": config.target,
    }
