from __future__ import annotations

import pytest

from orchestrator import parity

TOL = parity.Tolerance(iou=0.99, score=1e-3)


def det(c: int, s: float, box: list[float]) -> dict:
    return {"class_id": c, "score": s, "box": box}


def test_iou_known_values() -> None:
    assert parity.iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert parity.iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert parity.iou([0, 0, 1, 1], [2, 2, 3, 3]) == 0.0


def test_identical_lists_match_in_any_order() -> None:
    a = [det(0, 0.9, [0, 0, 10, 10]), det(5, 0.8, [20, 20, 40, 40])]
    assert parity.match_image(a, list(reversed(a)), TOL) == []


def test_each_kind_of_mismatch() -> None:
    a = [det(0, 0.9, [0, 0, 10, 10])]
    assert "only in A" in parity.match_image(a, [], TOL)[0]
    assert "only in B" in parity.match_image([], a, TOL)[0]
    assert "boxes differ" in parity.match_image(a, [det(0, 0.9, [0, 0, 10, 11])], TOL)[0]
    assert "scores differ" in parity.match_image(a, [det(0, 0.95, [0, 0, 10, 10])], TOL)[0]
    assert "only in" in parity.match_image(a, [det(1, 0.9, [0, 0, 10, 10])], TOL)[0]  # class differs


def test_looser_tolerance_accepts_small_differences() -> None:
    a, b = [det(0, 0.9, [0, 0, 10, 10])], [det(0, 0.92, [0, 0, 10, 10.5])]
    assert parity.match_image(a, b, TOL)
    assert parity.match_image(a, b, parity.Tolerance(0.9, 0.05)) == []


def test_compare_reports_images_missing_on_one_side() -> None:
    rec = {"detections": [det(0, 0.9, [0, 0, 10, 10])]}
    out = parity.compare({"a.jpg": rec, "b.jpg": rec}, {"a.jpg": rec}, TOL)
    assert out == [{"image": "b.jpg", "problem": "only A reported detections for this image"}]
