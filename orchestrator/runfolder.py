"""The run folder: where each file of a run lives, and the one place that writes and reads them.

    <run>/config.yaml            the config as run (resolved: defaults filled in, paths absolute, the seed)
    <run>/machine.json           which machine ran it: its name (`--machine`) and hardware (orchestrator/machine.py)
    <run>/environment.json       the machine, the OS, the libraries, the git commit
    <run>/raw/cells.json         one entry per matrix cell (runner, model, threads, scenario variant)
    <run>/raw/processes.jsonl    one line per process, appended as each ends (status, exit code, machine load)
    <run>/raw/run.json           the run's state: processes planned and done, interrupted by which signal, the
                                 config's hash (what `run --resume` checks); rewritten as the run goes
    <run>/raw/<cell>/process-<round>.spec.json | .jsonl | .stderr.log | .samples.csv
    <run>/raw/<cell>/process-<round>.targets.txt | .requests.csv | .vegeta.log | .http-detections.json
                                 http only: vegeta's targets, its per-request results (`vegeta encode -to csv`),
                                 its log, and the server's answers to the parity pass (orchestrator/serving.py)
    <run>/summary.json | summary.csv | summary.md | report.html   derived: `orchestrator report` rebuilds them

Everything under raw/ is written once, as it is measured, and never rewritten; everything else is derived from
raw/ and config.yaml alone, so an old run re-renders on any machine. No file refers to another by an absolute
path: a run folder can be moved, copied into a merged report (`orchestrator merge`) or published as it is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import sampling
from .errors import UserError

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
    # What the read_* methods found damaged and skipped: the report names each (rundata.Run.problems).
    problems: list[str] = field(default_factory=list, compare=False, hash=False, repr=False)

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def machine(self) -> Path:
        return self.path / "machine.json"

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

    @property
    def state(self) -> Path:
        return self.raw / "run.json"

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

    def write_machine(self, record: dict[str, Any]) -> None:
        self.machine.write_text(json.dumps(record, indent=2), encoding="utf-8")

    def read_machine(self) -> dict[str, Any]:
        """machine.json; {} for a run written before machines were named, or a damaged file."""
        return _json_object(self.machine)

    def write_environment(self, environment: dict[str, Any]) -> None:
        self.environment.write_text(json.dumps(environment, indent=2), encoding="utf-8")

    def write_cells(self, cells: list[dict[str, Any]]) -> None:
        self.cells.write_text(json.dumps(cells, indent=2), encoding="utf-8")

    def write_spec(self, files: ProcessFiles, spec: dict[str, Any]) -> None:
        files.spec.parent.mkdir(parents=True, exist_ok=True)
        files.spec.write_text(json.dumps(spec, indent=2), encoding="utf-8")

    def write_state(self, state: dict[str, Any]) -> None:
        """raw/run.json, replaced whole (a temporary file renamed) so that a reader never sees half of it."""
        tmp = self.state.with_name(".run.json.tmp")
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        os.replace(tmp, self.state)

    def read_state(self) -> dict[str, Any]:
        """raw/run.json; {} for a run folder written before it existed, or one whose state file is damaged."""
        return _json_object(self.state)

    def repair_processes(self) -> list[dict[str, Any]]:
        """Before a resume: the finished processes, with a line cut short by a crash moved aside to
        raw/processes.jsonl.partial (that process runs again), so that appending goes on from a whole line."""
        if not self.processes.is_file():
            return []
        lines = self.processes.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        good, bad = [], []
        for line in lines:
            try:
                record = json.loads(line)
                ok = line.endswith("\n") and isinstance(record, dict) and isinstance(record.get("order"), int)
            except ValueError:
                ok = False
            (good if ok else bad).append(line)
        if bad:
            with open(self.processes.with_name("processes.jsonl.partial"), "a", encoding="utf-8") as f:
                f.writelines(line if line.endswith("\n") else line + "\n" for line in bad)
            tmp = self.processes.with_name(".processes.jsonl.tmp")
            tmp.write_text("".join(good), encoding="utf-8")
            os.replace(tmp, self.processes)
        return [json.loads(line) for line in good]

    def append_process(self, meta: dict[str, Any]) -> None:
        with open(self.processes, "a", encoding="utf-8") as f:
            f.write(json.dumps(meta) + "\n")

    # Reading: a damaged file is named, with what to do, and never a traceback. What the report can go on
    # without (a cut line of processes.jsonl, environment.json, a bad samples row) is skipped and added to
    # `problems`; what it cannot (cells.json) is a UserError.

    def read_environment(self) -> dict[str, Any]:
        if not self.environment.is_file():
            return {}
        try:
            data = json.loads(self.environment.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.problems.append(f"{self.environment} is damaged ({_why(exc)}): the report says nothing of the "
                                 "machine; restore the file from a copy of the run to have it back")
            return {}
        if not isinstance(data, dict):
            self.problems.append(f"{self.environment} is not a JSON object: the report says nothing of the machine")
            return {}
        return data

    def read_cells(self) -> list[dict[str, Any]]:
        fix = "restore it from a copy of the run, or run the config again"
        try:
            data = json.loads(self.cells.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{self.cells} is missing: {self.path} is not a complete run folder; {fix}") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"{self.cells} is damaged ({_why(exc)}); {fix}") from None
        if not isinstance(data, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str)
                                                 and {"runner", "model", "threads"} <= c.keys() for c in data):
            raise UserError(f"{self.cells} is damaged (not a list of cells with id, runner, model and threads); "
                            f"{fix}")
        return data

    def require_config(self) -> Path:
        """config.yaml's path, once it is known to be there (it is parsed by config.load_resolved)."""
        if not self.config.is_file():
            raise UserError(f"{self.config} is missing: the run folder cannot be read without the config it ran; "
                            "restore it from a copy of the run (or write the config you ran there), then rerun "
                            f"`python -m orchestrator report {self.path}`")
        return self.config

    @staticmethod
    def read_http_detections(files: ProcessFiles) -> dict[str, dict[str, Any]]:
        """The parity pass's answers of one server process (none if it never got that far)."""
        return _json_object(files.http_detections)

    def read_processes(self) -> list[dict[str, Any]]:
        """One entry per process line; a line that is cut (a run killed while writing it) or not a process
        record is skipped and named in `problems`."""
        if not self.processes.is_file():
            return []
        try:
            lines = self.processes.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise UserError(f"cannot read {self.processes} ({_why(exc)})") from None
        out = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                meta = json.loads(line)
            except ValueError:
                meta = None
            if not isinstance(meta, dict) or not isinstance(meta.get("cell"), str) \
                    or not isinstance(meta.get("repeat"), int):
                cut = "is cut short (the run stopped while writing it)" if number == len(lines) else \
                    "is not a process record"
                self.problems.append(f"{self.processes} line {number} {cut}: that process is left out")
                continue
            out.append(meta)
        return out

def _json_object(path: Path) -> dict[str, Any]:
    """A JSON object file; {} where it is missing, damaged or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_samples(path: Path, samples: list[sampling.Sample]) -> None:
    rows = [SAMPLES_HEADER] + [
        f"{s.t_s},{s.rss_bytes},{s.cpu_percent},{s.threads},{'' if s.pss_bytes is None else s.pss_bytes}"
        for s in samples]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def read_samples(path: Path, problems: list[str] | None = None) -> sampling.SampleTable:
    """The samples of one process, as columns; runs written before PSS was sampled have four columns. A row
    that does not parse is skipped and, with `problems`, named there."""
    columns: tuple[list[float], list[int], list[float], list[int], list[int]] = ([], [], [], [], [])
    if not path.is_file():
        return _sample_table(columns)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[1:]
    except OSError as exc:
        if problems is not None:
            problems.append(f"cannot read {path} ({_why(exc)}): that process has no memory samples")
        return _sample_table(columns)
    bad = []
    times, rss_bytes, cpus, threads, psses = columns
    for number, line in enumerate(lines, 2):
        try:
            t, rss, cpu, count, *rest = line.split(",")
            row = float(t), int(rss), float(cpu), int(count), int(rest[0]) if rest and rest[0] else -1
        except ValueError:
            bad.append(number)
            continue
        times.append(row[0])
        rss_bytes.append(row[1])
        cpus.append(row[2])
        threads.append(row[3])
        psses.append(row[4])
    if bad and problems is not None:
        problems.append(f"{path}: {len(bad)} damaged row(s) skipped (line {', '.join(map(str, bad[:5]))}"
                        f"{' ...' if len(bad) > 5 else ''})")
    return _sample_table(columns)


def _sample_table(columns: tuple[list[float], list[int], list[float], list[int], list[int]]
                  ) -> sampling.SampleTable:
    types = (np.float64, np.int64, np.float64, np.int64, np.int64)
    return sampling.SampleTable(*(np.array(values, dtype=kind) for values, kind in zip(columns, types)))


def _why(exc: BaseException) -> str:
    """An exception in a few words: the OS's reason, or the parser's."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
