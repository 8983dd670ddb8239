"""Output parity: do two runners find the same objects in the same images?

A speed comparison means something only when both sides did the same work. Detections are matched image by
image: each detection of A (highest score first) takes the unmatched detection of B with the same class and
the highest IoU; the pair matches when IoU >= the tolerance and the scores differ by at most the tolerance.
Anything left unmatched on either side is a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class Tolerance:
    iou: float
    score: float


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x1, y1, x2, y2] boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else (1.0 if a == b else 0.0)


def match_image(a: list[dict[str, Any]], b: list[dict[str, Any]], tol: Tolerance) -> list[str]:
    """Mismatches between two detection lists of one image, as short sentences."""
    problems = []
    free = list(range(len(b)))
    for det in sorted(a, key=lambda d: -d["score"]):
        candidates = [(iou(det["box"], b[j]["box"]), j) for j in free if b[j]["class_id"] == det["class_id"]]
        if not candidates:
            problems.append(f"class {det['class_id']} (score {det['score']:.3f}) only in A")
            continue
        best_iou, j = max(candidates)
        if best_iou < tol.iou:
            problems.append(f"class {det['class_id']}: boxes differ (IoU {best_iou:.4f} < {tol.iou})")
        elif abs(det["score"] - b[j]["score"]) > tol.score:
            problems.append(f"class {det['class_id']}: scores differ ({det['score']:.4f} vs {b[j]['score']:.4f})")
        free.remove(j)
    problems += [f"class {b[j]['class_id']} (score {b[j]['score']:.3f}) only in B" for j in free]
    return problems


def compare(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], tol: Tolerance) -> list[dict[str, str]]:
    """Mismatches over all images: a dict per mismatch with the image and what differs.

    `a` and `b` map an image name to its `detections` record; an image that one side lacks is a mismatch.
    """
    mismatches = []
    for image in sorted(set(a) | set(b)):
        if image not in a or image not in b:
            side = "A" if image in a else "B"
            mismatches.append({"image": image, "problem": f"only {side} reported detections for this image"})
            continue
        for problem in match_image(a[image]["detections"], b[image]["detections"], tol):
            mismatches.append({"image": image, "problem": problem})
    return mismatches
