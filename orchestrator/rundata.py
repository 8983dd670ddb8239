"""Reading a run folder back: the config as run, the environment, and each cell's raw records and samples."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import execution, warmup
from .protocol import Stream, read_file


@dataclass
class CellData:
    """One cell's raw data gathered over its processes."""

    info: dict[str, Any]
    auto_warmup: bool = False
    processes: list[dict[str, Any]] = field(default_factory=list)  # meta of each process
    streams: list[Stream] = field(default_factory=list)
    samples: list[list[Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple:
        """What two runners' cells must share to be compared: scenario variant, model, thread count."""
        return (self.info.get("label", "single"), self.info["model"], self.info["threads"])

    def warmup_detected(self) -> list[int | None]:
        """With `warmup: auto`, per process: how many iterations after the cold one were still warming up."""
        return [warmup.steady_start([r["total_ns"] for r in s.measured()]) for s in self.streams]

    def measured(self) -> list[list[dict[str, Any]]]:
        """Measured iteration records per process (with `warmup: auto`, from the detected steady state on)."""
        if not self.auto_warmup:
            return [s.measured() for s in self.streams]
        return [s.measured()[k or 0:] for s, k in zip(self.streams, self.warmup_detected())]

    def measured_ms(self) -> list[float]:
        """Latency per measured iteration: arrival to result where the scenario has arrivals (server), else the
        four phases."""
        return [r.get("latency_ns", r["total_ns"]) / 1e6 for records in self.measured() for r in records]

    def phase_ms(self, phase: str) -> list[float]:
        return [r["phases_ns"][phase] / 1e6 for records in self.measured() for r in records]

    def call_ns(self, call: str) -> list[float]:
        """call_overhead: nanoseconds per call, one value per measured sample."""
        return [r["total_ns"] / r["calls"] for s in self.streams for r in s.call_samples
                if r["call"] == call and not r["warmup"] and r["calls"] > 0]

    def results(self) -> list[dict[str, Any]]:
        return [s.result for s in self.streams if s.result]

    def hello(self) -> dict[str, Any] | None:
        return next((s.hello for s in self.streams if s.hello), None)

    def detections(self) -> dict[str, dict[str, Any]]:
        return next((s.detections for s in self.streams if s.detections), {})


@dataclass
class Run:
    config: dict[str, Any]
    environment: dict[str, Any]
    cells: list[CellData]
    processes: list[dict[str, Any]]

    def scenario(self, cell: CellData) -> dict[str, Any]:
        name = cell.info.get("scenario_name", "single")
        return next((s for s in self.config.get("scenarios", []) if s["name"] == name), {})


def load(run_dir: Path) -> Run:
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    env_path = run_dir / "environment.json"
    environment = json.loads(env_path.read_text(encoding="utf-8")) if env_path.is_file() else {}
    raw = run_dir / "raw"
    auto = {s["name"] for s in config.get("scenarios", []) if s.get("warmup") == "auto"}
    cells = {c["id"]: CellData(c, c.get("scenario_name") in auto)
             for c in json.loads((raw / "cells.json").read_text(encoding="utf-8"))}
    processes = []
    meta_path = raw / "processes.jsonl"
    for line in meta_path.read_text(encoding="utf-8").splitlines() if meta_path.is_file() else []:
        meta = json.loads(line)
        processes.append(meta)
        cell = cells[meta["cell"]]
        paths = execution.process_paths(raw / meta["cell"], meta["repeat"])
        cell.processes.append(meta)
        cell.streams.append(read_file(str(paths["jsonl"])) if paths["jsonl"].is_file() else Stream())
        cell.samples.append(execution.read_samples(paths["samples.csv"]))
    return Run(config, environment, list(cells.values()), processes)
