"""One inference worker: its own Net (a Net is not safe to share) and the four timed phases of one image."""

from __future__ import annotations

import os
import time
from typing import Any

import cv2
import records
from backend import BACKENDS, TARGETS
from pipeline import Detections, postprocess, preprocess
from records import RunnerError
from spec import Spec

clock = time.perf_counter_ns


def load_net(spec: Spec) -> tuple[cv2.dnn.Net, int]:
    """readNet + backend + target, and how long that took in ns."""
    if not os.path.isfile(spec.model_path):
        raise RunnerError("model_load", f"cannot read model {spec.model_path}: file not found")
    t0 = clock()
    try:
        net = cv2.dnn.readNet(spec.model_path)
    except cv2.error as exc:
        raise RunnerError("model_load", f"cannot read model {spec.model_path}: {exc}") from exc
    net.setPreferableBackend(BACKENDS[spec.backend])
    net.setPreferableTarget(TARGETS[spec.target])
    return net, clock() - t0


def read_image(path: str) -> Any:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise RunnerError("image_read", f"cannot read image {path}")
    return image


class Worker:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.net, self.load_ns = load_net(spec)

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
        self.net.setInput(blob)
        output = self.net.forward()
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
    paths = [] if spec.scenario == "call_overhead" else list(spec.images)
    if spec.scenario == "video":
        paths.insert(0, spec.video_path)
    for path in paths:
        try:
            open(path, "rb").close()
        except OSError as exc:
            raise RunnerError("image_read", f"cannot read input {path}: {exc.strerror or exc}") from exc
