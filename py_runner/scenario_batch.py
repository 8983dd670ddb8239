"""batch: B images per iteration through one blobFromImages and one forward()."""

from __future__ import annotations

import os
from typing import Any

import cv2
from pipeline import letterbox, postprocess
from records import RecordWriter, RunnerError, iteration_record
from spec import Spec
from worker import Worker, clock, detections_record


def run(spec: Spec, out: RecordWriter) -> None:
    worker = Worker(spec)
    out.write_record(worker.load_record())
    seen: set[str] = set()
    b = spec.batch
    for index in range(spec.warmup + spec.iterations):
        paths = [spec.images[(index * b + j) % len(spec.images)] for j in range(b)]
        phases, images, dets = process(worker, spec, paths)
        out.write_record(iteration_record(index, index < spec.warmup, os.path.basename(paths[0]), phases,
                                          sum(len(d.scores) for d in dets), batch=b))
        for path, img, d in zip(paths, images, dets):
            if path not in seen:
                seen.add(path)
                out.write_record(detections_record(os.path.basename(path), img, d))
    _report_unseen(worker, spec, seen, out)
    out.note_memory()


def _report_unseen(worker: Worker, spec: Spec, seen: set[str], out: RecordWriter) -> None:
    """The images no iteration reached, untimed, in spec order, B at a time (the model's batch is fixed); a
    last short group is filled up with its own images again."""
    unseen = [p for p in dict.fromkeys(spec.images) if p not in seen]
    for lo in range(0, len(unseen), spec.batch):
        group = unseen[lo:lo + spec.batch]
        _, images, dets = process(worker, spec, [group[j % len(group)] for j in range(spec.batch)])
        for path, img, d in zip(group, images, dets):
            out.write_record(detections_record(os.path.basename(path), img, d))


def process(worker: Worker, spec: Spec, paths: list[str]) -> tuple[dict[str, int], list[Any], list[Any]]:
    """One batch: decode the B images, one blob, one forward, B decodes; five clock reads, nothing else timed."""
    s, b = spec, spec.batch
    t0 = clock()
    images = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
    t1 = clock()
    missing = [p for p, img in zip(paths, images) if img is None]
    if missing:
        raise RunnerError("image_read", f"cannot read image {missing[0]}")
    letterboxed = [letterbox(img, s.input_size) for img in images]
    blob = cv2.dnn.blobFromImages([lb[0] for lb in letterboxed], 1 / 255.0, (s.input_size, s.input_size),
                                  (0, 0, 0), swapRB=True, crop=False)
    t2 = clock()
    output = worker.infer(blob)
    t3 = clock()
    if output.shape[0] != b:
        raise RunnerError("internal", f"the model returned a batch of {output.shape[0]}, not {b}: export it "
                          f"with a fixed batch of {b}")
    dets = [postprocess(output[j:j + 1], lb, img.shape[1], img.shape[0], s.conf_threshold, s.nms_threshold,
                        s.max_detections) for j, ((_, lb), img) in enumerate(zip(letterboxed, images))]
    t4 = clock()
    return {"decode": t1 - t0, "preprocess": t2 - t1, "inference": t3 - t2, "postprocess": t4 - t3}, images, dets
