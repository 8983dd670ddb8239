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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import child, load, protocol, quiet, sampling, serving
from .protocol import Stream
from .runfolder import ProcessFiles, write_samples

STDERR_TAIL_LINES = 8
TAIL_BYTES = 64 << 10
SCAN_CHUNK, SCAN_OVERLAP = 1 << 20, 64
# OpenCV never fails setPreferableBackend/Target: it logs one of these at the first forward() and runs on the CPU.
# No leading or trailing `.*`: the line around a match is found by hand, so the search stays linear.
FALLBACK = re.compile(r"switching to CPU|fall(?:ing)? ?back to (?:the )?CPU", re.IGNORECASE)


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
    server: it is driven (orchestrator/serving.py) while it runs, and stops when its stdin is closed.

    Nothing here waits without a deadline: the runner's tree is killed at timeout_s, and its pipes are given
    child.GRACE_S after it exits (a grandchild holding stdout open fails the cell instead of hanging the run)."""
    first_result: list[float] = []
    base: list[sampling.Memory | None] = []
    listening = serving.Listening() if plan else None
    outcome: serving.Outcome | None = None
    load_before, before = quiet.load_average(), quiet.read()
    start = time.perf_counter()
    deadline = start + options.timeout_s
    with open(files.stderr, "wb") as stderr, open(files.jsonl, "w", encoding="utf-8") as raw:
        try:
            tree = child.start(argv, {**os.environ, **env}, subprocess.PIPE if plan else subprocess.DEVNULL,
                               options.cpu_affinity)
        except OSError as exc:
            error = f"cannot start {argv[0]}: {exc.strerror}. Check the runner's interpreter or build."
            return ProcessResult(cell_id, repeat, order, argv, None, 0.0, None, "failed", error, Stream(), [])
        proc = tree.proc
        sampler = sampling.Sampler(proc.pid, on_members=tree.add).start()
        assert proc.stdout is not None and proc.stderr is not None
        out = child.Pipe(proc.stdout, raw, _watch(start, first_result, sampler, base, listening),
                         listening.ended if listening else None)
        err = child.Pipe(proc.stderr, stderr, limit=child.MAX_STDERR, text=False)
        out.start()
        err.start()
        timed_out = False
        try:
            if plan and listening:
                outcome = serving.drive(proc, listening, spec, files, plan, start, deadline)
            proc.wait(timeout=max(0.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            timed_out = True
            tree.kill()
        except BaseException:  # Ctrl-C, SIGTERM: never leave a runner behind
            tree.kill()
            sampler.stop()
            child.finish([out, err], time.perf_counter() + 1, time.perf_counter)
            raise
        closed = child.finish([out, err], time.perf_counter() + child.GRACE_S, time.perf_counter)
        strays = [] if timed_out else tree.stragglers()
        if not closed:
            strays = strays or tree.holders([proc.stdout, proc.stderr])
        if strays or not closed:
            tree.kill()
        tree.close()  # after the stragglers were looked for: Windows kills what is left in the job here
        wall_s = time.perf_counter() - start
        samples = sampler.stop()
        machine = quiet.between(before, quiet.read(), load_before, sampler.tree_cpu_s, options.busy_cores)
    child.note_dropped(files.stderr, err)
    write_samples(files.samples, samples)
    stream = protocol.read_file(str(files.jsonl), spec)
    status, error = _verdict(stream, spec, proc.returncode, timed_out, options, files.stderr)
    if status == "ok" and (strays or not closed):
        status, error = "failed", _stray_error(strays, closed)
    if status == "ok" and (out.error or err.error):
        status, error = "failed", f"writing the raw files failed: {out.error or err.error}; free disk space"
    if status == "ok" and outcome:
        status, error = _load_verdict(outcome, files)
    startup_ms = round(first_result[0] * 1000, 3) if first_result else None
    return ProcessResult(cell_id, repeat, order, argv, proc.returncode, wall_s, startup_ms, status, error, stream,
                         samples, machine, base[0] if base else None, sampler.cpu_s,
                         (sampler.measuring_cpu_s, sampler.measuring_wall_s), outcome)


def _stray_error(strays: list[Any], closed: bool) -> str:
    names = ", ".join(f"{_name(p)} (pid {p.pid})" for p in strays[:3])
    held = "" if closed else " holding its output pipe open"
    what = f"left {names} running{held} after it exited" if strays else "exited while a process it started " \
        "still held its output pipe open"
    return (f"the runner {what}; the orchestrator killed it. A runner must end every process it starts before "
            "it exits; the records it wrote are kept in raw/.")


def _name(p: Any) -> str:
    try:
        return str(p.name())
    except Exception:  # psutil.Error: it just ended
        return "a process"


def _watch(start: float, first_result: list[float], sampler: sampling.Sampler, base: list[sampling.Memory | None],
           listening: serving.Listening | None) -> Callable[[bytes], None]:
    """What the stdout reader notices on its way: the hello (memory base), the first result (start-up time, the
    sampler's measuring window) and the server's listening record."""
    def on_line(line: bytes) -> None:
        if not base and b'"hello"' in line:  # the runtime is up, the model not yet loaded
            base.append(sampler.snapshot())
        if not first_result and (b'"iteration"' in line or b'"spawn_sample"' in line):
            first_result.append(time.perf_counter() - start)
            sampler.measuring()
        if listening is not None and not listening.event.is_set() and b'"listening"' in line:
            listening.seen(line)
    return on_line


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
    """The first line of stderr that says OpenCV fell back to the CPU, read in bounded chunks: a flood or a
    megabyte without a newline takes as long as reading it, no more."""
    try:
        with open(path, "rb") as f:
            carry = b""
            while chunk := f.read(SCAN_CHUNK):
                text = (carry + chunk).decode("utf-8", errors="replace")
                match = FALLBACK.search(text)
                if match:
                    begin = text.rfind("\n", 0, match.start()) + 1
                    end = text.find("\n", match.end())
                    stop = end if end >= 0 else len(text)
                    if stop - begin > 400:  # a line of megabytes: the match and its neighbourhood
                        begin, stop = max(begin, match.start() - 100), min(stop, match.end() + 100)
                    return text[begin:stop].strip()[:200]
                carry = chunk[-SCAN_OVERLAP:]
    except OSError:
        return None
    return None


def stderr_tail(path: Path) -> str:
    """The last lines of stderr, from its last TAIL_BYTES only."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - TAIL_BYTES))
            lines = f.read().decode("utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip()[:300] for line in lines[-STDERR_TAIL_LINES:])
