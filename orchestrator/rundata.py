"""Reading a run folder back: the config as run, the environment, and each cell's raw records and samples."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import hostos, sampling, statistics, warmup
from .columns import IterationTable
from .config import Config, load_resolved
from .errors import UserError
from .load import Requests, read_requests
from .protocol import Stream, read_file
from .registry import scenario_type
from .runfolder import ProcessFiles, RunFolder, read_samples
from .scenarios import Scenario


@dataclass
class CellData:
    """One cell's raw data gathered over its processes."""

    info: dict[str, Any]
    auto_warmup: bool = False
    processes: list[dict[str, Any]] = field(default_factory=list)  # meta of each process
    streams: list[Stream] = field(default_factory=list)
    samples: list[sampling.SampleTable] = field(default_factory=list)  # each process's, as columns
    requests: list[Requests] = field(default_factory=list)  # http: each process's requests, as vegeta saw them
    answers: list[dict[str, dict[str, Any]]] = field(default_factory=list)  # http: each process's parity pass
    summary: dict[str, Any] = field(default_factory=dict)  # its entry of summary.json, once summary.py made it
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)  # filled on first use, after loading

    @property
    def key(self) -> tuple:
        """What two runners' cells must share to be compared: scenario variant, model, thread count."""
        return (self.info.get("label", "single"), self.info["model"], self.info["threads"])

    def warmup_detected(self) -> list[int | None]:
        """Per process: how many measured iterations were still warming up (with `warmup: auto` they are
        dropped; with a fixed warm-up they are kept, and the report warns that the stream was still settling)."""
        if "warmup" not in self._cache:
            self._cache["warmup"] = [warmup.steady_start(s.measured().latency_ns()) for s in self.streams]
        return self._cache["warmup"]

    def measured(self) -> list[IterationTable]:
        """Measured iterations per process (with `warmup: auto`, from the detected steady state on)."""
        if "measured" not in self._cache:
            tables = [s.measured() for s in self.streams]
            if self.auto_warmup:
                tables = [t[k or 0:] for t, k in zip(tables, self.warmup_detected())]
            self._cache["measured"] = tables
        return self._cache["measured"]

    def _pooled(self, value: Callable[[IterationTable], np.ndarray], completed_only: bool = False) -> np.ndarray:
        parts = [value(t) for meta, t in zip(self.processes, self.measured())
                 if len(t) and (not completed_only or meta.get("status") == "ok")]
        return np.concatenate(parts) if parts else np.zeros(0)

    @property
    def serves(self) -> bool:
        """An http cell: its latencies are the clients' (vegeta's), its iterations the server's side."""
        return scenario_type(self.info.get("scenario", "single")).serves

    def _client_ms(self, completed_only: bool) -> np.ndarray:
        parts = [r.ok_latency_ns() / 1e6 for meta, r in zip(self.processes, self.requests)
                 if len(r) and (not completed_only or meta.get("status") == "ok")]
        return np.concatenate(parts) if parts else np.zeros(0)

    def measured_ms(self) -> np.ndarray:
        """Latency per measured iteration: arrival to result where the scenario has arrivals (server), else the
        four phases; http: each answered request as its client waited for it (queueing and HTTP included)."""
        if "measured_ms" not in self._cache:
            self._cache["measured_ms"] = self._client_ms(False) if self.serves else \
                self._pooled(lambda t: t.latency_ns() / 1e6)
        return self._cache["measured_ms"]

    def completed_ms(self) -> np.ndarray:
        """Latency per measured iteration of the processes that completed (status ok): what verdicts use."""
        if self.serves:
            return self._client_ms(True)
        return self._pooled(lambda t: t.latency_ns() / 1e6, completed_only=True)

    def phase_ms(self, phase: str) -> np.ndarray:
        return self._pooled(lambda t: t[phase] / 1e6)

    def call_ns(self, call: str) -> list[float]:
        """call_overhead: nanoseconds per call, one value per measured sample."""
        return [v for s in self.streams for v in _ns_per_call(s, call)]

    def per_process(self, value: Callable[[IterationTable], float | None]) -> dict[int, float]:
        """round (repeat) -> value(measured iterations of that process), for the processes that completed and
        measured something: the unit that every comparison works on."""
        out = {}
        for meta, table in zip(self.processes, self.measured()):
            v = value(table) if meta.get("status") == "ok" and len(table) else None
            if v is not None:
                out[meta["repeat"]] = v
        return out

    def process_medians(self, phase: str | None = None) -> dict[int, float]:
        """round -> median latency (ms) of that process (http: its clients'), or of one phase."""
        if self.serves and phase is None:
            return {m["repeat"]: float(np.median(r.ok_latency_ns())) / 1e6
                    for m, r in zip(self.processes, self.requests) if m.get("status") == "ok" and r.ok.any()}
        pick = (lambda t: t.latency_ns()) if phase is None else (lambda t: t[phase])
        return self.per_process(lambda t: float(np.median(pick(t))) / 1e6)

    def process_call_medians(self, call: str) -> dict[int, float]:
        """call_overhead: round -> median ns per call of that process."""
        out = {}
        for meta, stream in zip(self.processes, self.streams):
            values = _ns_per_call(stream, call)
            if meta.get("status") == "ok" and values:
                out[meta["repeat"]] = statistics.median(values)
        return out

    def process_memory(self) -> dict[int, dict[str, float | None]]:
        """round -> that process's memory in MiB: peak RSS (the larger of the runner's own peak and the sampled
        one, since sampling can miss a short spike), peak PSS, and both at hello (the runtime's base)."""
        out: dict[int, dict[str, float | None]] = {}
        for meta, stream, samples in zip(self.processes, self.streams, self.samples):
            peak = max(sampling.peak_rss(samples), stream.end["peak_rss_bytes"] if stream.end else 0)
            if meta.get("status") != "ok" or not peak:
                continue
            base = meta.get("memory_base") or {}
            own_pss = stream.end.get("pss_bytes") if stream.end else None  # the runner's own, after timing
            pss = max((v for v in (sampling.peak_pss(samples), own_pss) if v), default=None)
            out[meta["repeat"]] = {"peak_rss": peak / MIB, "peak_pss": pss / MIB if pss else None,
                                   "base_rss": _mib(base.get("rss_bytes")), "base_pss": _mib(base.get("pss_bytes"))}
        return out

    def process_results(self) -> dict[int, dict[str, Any]]:
        """round -> the scenario's result record of that process (video, concurrency, server)."""
        return {m["repeat"]: s.result for m, s in zip(self.processes, self.streams)
                if m.get("status") == "ok" and s.result}

    def process_throughput(self) -> dict[int, float]:
        """A pool's round -> completed images per second of its measured phase (from the result record); http:
        answered requests per second, as vegeta received them."""
        if self.serves:
            rps = {m["repeat"]: r.achieved_rps() for m, r in zip(self.processes, self.requests)
                   if m.get("status") == "ok"}
            return {k: v for k, v in rps.items() if v}
        return {k: r["completed"] / (r["measured_wall_ns"] / 1e9) for k, r in self.process_results().items()
                if r.get("measured_wall_ns", 0) > 0 and r.get("completed", 0) > 0}

    def process_fps(self) -> dict[int, float]:
        """video: round -> frames per second of the measured frames (the end record says how many warmed up)."""
        out = {}
        for m, s in zip(self.processes, self.streams):
            r, end = s.result, s.end
            if m.get("status") == "ok" and r and end and r["measured_wall_ns"] > 0 and r["processed"] > end["warmup"]:
                out[m["repeat"]] = (r["processed"] - end["warmup"]) / (r["measured_wall_ns"] / 1e9)
        return out

    def busy_rounds(self) -> dict[int, dict[str, Any]]:
        """round -> the machine-load figure of each process that ran beside other work (orchestrator/quiet.py)."""
        return {m["repeat"]: m["machine"] for m in self.processes if (m.get("machine") or {}).get("busy")}

    def results(self) -> list[dict[str, Any]]:
        return [s.result for s in self.streams if s.result]

    def hello(self) -> dict[str, Any] | None:
        return next((s.hello for s in self.streams if s.hello), None)

    def detections(self) -> dict[str, dict[str, Any]]:
        """Per image, the detections the runner reported (http: answered over HTTP in the parity pass)."""
        if self.serves:
            return next((a for a in self.answers if a), {})
        return next((s.detections for s in self.streams if s.detections), {})

    def process_spawn(self, figure: str) -> dict[int, float]:
        """spawn: round -> that process's value of `figure`: for start-up and tasks per second the median over
        its measured samples; for memory (rss_mb, rss_added_mb) its first sample's, the cold spawn, because a
        runtime keeps what its first N workers took (Go its goroutine stacks, CPython its freed frames) and
        later samples measure that reuse, not what N workers cost (docs/methodology.md, "Spawning workers")."""
        out = {}
        for meta, stream in zip(self.processes, self.streams):
            samples = stream.spawn_samples
            if figure in COLD_SPAWN_FIGURES:
                samples = [r for r in samples[:1] if r["index"] == 0]
            else:
                samples = [r for r in samples if not r["warmup"]]
            values = [spawn_figure(r, figure) for r in samples]
            if meta.get("status") == "ok" and values:
                out[meta["repeat"]] = statistics.median(values)
        return out


MIB = 1024 * 1024


def matched(cells: list[CellData], a: str, b: str) -> list[tuple[CellData, CellData]]:
    """The cells of runner a, each with runner b's cell of the same scenario variant, model and thread count:
    the pairs every comparison (parity, verdicts, native overhead) is made on."""
    of_b = {c.key: c for c in cells if c.info["runner"] == b}
    return [(c, of_b[c.key]) for c in cells if c.info["runner"] == a and c.key in of_b]


COLD_SPAWN_FIGURES = ("rss_mb", "rss_added_mb")


def spawn_figure(sample: dict[str, Any], figure: str) -> float:
    """One spawn sample's figure: start-up in ms, memory in MiB (with the workers, or added by them), tasks/s."""
    if figure == "startup_ms":
        return sample["startup_ns"] / 1e6
    if figure == "rss_mb":
        return sample["rss_bytes"] / MIB
    if figure == "rss_added_mb":
        return (sample["rss_bytes"] - sample["rss_before_bytes"]) / MIB
    assert figure == "tasks_per_s", figure
    return sample["tasks"] / (sample["tasks_ns"] / 1e9) if sample["tasks_ns"] > 0 else 0.0


def _ns_per_call(stream: Stream, call: str) -> list[float]:
    """call_overhead: ns per call of each measured sample of `call` in one process."""
    return [r["total_ns"] / r["calls"] for r in stream.call_samples
            if r["call"] == call and not r["warmup"] and r["calls"] > 0]


def _mib(value: int | None) -> float | None:
    return value / MIB if value else None


@dataclass
class Run:
    config: Config  # config.yaml through the schema of every config: one set of defaults
    environment: dict[str, Any]
    cells: list[CellData]
    processes: list[dict[str, Any]]
    path: Path
    problems: list[str] = field(default_factory=list)  # what was found damaged when the folder was read back

    def scenario(self, cell: CellData) -> Scenario:
        """The cell's scenario; by its type when the name is not in config.yaml (a folder edited by hand)."""
        name, kind = cell.info.get("scenario_name"), cell.info.get("scenario", "single")
        return next((s for s in self.config.scenarios if s.name == name), None) or \
            next((s for s in self.config.scenarios if s.type == kind), self.config.scenarios[0])


def load(run_dir: Path) -> Run:
    """Everything a run folder holds, read once: the report, the exports and the claims work on this.

    Each stream is re-checked as it is read: a process recorded as ok whose stream is now damaged (cut short,
    garbage, no end record, nothing measured) counts as failed, with the reason, and is named in `problems`."""
    folder = RunFolder(run_dir)
    config = _config(folder)
    auto = {s.name for s in config.scenarios if s.warmup is None}
    cells = {c["id"]: CellData(c, c.get("scenario_name") in auto) for c in folder.read_cells()}
    processes = []
    for meta in folder.read_processes():
        if meta["cell"] in cells:
            processes.append(meta)
        else:
            folder.problems.append(f"{folder.processes}: a process of cell {meta['cell']!r}, which "
                                   f"{folder.cells} does not have: left out")
    files = [folder.process(meta["cell"], meta["repeat"]) for meta in processes]
    for i, (meta, f, stream) in enumerate(zip(processes, files, _streams(files))):
        damage = _damage(meta, f, stream)
        if damage:
            meta = processes[i] = {**meta, "status": "failed", "error": damage}
            folder.problems.append(f"cell {meta['cell']} round {meta['repeat']} was ok when it ran, but {damage}: "
                                   "it counts as failed")
        cell = cells[meta["cell"]]
        cell.processes.append(meta)
        cell.streams.append(stream)
        cell.samples.append(read_samples(f.samples, folder.problems))
        if cell.serves:
            answers = RunFolder.read_http_detections(f)
            cell.answers.append(answers)
            cell.requests.append(read_requests(f.requests, answers or None))
    environment = folder.read_environment()
    return Run(config, environment, list(cells.values()), processes, run_dir, folder.problems)


def _config(folder: RunFolder) -> Config:
    path = folder.require_config()
    fix = (f"it is the config the run was made with: restore it from a copy of the run, then rerun "
           f"`python -m orchestrator report {folder.path}`")
    try:
        return load_resolved(path)
    except UserError as exc:
        raise UserError(f"{exc}; {fix}") from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UserError(f"{path} is damaged ({type(exc).__name__}: {exc}); {fix}") from None


def _damage(meta: dict[str, Any], files: ProcessFiles, stream: Stream) -> str | None:
    """Why a process recorded as ok can no longer count as ok, from its stream as it is now; None if it can."""
    if meta.get("status") != "ok":
        return None
    path = files.jsonl
    if not path.is_file():
        return f"its stream {path} is missing"
    if stream.problems:
        return f"its stream {path} is damaged: " + "; ".join(stream.problems[:3])
    if stream.error is not None:
        return f"its stream {path} now ends in an error record ({stream.error.get('code')})"
    if stream.end is None:
        return f"its stream {path} has no end record (cut short)"
    if not (len(stream.measured()) or stream.call_samples or stream.spawn_samples):
        return f"its stream {path} has no measured iterations"
    return None


PARALLEL_BYTES = 32 * 2**20  # below this much raw data, starting worker processes costs more than it saves


def _streams(files: list[ProcessFiles]) -> list[Stream]:
    """Each process's stream, parsed; in worker processes, one per usable CPU, when there is a lot. Validation
    against the spec happened when the process ran (execution.py) and decided its status; it is not redone."""
    size = sum(f.jsonl.stat().st_size for f in files if f.jsonl.is_file())
    cpus = usable_cpus()
    if size < PARALLEL_BYTES or cpus < 2 or len(files) < 2:
        return [_stream(f) for f in files]
    with ProcessPoolExecutor(min(cpus, len(files))) as pool:
        return list(pool.map(_stream, files, chunksize=max(1, len(files) // (4 * cpus))))


def usable_cpus() -> int:
    return hostos.usable_cpus()


def _stream(files: ProcessFiles) -> Stream:
    if not files.jsonl.is_file():
        return Stream()
    try:
        return read_file(str(files.jsonl))
    except OSError as exc:
        return Stream(problems=[f"cannot read it ({exc.strerror or exc})"])
