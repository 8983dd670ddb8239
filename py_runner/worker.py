"""One inference worker: its own Net (a Net is not safe to share) and the four timed phases of one image."""

from __future__ import annotations

import time
from typing import Any

import cv2
import engine
import records
from pipeline import Detections, postprocess, preprocess
from records import RunnerError
from spec import Spec

clock = time.perf_counter_ns


def read_image(path: str) -> Any:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise RunnerError("image_read", f"cannot read image {path}")
    return image


class Worker:
    """One engine's loaded model (its own Net or session) and the four timed phases of one image."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.infer, self.load_ns = engine.load(spec)

    def load_record(self, worker: int | None = None) -> dict[str, Any]:
        return records.load_record(self.spec.model_name, self.load_ns, worker, self.infer.providers)

    def process(self, path: str) -> tuple[dict[str, int], Any, Detections]:
        """decode (imread), then the three other phases; five clock reads, nothing else timed."""
        t0 = clock()
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        t1 = clock()
        if image is None:
            raise RunnerError("image_read", f"cannot read image {path}")
        return self.finish(image, t0, t1)

    def finish(self, image: Any, t0: int, t1: int) -> tuple[dict[str, int], Any, Detections]:
        """preprocess, inference, postprocess of a decoded image; t0..t1 was its decode."""
        s = self.spec
        blob, lb = preprocess(image, s.input_size)
        t2 = clock()
        output = self.infer(blob)
        t3 = clock()
        dets = postprocess(output, lb, image.shape[1], image.shape[0], s.conf_threshold, s.nms_threshold,
                           s.max_detections)
        t4 = clock()
        return {"decode": t1 - t0, "preprocess": t2 - t1, "inference": t3 - t2, "postprocess": t4 - t3}, image, dets


def detections_record(name: str, image: Any, dets: Detections) -> dict[str, Any]:
    return records.detections_record(name, int(image.shape[1]), int(image.shape[0]), dets.class_ids, dets.scores,
                                     dets.boxes)


def check_inputs(spec: Spec) -> None:
    """Fail fast, before seconds go into loading a model, on an input file that cannot be opened."""
    paths = [] if spec.scenario in ("call_overhead", "spawn") else list(spec.images)
    if spec.scenario == "video":
        paths.insert(0, spec.video_path)
    for path in paths:
        try:
            open(path, "rb").close()
        except OSError as exc:
            raise RunnerError("image_read", f"cannot read input {path}: {exc.strerror or exc}") from exc
