"""single: one image per iteration, warm-up first."""

from __future__ import annotations

import os

from records import RecordWriter, iteration_record
from spec import Spec
from worker import Worker, detections_record, read_image


def run(spec: Spec, out: RecordWriter) -> None:
    worker = Worker(spec)
    out.write_record(worker.load_record())
    seen: set[str] = set()
    for index in range(spec.warmup + spec.iterations):
        path = spec.images[index % len(spec.images)]
        phases, image, dets = worker.process(path)
        out.write_record(iteration_record(index, index < spec.warmup, os.path.basename(path), phases,
                                          len(dets.scores)))
        if path not in seen:
            seen.add(path)
            out.write_record(detections_record(os.path.basename(path), image, dets))
    write_missing_detections(spec, worker, seen, out)
    out.note_memory()


def write_missing_detections(spec: Spec, worker: Worker, seen: set[str], out: RecordWriter) -> None:
    """An untimed pass over the images never processed, so that every image has detections for parity."""
    for path in spec.images:
        if path not in seen:
            seen.add(path)
            image = read_image(path)
            _, _, dets = worker.finish(image, 0, 0)
            out.write_record(detections_record(os.path.basename(path), image, dets))
