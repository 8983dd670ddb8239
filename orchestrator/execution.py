"""Running one runner process for one matrix cell: spec in, raw records, stderr and samples out.

Every stdout line is written to the raw file as soon as it arrives, so a crash, a hang or garbage loses none of
what was already measured. A server (the http scenario) is driven by orchestrator/serving.py meanwhile: its
stdin stays open until the load is done.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from . import load, protocol, quiet, sampling, serving
from .protocol import Stream
from .runfolder import ProcessFiles, write_samples

STDERR_TAIL_LINES = 8
# OpenCV never fails setPreferableBackend/Target: it logs one of these at the first forward() and runs on the CPU.
FALLBACK = re.compile(r".*(switching to CPU|fall(ing)? ?back to (the )?CPU).*", re.IGNORECASE)


@dataclass
class ProcessResult:
    cell_id: str
    repeat: int
    order: int
    argv: list[str]
    exit_code: int | None
    wall_s: float
    startup_ms: float | None  # spawn to the first measured result, as a user waits for it
    status: str  # ok | failed | skipped
    error: str | None
    stream: Stream
    samples: list[sampling.Sample]
    machine: quiet.MachineLoad | None = None  # what else ran on the machine meanwhile
    base: sampling.Memory | None = None  # the tree's memory when the runner said hello (before the model)
    sampler_cpu_s: float = 0.0  # the sampler's own CPU time
    sampler_measuring: tuple[float, float] = (0.0, 0.0)  # its CPU time and the wall time while the runner iterated
    load: serving.Outcome | None = None  # http: what was sent to the server

    def meta(self) -> dict[str, Any]:
        return {"cell": self.cell_id, "repeat": self.repeat, "order": self.order, "argv": self.argv,
                "exit_code": self.exit_code, "wall_s": round(self.wall_s, 4), "startup_ms": self.startup_ms,
                "status": self.status, "error": self.error,
                "machine": self.machine.as_dict() if self.machine else None,
                "memory_base": {"rss_bytes": self.base.rss_bytes, "pss_bytes": self.base.pss_bytes}
                if self.base else None,
                "sampler_cpu_s": round(self.sampler_cpu_s, 4),
                "sampler_measuring": {"cpu_s": round(self.sampler_measuring[0], 4),
                                      "wall_s": round(self.sampler_measuring[1], 4)},
                **({"load": self.load.as_dict()} if self.load else {})}


@dataclass(frozen=True)
class Options:
    timeout_s: float
    on_unavailable: str = "fail"  # fail | skip: what a missing backend or a CPU fallback does to the cell
    cpu_affinity: list[int] | None = None
    busy_cores: float = quiet.BUSY_CORES  # other CPU use above which a process is flagged busy


def run_process(cell_id: str, repeat: int, order: int, argv: list[str], spec: dict[str, Any], files: ProcessFiles,
                env: dict[str, str], options: Options, plan: load.Plan | None = None) -> ProcessResult:
    """Runs one process; its spec must already be in files.spec (argv names it). With a load plan the runner is a
    server: it is driven (orchestrator/serving.py) while it runs, and stops when its stdin is closed."""
    first_result: list[float] = []
    base: list[sampling.Memory | None] = []
    listening = serving.Listening() if plan else None
    outcome: serving.Outcome | None = None
    load_before, before = quiet.load_average(), quiet.read()
    start = time.perf_counter()
    with open(files.stderr, "wb") as stderr, open(files.jsonl, "w", encoding="utf-8") as raw:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if plan else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=stderr,
                                    env={**os.environ, **env}, preexec_fn=_pin(options.cpu_affinity))
        except OSError as exc:
            error = f"cannot start {argv[0]}: {exc.strerror}. Check the runner's interpreter or build."
            return ProcessResult(cell_id, repeat, order, argv, None, 0.0, None, "failed", error, Stream(), [])
        if options.cpu_affinity and sys.platform == "win32":
            psutil.Process(proc.pid).cpu_affinity(options.cpu_affinity)  # process-wide on Windows
        sampler = sampling.Sampler(proc.pid).start()
        reader = threading.Thread(target=_copy_lines, args=(proc, raw, start, first_result, sampler, base,
                                                            listening), daemon=True)
        reader.start()
        timed_out = False
        try:
            if plan and listening:
                outcome = serving.drive(proc, listening, spec, files, plan, start, start + options.timeout_s)
            proc.wait(timeout=max(0.0, options.timeout_s - (time.perf_counter() - start)))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_tree(proc)
        except BaseException:  # Ctrl-C: never leave a runner behind
            _kill_tree(proc)
            sampler.stop()
            raise
        reader.join()
        wall_s = time.perf_counter() - start
        samples = sampler.stop()
        machine = quiet.between(before, quiet.read(), load_before, sampler.tree_cpu_s, options.busy_cores)
    write_samples(files.samples, samples)
    stream = protocol.read_file(str(files.jsonl), spec)
    status, error = _verdict(stream, spec, proc.returncode, timed_out, options, files.stderr)
    if status == "ok" and outcome:
        status, error = _load_verdict(outcome, files)
    startup_ms = round(first_result[0] * 1000, 3) if first_result else None
    return ProcessResult(cell_id, repeat, order, argv, proc.returncode, wall_s, startup_ms, status, error, stream,
                         samples, machine, base[0] if base else None, sampler.cpu_s,
                         (sampler.measuring_cpu_s, sampler.measuring_wall_s), outcome)


def _kill_tree(proc: subprocess.Popen) -> None:
    """Stop the runner and any worker processes it started (Python's `processes` mode), children first."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass
    proc.kill()
    proc.wait()


def _pin(cpus: list[int] | None) -> Any:
    """On POSIX, pin the child before exec so that every thread it ever starts inherits the CPU set."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def _copy_lines(proc: subprocess.Popen, raw: Any, start: float, first_result: list[float],
                sampler: sampling.Sampler, base: list[sampling.Memory | None],
                listening: serving.Listening | None = None) -> None:
    assert proc.stdout is not None
    for line in iter(proc.stdout.readline, b""):
        if not base and b'"hello"' in line:  # the runtime is up, the model not yet loaded
            base.append(sampler.snapshot())
        if not first_result and (b'"iteration"' in line or b'"spawn_sample"' in line):
            first_result.append(time.perf_counter() - start)
            sampler.measuring()
        raw.write(line.decode("utf-8", errors="replace"))
        raw.flush()
        if listening is not None and not listening.event.is_set() and b'"listening"' in line:
            listening.seen(line)  # after the write: the record is on disk before the load starts
    if listening is not None:
        listening.ended()  # the server ended: the driver must not wait for a listening record


def _verdict(stream: Stream, spec: dict[str, Any], exit_code: int | None, timed_out: bool, options: Options,
             stderr_path: Path) -> tuple[str, str | None]:
    unavailable = "skipped" if options.on_unavailable == "skip" else "failed"
    if timed_out:
        return "failed", (f"timed out after {options.timeout_s:g} s and was stopped; the iterations measured "
                          "before are kept in raw/. Raise timeout_s or lower scenario.iterations in the config.")
    if stream.error is not None:
        status = unavailable if stream.error["code"] == "backend_unavailable" else "failed"
        return status, f"{stream.error['code']}: {stream.error['message']}"
    fallback = fallback_line(stderr_path)
    if fallback:
        return unavailable, f"fell back to CPU: OpenCV logged '{fallback}', so the requested target was not used"
    ort = protocol.ort_fallback(stream, spec)
    if ort:
        return unavailable, f"fell back to CPU: {ort}, so the requested provider was not used"
    if stream.problems:
        return "failed", "the runner broke the protocol: " + "; ".join(stream.problems[:3])
    if exit_code != 0 or stream.end is None:
        tail = stderr_tail(stderr_path)
        why = f"exited with code {exit_code}" if exit_code != 0 else "ended without an end record"
        return "failed", f"the runner {why}" + (f"; its stderr ends with: {tail}" if tail else "")
    return "ok", None


def _load_verdict(outcome: serving.Outcome, files: ProcessFiles) -> tuple[str, str | None]:
    """A server whose load could not run, or that answered anything but the image's detections, failed (its
    requests stay in raw/); errors of load (timeouts, 503s) are figures of the cell, not failures."""
    if outcome.error:
        return "failed", f"the load could not be run: {outcome.error}; the requests so far are kept in raw/"
    answers = json.loads(files.http_detections.read_text(encoding="utf-8"))
    errors = load.read_requests(files.requests, answers).errors()
    wrong = {k: n for k, n in errors.items() if k in ("bad_body", "wrong_answer")}
    if wrong:
        what = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in wrong.items())
        return "failed", (f"the server answered {what} (not the detections of the image sent) under load; every "
                          f"request is kept in {files.requests.name}")
    return "ok", None


def fallback_line(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = FALLBACK.search(text)
    return match.group(0).strip()[:200] if match else None


def stderr_tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in lines[-STDERR_TAIL_LINES:])
