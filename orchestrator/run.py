"""The `run` command: a config in, a run folder with raw data, summaries and report.html out."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from . import config as config_mod
from . import environment, execution, load, machine, matrix, preflight, report, runners
from .errors import Terminated, UserError
from .progress import Progress
from .registry import scenario_type
from .runfolder import RunFolder


def new_run_dir(reports: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)[:40] or "run"
    run_dir = reports / f"{stamp}-{slug}"
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = reports / f"{stamp}-{slug}-{n}"
    return run_dir


@dataclass(frozen=True)
class Outcome:
    """What a run did, for the exit code: 0 all ok, 1 a process or a build failed, 130/143 interrupted."""

    page: Path | None
    planned: int
    done: int
    failed: int
    interrupted: str | None  # SIGINT | SIGTERM

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 143 if self.interrupted == "SIGTERM" else 130
        return 1 if self.failed or self.done < self.planned else 0


def run(config_path: Path | None, out: Path | None, progress: Progress | None = None, lang: str | None = None,
        resume: Path | None = None, machine_name: str | None = None) -> Outcome:
    """A new run of `config_path`, or (`resume`) the rest of an interrupted one: the same plan from the same
    seed, every finished process kept, the unfinished ones run again. `machine_name` (`--machine`) names the
    machine, before the config's `machine` and the host name."""
    progress = progress or Progress()
    if resume is not None:
        folder, config, done = _resumable(resume, config_path)
        run_dir = resume
        progress(f"resuming {run_dir}: {len(done)} processes finished before")
    else:
        assert config_path is not None
        config = config_mod.load(config_path)
        if config.seed is None:  # a fresh order per run, recorded in the run folder's config.yaml
            config = dataclasses.replace(config, seed=random.SystemRandom().randrange(2**31))
        config = dataclasses.replace(config, machine=_machine_name(machine_name, config))
        for problem in preflight.inspect(config, probe_timeout_s=None).problems:  # what `validate` says
            progress(f"warning: {problem}")
        run_dir, done = out or new_run_dir(Path("reports"), config.name), set()
        if run_dir.exists() and any(run_dir.iterdir()):
            raise UserError(f"{run_dir} already holds files; choose another --out folder")
        folder = RunFolder(run_dir)
    cells = matrix.expand(config)
    if not cells:
        raise UserError(f"{config.path}: matrix.exclude removes every cell; nothing to run")
    if resume is None:
        _write(folder.path, folder.write_config, config_mod.resolved(config))
        _write(folder.path, folder.write_machine, {**machine.record(config.machine or ""),
                                                   "experiment_sha256": machine.experiment_sha256(config.path)})
        progress(f"run folder: {run_dir} (machine {config.machine})")
        _write(folder.path, folder.write_environment,
               environment.collect([m.path for m in config.models], config.images, config.path))
    build_errors = _build(config, progress)
    if resume is None:
        _write(folder.path, folder.write_cells, cell_info(cells, build_errors))
    interrupted = _measure(config, cells, build_errors, folder, progress, done)
    return _finish(folder, lang, progress, interrupted, len(build_errors))


def _machine_name(given: str | None, config: config_mod.Config) -> str:
    name = given or config.machine or machine.default_name()
    why = machine.problem(name)
    if why:
        raise UserError(f"--machine: {why}")
    return name


def _resumable(run_dir: Path, config_path: Path | None) -> tuple[RunFolder, config_mod.Config, set[int]]:
    """The run folder's own config and the processes already finished, or a clear refusal."""
    folder = RunFolder(run_dir)
    state = folder.read_state()
    if not folder.exists() or not folder.config.is_file() or not state.get("config_sha256"):
        raise UserError(f"{run_dir} is not a run folder that can be resumed (it needs config.yaml, raw/cells.json "
                        "and raw/run.json, which runs of this version write); start a new run instead")
    if config_hash(folder) != state["config_sha256"]:
        raise UserError(f"{folder.config} was changed after the run started; a resumed run must measure the same "
                        "experiment. Undo the change, or start a new run")
    config = config_mod.load_resolved(folder.config)
    if config_path is not None:
        mine = config_mod.resolved(dataclasses.replace(config_mod.load(config_path), seed=config.seed,
                                                          machine=config.machine))
        if yaml.safe_load(yaml.safe_dump(mine)) != yaml.safe_load(folder.config.read_text(encoding="utf-8")):
            raise UserError(f"{config_path} is not the config {run_dir} was started with (its config.yaml); "
                            "resume without naming a config, or start a new run")
    planned = [c["id"] for c in folder.read_cells()]
    if planned != [c.id for c in matrix.expand(config)]:
        raise UserError(f"{folder.cells} does not match the cells of {folder.config}; start a new run")
    return folder, config, {p["order"] for p in folder.repair_processes()}


def config_hash(folder: RunFolder) -> str:
    return hashlib.sha256(folder.config.read_bytes()).hexdigest()


def _write(run_dir: Path, write: Any, *args: Any) -> None:
    """A write to the run folder; an OS error (disk full, read-only) is the user's to fix, said so."""
    try:
        write(*args)
    except OSError as exc:
        raise UserError(f"cannot write to the run folder {run_dir}: {exc.strerror or exc} ({exc.filename or ''}). "
                        "Free disk space or choose a writable --out folder") from exc


def _finish(folder: RunFolder, lang: str | None, progress: Progress, interrupted: str | None,
            build_failures: int) -> Outcome:
    processes = folder.read_processes()
    state = folder.read_state()
    planned = state.get("planned", len(processes))
    failed = sum(1 for p in processes if p.get("status") == "failed") + build_failures
    if interrupted:
        progress(f"interrupted ({interrupted}) after {len(processes)} of {planned} processes; finish the run with "
                 f"`python -m orchestrator run --resume {folder.path}`")
    try:
        page = report.render(folder.path, lang)
    except UserError:
        raise
    except Exception as exc:  # a reporting bug must not look like lost measurements
        raise UserError(f"the measurements are safe in {folder.raw}, but rendering the report failed: "
                        f"{type(exc).__name__}: {exc}. Retry with `python -m orchestrator report {folder.path}` "
                        "and report this bug.") from exc
    progress(f"report: {page}")
    return Outcome(page, planned, len(processes), failed, interrupted)


def _build(config: config_mod.Config, progress: Progress) -> dict[str, str]:
    """Build each native runner once; a runner that fails to build fails its cells, the others still run."""
    errors = {}
    for kind in sorted({r.kind for r in config.runners} - {"python"}):
        progress(f"building the {kind} runner")
        try:
            runners.build(kind)
        except UserError as exc:
            errors[kind] = str(exc)
            progress(f"error: {exc}")
    return errors


def cell_info(cells: list[matrix.Cell], build_errors: dict[str, str]) -> list[dict[str, Any]]:
    """raw/cells.json: what each cell is, and why it cannot run (its runner failed to build)."""
    return [{"id": c.id, "runner": c.runner.name, "kind": c.runner.kind, "model": c.model_name,
             "input_size": c.model.input_size if c.model else None, "threads": c.threads,
             "threads_requested": matrix.threads_for(c), "scenario": c.scenario.type, "scenario_name": c.scenario.name,
             "label": c.label, "variant": c.variant, "engine": c.engine, "provider": c.provider,
             "threads_policy": c.threads_policy or None,
             "mode": matrix.mode_of(c) if "workers" in c.variant else None,
             "runner_config": asdict(c.runner),
             "build_error": build_errors.get(c.runner.kind)} for c in cells]


def _measure(config: config_mod.Config, cells: list[matrix.Cell], build_errors: dict[str, str], folder: RunFolder,
             progress: Progress, done: set[int]) -> str | None:
    """Run every planned process not in `done`; the signal's name when interrupted (what finished is kept)."""
    repeats = {s.name: s.repeats for s in config.scenarios}
    runnable = [c for c in cells if c.runner.kind not in build_errors]  # so the Latin square covers what runs
    plan = matrix.schedule(runnable, repeats, config.order, config.seed)
    options = execution.Options(config.timeout_s, config.on_unavailable, config.cpu_affinity, config.busy_cores)
    state = {**folder.read_state(), "planned": len(plan), "interrupted": None}
    if not done:
        state.update(config_sha256=config_hash(folder), started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), resumed=0)
    else:
        state["resumed"] = state.get("resumed", 0) + 1
    state["done"] = len(done)
    _write(folder.path, folder.write_state, state)
    todo = [(order, cell, repeat) for order, (cell, repeat) in enumerate(plan) if order not in done]
    progress.start(len(todo))
    try:
        for n, (order, cell, repeat) in enumerate(todo):
            if n and config.cooldown_s:
                time.sleep(config.cooldown_s)
            result = _one(config, cell, repeat, order, folder, options, progress, repeats)
            _write(folder.path, folder.append_process, _portable(result.meta(), folder.path))
            state["done"] += 1
            _write(folder.path, folder.write_state, state)
            progress.finished(result.status, result.error)
    except KeyboardInterrupt as exc:
        state["interrupted"] = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        _write(folder.path, folder.write_state, state)
        return state["interrupted"]
    return None


def _portable(meta: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """A process record that names the run folder's own files relative to it, so that the folder can move."""
    inside = str(run_dir.resolve()) + os.sep, str(run_dir) + os.sep
    argv = [next((a[len(p):] for p in inside if a.startswith(p)), a) for a in meta.get("argv") or []]
    return {**meta, "argv": argv}


def _one(config: config_mod.Config, cell: matrix.Cell, repeat: int, order: int, folder: RunFolder,
         options: execution.Options, progress: Progress, repeats: dict[str, int]) -> execution.ProcessResult:
    files = folder.process(cell.id, repeat)
    spec = matrix.spec(config, cell, repeat)
    _write(folder.path, folder.write_spec, files, spec)
    argv = runners.command(cell.runner, files.spec)
    progress.process(f"{cell.label} | {cell.runner.name} | {cell.model_name} | {cell.threads} thread(s) | "
                     f"process {repeat + 1}/{repeats[cell.scenario.name]}")
    plan = load.plan_of(cell.variant, cell.scenario.duration_s, cell.scenario.request_timeout_s) \
        if scenario_type(cell.scenario.type).serves else None
    try:
        return execution.run_process(cell.id, repeat, order, argv, spec, files, cell.runner.env, options, plan)
    except OSError as exc:
        raise UserError(f"cannot write the raw files of {cell.id} in {folder.raw}: {exc.strerror or exc}. Free disk "
                        f"space, then finish the run with `python -m orchestrator run --resume {folder.path}`") from exc
