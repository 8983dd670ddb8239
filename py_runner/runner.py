"""Python runner: cv2.dnn YOLOv5 inference speaking the JSON Lines protocol of docs/protocol.md.

Standard library + numpy + cv2 only, so that any interpreter with cv2 can run it: `python runner.py --spec S`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time

import cv2
from backends import BACKENDS, TARGETS, available_targets
from memory import peak_rss_bytes
from pipeline import postprocess, preprocess
from records import PROTOCOL_VERSION, RecordWriter, RunnerError, claim_stdout
from spec import Spec, load_spec


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
        available_targets=targets,
    )
    if spec.target not in targets:
        raise RunnerError("backend_unavailable", f"backend {spec.backend!r} has no target {spec.target!r} in this "
                          f"OpenCV build (available: {targets or 'none'}); OpenCV would silently use the CPU")
    net = load_model(spec, out)
    run_single(spec, net, out)
    out.write("end", iterations=spec.iterations, warmup=spec.warmup, peak_rss_bytes=peak_rss_bytes())


def load_model(spec: Spec, out: RecordWriter) -> cv2.dnn.Net:
    if not os.path.isfile(spec.model_path):
        raise RunnerError("model_load", f"cannot read model {spec.model_path}: file not found")
    t0 = time.perf_counter_ns()
    try:
        net = cv2.dnn.readNet(spec.model_path)
    except cv2.error as exc:
        raise RunnerError("model_load", f"cannot read model {spec.model_path}: {exc}") from exc
    net.setPreferableBackend(BACKENDS[spec.backend])
    net.setPreferableTarget(TARGETS[spec.target])
    out.write("load", model=spec.model_name, load_ns=time.perf_counter_ns() - t0)
    return net


def run_single(spec: Spec, net: cv2.dnn.Net, out: RecordWriter) -> None:
    """One image per iteration, warm-up first; five clock reads bound the four phases."""
    clock = time.perf_counter_ns
    size, conf, iou, max_det = spec.input_size, spec.conf_threshold, spec.nms_threshold, spec.max_detections
    seen: set[str] = set()
    for index in range(spec.warmup + spec.iterations):
        path = spec.images[index % len(spec.images)]
        t0 = clock()
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        t1 = clock()
        if image is None:
            raise RunnerError("image_read", f"cannot read image {path}")
        blob, lb = preprocess(image, size)
        t2 = clock()
        net.setInput(blob)
        output = net.forward()
        t3 = clock()
        dets = postprocess(output, lb, image.shape[1], image.shape[0], conf, iou, max_det)
        t4 = clock()
        out.write(
            "iteration", index=index, warmup=index < spec.warmup, image=os.path.basename(path),
            phases_ns={"decode": t1 - t0, "preprocess": t2 - t1, "inference": t3 - t2, "postprocess": t4 - t3},
            total_ns=t4 - t0, detections=len(dets.scores),
        )
        if path not in seen:
            seen.add(path)
            write_detections(out, path, image, dets)
    for path in spec.images:  # untimed pass so every image has detections for the parity check
        if path not in seen:
            seen.add(path)
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                raise RunnerError("image_read", f"cannot read image {path}")
            blob, lb = preprocess(image, size)
            net.setInput(blob)
            write_detections(out, path, image, postprocess(net.forward(), lb, image.shape[1], image.shape[0],
                                                           conf, iou, max_det))


def write_detections(out: RecordWriter, path: str, image, dets) -> None:
    items = [
        {"class_id": int(c), "score": round(float(s), 6), "box": [round(float(v), 3) for v in box]}
        for c, s, box in zip(dets.class_ids, dets.scores, dets.boxes)
    ]
    out.write("detections", image=os.path.basename(path), width=int(image.shape[1]), height=int(image.shape[0]),
              detections=items)


if __name__ == "__main__":
    sys.exit(main())
