"""Python runner: cv2.dnn YOLOv5 inference speaking the JSON Lines protocol of docs/protocol.md.

Standard library + numpy + cv2 only, so that any interpreter with cv2 can run it: `python runner.py --spec S`.
The http scenario alone imports a web stack (FastAPI, uvicorn), from the folder its spec names (http_app.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
from typing import NoReturn, TextIO

import cv2
import engine
import numpy as np
import scenario_batch
import scenario_calls
import scenario_concurrency
import scenario_http
import scenario_server
import scenario_single
import scenario_spawn
import scenario_video
from backend import available_targets
from memory import peak_rss_bytes
from records import PROTOCOL_VERSION, RecordWriter, RunnerError, claim_stdout
from spec import Spec, load_spec
from worker import check_inputs

SCENARIOS = {"single": scenario_single, "video": scenario_video, "concurrency": scenario_concurrency,
             "server": scenario_server, "batch": scenario_batch, "call_overhead": scenario_calls,
             "spawn": scenario_spawn, "http": scenario_http}


class _Usage(Exception):
    """A bad command line: exit 2, after an error record (argparse alone would exit without one)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Usage(message)


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Exit status 0 (completed), 1 (after an error record), 2 (bad command line, after an error record).
    The tests pass stdin and stdout; the program claims fd 1 for its records (claim_stdout)."""
    out = RecordWriter(stdout or claim_stdout())
    parser = _Parser(prog="py_runner", description=__doc__)
    parser.add_argument("--spec", required=True, help="spec JSON file, or - for stdin")
    try:
        args = parser.parse_args(argv)
    except _Usage as exc:
        parser.print_usage(sys.stderr)
        out.error("spec", f"bad command line: {exc} (usage: py_runner --spec PATH)")
        return 2
    try:
        spec = load_spec(args.spec, stdin or sys.stdin)
        run(spec, out)
    except RunnerError as exc:
        out.error(exc.code, str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - the protocol turns any failure into an error record
        out.error("internal", f"{type(exc).__name__}: {exc}")
        return 1
    return 0


def run(spec: Spec, out: RecordWriter) -> None:
    if spec.threads > 0:
        cv2.setNumThreads(spec.threads)
    targets = available_targets(spec.backend)
    build_info = cv2.getBuildInformation()
    ort, ort_problem = _ort(spec)
    out.write(
        "hello", protocol=PROTOCOL_VERSION, runner="py_runner", language="python",
        language_version=platform.python_version(), opencv_version=cv2.__version__,
        opencv_build_hash=hashlib.sha256(build_info.encode()).hexdigest(), opencv_build_info=build_info,
        threads=cv2.getNumThreads(), pid=os.getpid(), backend=spec.backend, target=spec.target,
        available_targets=targets, numpy_version=np.__version__, engine=spec.engine,
        **({"ort": ort} if ort else {}),
    )
    if ort_problem:
        raise ort_problem
    if ort:
        engine.check_provider(ort, spec)
    if spec.target not in targets:
        raise RunnerError("backend_unavailable", f"backend {spec.backend!r} has no target {spec.target!r} in this "
                          f"OpenCV build (available: {targets or 'none'}); OpenCV would silently use the CPU")
    check_inputs(spec)
    outcome = SCENARIOS[spec.scenario].run(spec, out)
    children = getattr(outcome, "child_peak_rss", 0)  # concurrency, server and http with worker processes
    iterations, warm = _counts(outcome, spec)
    out.write("end", iterations=iterations, warmup=warm, peak_rss_bytes=peak_rss_bytes() + children,
              pss_bytes=out.pss_bytes)


def _counts(outcome: object, spec: Spec) -> tuple[int, int]:
    """The end record's iterations and warmup: the spec's, unless the scenario says (video: the frames it
    processed; http: the requests it served)."""
    if isinstance(outcome, scenario_http.Outcome):
        return outcome.iterations, outcome.warmup
    if isinstance(outcome, tuple):  # video
        return outcome
    return spec.iterations, spec.warmup


def _ort(spec: Spec) -> tuple[dict | None, RunnerError | None]:
    """Under onnxruntime: the hello's `ort`, or the problem to report right after the hello. The spawn scenario
    loads no ONNX Runtime (docs/protocol.md, "spawn"); call_overhead does, as the protocol asks."""
    if spec.engine != "onnxruntime" or spec.scenario == "spawn":
        return None, None
    try:
        return engine.ort_info(engine.import_ort(spec), spec), None
    except RunnerError as exc:
        return None, exc
    except Exception as exc:  # noqa: BLE001 - the hello comes first: report after it
        return None, RunnerError("backend_unavailable", f"ONNX Runtime: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main())
