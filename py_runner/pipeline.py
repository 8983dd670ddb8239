"""The YOLOv5 pipeline of docs/protocol.md ("The algorithm"), numpy-vectorised.

Every step mirrors go_runner/pipeline.go and cpp_runner/pipeline.cpp: the same OpenCV calls, float32 scores
and boxes, the same rounding, so that a timing difference is a language difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = (114, 114, 114)
# YOLOv5's class-aware NMS trick: shift each class's boxes far apart so one class-agnostic NMS call suffices.
CLASS_OFFSET = 7680


@dataclass(frozen=True)
class Letterbox:
    """Geometry of one letterbox: the scale and the padding on the left and top."""

    ratio: float
    new_w: int
    new_h: int
    left: int
    top: int


def letterbox_geometry(w: int, h: int, size: int) -> Letterbox:
    r = min(size / h, size / w)
    # At least one pixel: a 4000 x 1 strip would round to 0 rows, which resize refuses (docs/protocol.md).
    new_w = max(1, math.floor(w * r + 0.5))
    new_h = max(1, math.floor(h * r + 0.5))
    return Letterbox(r, new_w, new_h, (size - new_w) // 2, (size - new_h) // 2)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio and pad to size x size with 114."""
    h, w = image.shape[:2]
    lb = letterbox_geometry(w, h, size)
    if (lb.new_w, lb.new_h) != (w, h):
        image = cv2.resize(image, (lb.new_w, lb.new_h), interpolation=cv2.INTER_LINEAR)
    right = size - lb.new_w - lb.left
    bottom = size - lb.new_h - lb.top
    padded = cv2.copyMakeBorder(image, lb.top, bottom, lb.left, right, cv2.BORDER_CONSTANT, value=PAD_VALUE)
    return padded, lb


def preprocess(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Letterbox and build the 1x3xSxS float32 blob (1/255, BGR->RGB)."""
    padded, lb = letterbox(image, size)
    blob = cv2.dnn.blobFromImage(padded, 1 / 255.0, (size, size), (0, 0, 0), swapRB=True, crop=False)
    return blob, lb


@dataclass(frozen=True)
class Candidates:
    """Rows that passed both confidence filters, in letterbox pixels."""

    boxes: np.ndarray  # float32 [n, 4]: x1, y1, w, h
    scores: np.ndarray  # float32 [n]
    class_ids: np.ndarray  # int64 [n]


def decode(output: np.ndarray, conf: float) -> Candidates:
    """Turn the [1, N, 85] output into candidates: obj > conf, then obj * class score > conf."""
    rows = output.reshape(-1, output.shape[-1])
    conf32 = np.float32(conf)
    rows = rows[rows[:, 4] > conf32]
    class_scores = rows[:, 5:] * rows[:, 4:5]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(rows)), class_ids]
    keep = scores > conf32
    rows, scores, class_ids = rows[keep], scores[keep], class_ids[keep]
    half = np.float32(2)
    boxes = np.stack(
        [rows[:, 0] - rows[:, 2] / half, rows[:, 1] - rows[:, 3] / half, rows[:, 2], rows[:, 3]], axis=1
    )
    return Candidates(boxes, scores, class_ids)


def nms(c: Candidates, conf: float, iou: float, max_det: int) -> np.ndarray:
    """Class-aware NMS by offset, on integer rectangles as the other runners pass them; returns kept indices."""
    if len(c.scores) == 0:
        return np.empty(0, dtype=np.int64)
    rects = c.boxes.astype(np.int32)  # truncation toward zero, like Go's int() and C++'s static_cast
    offset = (c.class_ids * CLASS_OFFSET).astype(np.int32)
    rects[:, 0] += offset
    rects[:, 1] += offset
    kept = cv2.dnn.NMSBoxes(rects.tolist(), c.scores.tolist(), conf, iou)
    return np.asarray(kept, dtype=np.int64).reshape(-1)[:max_det]


def map_back(boxes: np.ndarray, lb: Letterbox, w: int, h: int) -> np.ndarray:
    """Letterbox [x1, y1, w, h] -> original-image [x1, y1, x2, y2], clipped to the image."""
    x1 = (boxes[:, 0] - np.float32(lb.left)) / np.float32(lb.ratio)
    y1 = (boxes[:, 1] - np.float32(lb.top)) / np.float32(lb.ratio)
    x2 = (boxes[:, 0] + boxes[:, 2] - np.float32(lb.left)) / np.float32(lb.ratio)
    y2 = (boxes[:, 1] + boxes[:, 3] - np.float32(lb.top)) / np.float32(lb.ratio)
    out = np.stack([x1, y1, x2, y2], axis=1)
    np.clip(out[:, 0::2], 0, w, out=out[:, 0::2])
    np.clip(out[:, 1::2], 0, h, out=out[:, 1::2])
    return out


@dataclass(frozen=True)
class Detections:
    boxes: np.ndarray  # float32 [n, 4]: x1, y1, x2, y2 in original-image pixels
    scores: np.ndarray
    class_ids: np.ndarray


def postprocess(output: np.ndarray, lb: Letterbox, w: int, h: int, conf: float, iou: float,
                max_det: int) -> Detections:
    c = decode(output, conf)
    kept = nms(c, conf, iou, max_det)
    return Detections(map_back(c.boxes[kept], lb, w, h), c.scores[kept], c.class_ids[kept])
