"""Backend and target names of the spec, mapped to OpenCV's cv::dnn enums (the same table in every runner)."""

from __future__ import annotations

import cv2

BACKENDS = {
    "default": cv2.dnn.DNN_BACKEND_DEFAULT,
    "opencv": cv2.dnn.DNN_BACKEND_OPENCV,
    "cuda": cv2.dnn.DNN_BACKEND_CUDA,
    "openvino": cv2.dnn.DNN_BACKEND_INFERENCE_ENGINE,
}
TARGETS = {
    "cpu": cv2.dnn.DNN_TARGET_CPU,
    "opencl": cv2.dnn.DNN_TARGET_OPENCL,
    "opencl_fp16": cv2.dnn.DNN_TARGET_OPENCL_FP16,
    "cuda": cv2.dnn.DNN_TARGET_CUDA,
    "cuda_fp16": cv2.dnn.DNN_TARGET_CUDA_FP16,
}
_TARGET_NAMES = {value: name for name, value in TARGETS.items()}


def available_targets(backend: str) -> list[str]:
    """Ask OpenCV which targets the backend really has: setPreferableTarget never fails, it falls back silently."""
    return [_TARGET_NAMES.get(int(t), f"target_{int(t)}") for t in cv2.dnn.getAvailableTargets(BACKENDS[backend])]
