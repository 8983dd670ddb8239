"""Python runner: cv2.dnn YOLOv5 inference speaking the JSON Lines protocol of docs/protocol.md.

Standard library + numpy + cv2 only, so that any interpreter with cv2 can run it: `python runner.py --spec S`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys

import cv2
import numpy as np
import scenario_batch
import scenario_calls
import scenario_concurrency
import scenario_server
import scenario_single
import scenario_video
from backends import available_targets
from memory import peak_rss_bytes
from records import PROTOCOL_VERSION, RecordWriter, RunnerError, claim_stdout
from spec import Spec, load_spec

SCENARIOS = {"single": scenario_single, "video": scenario_video, "concurrency": scenario_concurrency,
             "server": scenario_server, "batch": scenario_batch, "call_overhead": scenario_calls}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True, help="spec JSON file, or - for stdin")
    args = parser.parse_args(argv)
    out = RecordWriter(claim_stdout())
    try:
        spec = load_spec(args.spec)
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
    out.write(
        "hello", protocol=PROTOCOL_VERSION, runner="py_runner", language="python",
        language_version=platform.python_version(), opencv_version=cv2.__version__,
        opencv_build_hash=hashlib.sha256(build_info.encode()).hexdigest(), opencv_build_info=build_info,
        threads=cv2.getNumThreads(), pid=os.getpid(), backend=spec.backend, target=spec.target,
        available_targets=targets, numpy_version=np.__version__,
    )
    if spec.target not in targets:
        raise RunnerError("backend_unavailable", f"backend {spec.backend!r} has no target {spec.target!r} in this "
                          f"OpenCV build (available: {targets or 'none'}); OpenCV would silently use the CPU")
    outcome = SCENARIOS[spec.scenario].run(spec, out)
    children = getattr(outcome, "child_peak_rss", 0)  # concurrency and server with worker processes
    iterations, warm = outcome if isinstance(outcome, tuple) else (spec.iterations, spec.warmup)  # video
    out.write("end", iterations=iterations, warmup=warm, peak_rss_bytes=peak_rss_bytes() + children,
              pss_bytes=out.pss_bytes)


if __name__ == "__main__":
    sys.exit(main())
