"""Shared helpers. Integration tests need the real models and images: `make test` fetches them first."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODEL_320 = ROOT / "models" / "yolov5s-320.onnx"
MODEL_640 = ROOT / "models" / "yolov5s-640.onnx"
IMAGES = ROOT / "data" / "images"
SYSTEM_PYTHON = "/usr/bin/python3"

sys.path.insert(0, str(ROOT / "py_runner"))


@pytest.fixture(scope="session")
def real_assets() -> None:
    """Fail (not skip) when the real model or images are missing: a skipped real test proves nothing."""
    missing = [str(p) for p in (MODEL_320, MODEL_640, IMAGES / "bus.jpg") if not p.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make models data` first")
