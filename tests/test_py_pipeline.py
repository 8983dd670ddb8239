"""The Python runner's algorithm steps on synthetic inputs (docs/protocol.md, "The algorithm")."""

from __future__ import annotations

import numpy as np
import pipeline
import pytest


def test_letterbox_geometry() -> None:
    lb = pipeline.letterbox_geometry(810, 1080, 640)  # bus.jpg: portrait
    assert (lb.new_w, lb.new_h, lb.left, lb.top) == (480, 640, 80, 0)
    lb = pipeline.letterbox_geometry(1280, 720, 320)  # landscape
    assert (lb.new_w, lb.new_h, lb.left, lb.top) == (320, 180, 0, 70)
    lb = pipeline.letterbox_geometry(333, 101, 320)  # odd sizes: floor(x + 0.5), odd padding
    assert (lb.new_w, lb.new_h) == (320, 97) and (lb.left, lb.top) == (0, 111)
    lb = pipeline.letterbox_geometry(4000, 1, 640)  # a strip keeps one row (0.16 + 0.5 floors to 0)
    assert (lb.new_w, lb.new_h, lb.top) == (640, 1, 319)
    lb = pipeline.letterbox_geometry(1, 4000, 320)
    assert (lb.new_w, lb.new_h, lb.left) == (1, 320, 159)


def test_preprocess_pads_with_114_and_swaps_to_rgb() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :, 0] = 255  # blue in BGR
    blob, lb = pipeline.preprocess(image, 64)
    assert blob.shape == (1, 3, 64, 64) and blob.dtype == np.float32
    assert blob[0, 2, 32, 32] == pytest.approx(1.0)  # blue ends up in channel 2 (RGB)
    assert blob[0, 0, 0, 0] == pytest.approx(114 / 255)  # padding row on top
    assert lb.top == 16


def rows(*items: list[float]) -> np.ndarray:
    out = np.zeros((1, len(items), 85), np.float32)
    for i, (cx, cy, w, h, obj, cls, score) in enumerate(items):
        out[0, i, :5] = [cx, cy, w, h, obj]
        out[0, i, 5 + int(cls)] = score
    return out


def test_decode_filters_by_objectness_then_by_class_score() -> None:
    out = rows([50, 50, 20, 10, 0.9, 3, 0.9],   # kept: 0.81
               [50, 50, 20, 10, 0.2, 3, 1.0],   # objectness below threshold
               [50, 50, 20, 10, 0.5, 1, 0.4])   # 0.2 after multiplication
    c = pipeline.decode(out, 0.25)
    assert c.class_ids.tolist() == [3]
    assert c.scores[0] == pytest.approx(np.float32(0.9) * np.float32(0.9))
    assert c.boxes[0].tolist() == [40, 45, 20, 10]


def test_nms_is_class_aware() -> None:
    same_place = rows([50, 50, 20, 20, 0.9, 0, 0.9], [51, 50, 20, 20, 0.9, 0, 0.8], [50, 50, 20, 20, 0.9, 2, 0.7])
    c = pipeline.decode(same_place, 0.25)
    kept = pipeline.nms(c, 0.25, 0.45, 300)
    assert sorted(c.class_ids[kept].tolist()) == [0, 2]  # the second class-0 box is suppressed, class 2 is not


def test_map_back_undoes_the_letterbox_and_clips() -> None:
    lb = pipeline.letterbox_geometry(200, 100, 64)  # r = 0.32, top = 16
    boxes = np.array([[0, 16, 32, 16], [-10, 0, 100, 100]], np.float32)
    out = pipeline.map_back(boxes, lb, 200, 100)
    assert out[0].tolist() == pytest.approx([0, 0, 100, 50], abs=1e-4)
    assert out[1].tolist() == [0, 0, 200, 100]
