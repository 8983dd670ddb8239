"""The run folder: where each file of a run lives, and the one place that writes and reads them.

    <run>/config.yaml            the config as run (resolved: defaults filled in, paths absolute, the seed)
    <run>/environment.json       the machine, the OS, the libraries, the git commit
    <run>/raw/cells.json         one entry per matrix cell (runner, model, threads, scenario variant)
    <run>/raw/processes.jsonl    one line per process, appended as each ends (status, exit code, machine load)
    <run>/raw/<cell>/process-<round>.spec.json | .jsonl | .stderr.log | .samples.csv
    <run>/raw/<cell>/process-<round>.targets.txt | .requests.csv | .vegeta.log | .http-detections.json
                                 http only: vegeta's targets, its per-request results (`vegeta encode -to csv`),
                                 its log, and the server's answers to the parity pass (orchestrator/serving.py)
    <run>/summary.json | summary.csv | summary.md | report.html   derived: `orchestrator report` rebuilds them

Everything under raw/ is written once, as it is measured, and never rewritten; everything else is derived from
raw/ and config.yaml alone, so an old run re-renders on any machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import sampling

SAMPLES_HEADER = "t_s,rss_bytes,cpu_percent,threads,pss_bytes"


@dataclass(frozen=True)
class ProcessFiles:
    """The files of one runner process: four, and four more for a server under load."""

    spec: Path
    jsonl: Path
    stderr: Path
    samples: Path

    def _sibling(self, suffix: str) -> Path:
        return self.spec.with_name(self.spec.name.removesuffix(".spec.json") + suffix)

    @property
    def targets(self) -> Path:
        return self._sibling(".targets.txt")

    @property
    def requests(self) -> Path:
        return self._sibling(".requests.csv")

    @property
    def vegeta_log(self) -> Path:
        return self._sibling(".vegeta.log")

    @property
    def http_detections(self) -> Path:
        return self._sibling(".http-detections.json")


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def environment(self) -> Path:
        return self.path / "environment.json"

    @property
    def raw(self) -> Path:
        return self.path / "raw"

    @property
    def cells(self) -> Path:
        return self.raw / "cells.json"

    @property
    def processes(self) -> Path:
        return self.raw / "processes.jsonl"

    def derived(self, name: str) -> Path:
        """summary.json, summary.csv, summary.md or report.html."""
        return self.path / name

    def cell_dir(self, cell_id: str) -> Path:
        return self.raw / cell_id

    def process(self, cell_id: str, repeat: int) -> ProcessFiles:
        stem = self.cell_dir(cell_id) / f"process-{repeat}"
        return ProcessFiles(Path(f"{stem}.spec.json"), Path(f"{stem}.jsonl"), Path(f"{stem}.stderr.log"),
                            Path(f"{stem}.samples.csv"))

    def exists(self) -> bool:
        return self.cells.is_file()

    # Writing, in the order a run does it.

    def write_config(self, resolved: dict[str, Any]) -> None:
        self.raw.mkdir(parents=True, exist_ok=True)
        self.config.write_text(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def write_environment(self, environment: dict[str, Any]) -> None:
        self.environment.write_text(json.dumps(environment, indent=2), encoding="utf-8")

    def write_cells(self, cells: list[dict[str, Any]]) -> None:
        self.cells.write_text(json.dumps(cells, indent=2), encoding="utf-8")

    def write_spec(self, files: ProcessFiles, spec: dict[str, Any]) -> None:
        files.spec.parent.mkdir(parents=True, exist_ok=True)
        files.spec.write_text(json.dumps(spec, indent=2), encoding="utf-8")

    def append_process(self, meta: dict[str, Any]) -> None:
        with open(self.processes, "a", encoding="utf-8") as f:
            f.write(json.dumps(meta) + "\n")

    # Reading.

    def read_environment(self) -> dict[str, Any]:
        return json.loads(self.environment.read_text(encoding="utf-8")) if self.environment.is_file() else {}

    def read_cells(self) -> list[dict[str, Any]]:
        return json.loads(self.cells.read_text(encoding="utf-8"))

    @staticmethod
    def read_http_detections(files: ProcessFiles) -> dict[str, dict[str, Any]]:
        """The parity pass's answers of one server process (none if it never got that far)."""
        if not files.http_detections.is_file():
            return {}
        try:
            data = json.loads(files.http_detections.read_text(encoding="utf-8"))
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def read_processes(self) -> list[dict[str, Any]]:
        if not self.processes.is_file():
            return []
        return [json.loads(line) for line in self.processes.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_samples(path: Path, samples: list[sampling.Sample]) -> None:
    rows = [SAMPLES_HEADER] + [
        f"{s.t_s},{s.rss_bytes},{s.cpu_percent},{s.threads},{'' if s.pss_bytes is None else s.pss_bytes}"
        for s in samples]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def read_samples(path: Path) -> list[sampling.Sample]:
    """The samples of one process; runs written before PSS was sampled have four columns."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        t, rss, cpu, threads, *rest = line.split(",")
        pss = int(rest[0]) if rest and rest[0] else None
        out.append(sampling.Sample(float(t), int(rss), float(cpu), int(threads), pss))
    return out
