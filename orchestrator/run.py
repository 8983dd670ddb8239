"""The `run` command: a config in, a run folder with raw data, summaries and report.html out."""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import config as config_mod
from . import environment, execution, load, matrix, report, runners
from .errors import UserError
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


def run(config_path: Path, out: Path | None, progress: Progress | None = None, lang: str | None = None) -> Path:
    progress = progress or Progress()
    config = config_mod.load(config_path)
    if config.seed is None:  # a fresh order per run, recorded in the run folder's config.yaml
        config = dataclasses.replace(config, seed=random.SystemRandom().randrange(2**31))
    cells = matrix.expand(config)
    if not cells:
        raise UserError(f"{config_path}: matrix.exclude removes every cell; nothing to run")
    run_dir = out or new_run_dir(Path("reports"), config.name)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise UserError(f"{run_dir} already holds files; choose another --out folder")
    folder = RunFolder(run_dir)
    folder.write_config(config_mod.resolved(config))
    progress(f"run folder: {run_dir}")
    folder.write_environment(environment.collect([m.path for m in config.models], config.images, config_path))
    build_errors = _build(config, progress)
    folder.write_cells(cell_info(cells, build_errors))
    _measure(config, cells, build_errors, folder, progress)
    raw = folder.raw
    try:
        page = report.render(run_dir, lang)
    except Exception as exc:  # a reporting bug must not look like lost measurements
        raise UserError(f"the measurements are safe in {raw}, but rendering the report failed: "
                        f"{type(exc).__name__}: {exc}. Retry with `python -m orchestrator report {run_dir}` "
                        "and report this bug.") from exc
    progress(f"report: {page}")
    return page


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
             progress: Progress) -> None:
    repeats = {s.name: s.repeats for s in config.scenarios}
    runnable = [c for c in cells if c.runner.kind not in build_errors]  # so the Latin square covers what runs
    plan = matrix.schedule(runnable, repeats, config.order, config.seed)
    options = execution.Options(config.timeout_s, config.on_unavailable, config.cpu_affinity, config.busy_cores)
    progress.start(len(plan))
    try:
        for order, (cell, repeat) in enumerate(plan):
            if order and config.cooldown_s:
                time.sleep(config.cooldown_s)
            files = folder.process(cell.id, repeat)
            spec = matrix.spec(config, cell, repeat)
            folder.write_spec(files, spec)
            argv = runners.command(cell.runner, files.spec)
            progress.process(f"{cell.label} | {cell.runner.name} | {cell.model_name} | {cell.threads} thread(s) | "
                             f"process {repeat + 1}/{repeats[cell.scenario.name]}")
            plan = load.plan_of(cell.variant, cell.scenario.duration_s, cell.scenario.request_timeout_s) \
                if scenario_type(cell.scenario.type).serves else None
            result = execution.run_process(cell.id, repeat, order, argv, spec, files, cell.runner.env, options, plan)
            folder.append_process(result.meta())
            progress.finished(result.status, result.error)
    except KeyboardInterrupt:
        progress("interrupted: writing the report for the processes that finished")
