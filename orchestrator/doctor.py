"""`orchestrator doctor`: check every prerequisite and say how to get what is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import engines
from .config import default_interpreter
from .runners import ROOT

DEBIAN_HINT = "run `make setup` (Debian/Ubuntu)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str


def _probe(argv: list[str]) -> tuple[bool, str]:
    if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
        return False, f"{argv[0]} not found"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    text = (done.stdout or done.stderr).strip().splitlines()
    return done.returncode == 0, (text[0] if text else "")


def checks(config_path: Path) -> list[Check]:
    out = []
    ok, detail = _probe(["go", "version"])
    out.append(Check("Go toolchain", ok, detail, "install Go >= 1.22 (https://go.dev/dl) or " + DEBIAN_HINT))
    ok, detail = _probe(["pkg-config", "--modversion", "opencv4"])
    out.append(Check("OpenCV headers (pkg-config opencv4)", ok, detail,
                     "Debian: apt-get install libopencv-dev pkg-config; Windows: OpenCV 4.6 built with MinGW "
                     "under C:/opencv/build/install (gocv's win_build_opencv.cmd)"))
    ok, detail = _probe(["cmake", "--version"])
    out.append(Check("CMake (C++ runner)", ok, detail, "Debian: apt-get install cmake g++"))
    ok, detail = _probe(["pkg-config", "--modversion", "nlohmann_json", "openssl"])
    out.append(Check("nlohmann-json and OpenSSL (C++ runner)", ok, detail,
                     "Debian: apt-get install nlohmann-json3-dev libssl-dev; elsewhere vcpkg or brew: "
                     "nlohmann-json openssl"))
    for name, interpreter in _interpreters(config_path):
        ok, detail = _probe([interpreter, "-c", "import cv2, numpy; print('cv2', cv2.__version__, 'numpy', "
                                                "numpy.__version__)"])
        out.append(Check(f"Python runner '{name}' ({interpreter})", ok, detail,
                         "Debian's python3: apt-get install python3-opencv; the venv: make setup"))
    out += ort_checks(_interpreters(config_path))
    for model in ("yolov5s-640.onnx", "yolov5s-320.onnx", "yolov5s-320-b4.onnx"):
        path = ROOT / "models" / model
        out.append(Check(f"model {model}", path.is_file(), str(path), "run `make models`"))
    images = ROOT / "data" / "images"
    count = len(list(images.glob("*.jpg"))) if images.is_dir() else 0
    out.append(Check("images", count >= 8, f"{count} images in {images}", "run `make data`"))
    video = ROOT / "data" / "video" / "vtest.avi"
    out.append(Check("video vtest.avi", video.is_file(), str(video), "run `make data`"))
    return out


ORT_FIX = "run `make onnxruntime` (part of `make setup`): it installs the pinned wheel in engines/onnxruntime"
# Run by each Python interpreter: the ORT that the runners use, its version and providers, on one line.
ORT_PROBE = ("import sys; sys.path.insert(0, sys.argv[1]); import onnxruntime as o; "
             "print(o.__version__, ','.join(o.get_available_providers()))")


def ort_checks(interpreters: list[tuple[str, str]], home: Path = engines.ORT_HOME) -> list[Check]:
    """ONNX Runtime: the library the Go and C++ runners load, the headers the C++ runner builds with, and the
    release and providers each Python interpreter imports from the same installation."""
    library = engines.default_library(home)
    header = home / "include" / "onnxruntime_c_api.h"
    out = [Check("ONNX Runtime library (Go, C++ runners)", library.is_file(), str(library), ORT_FIX),
           Check("ONNX Runtime C API headers (C++ runner)", header.is_file(), str(header), ORT_FIX)]
    for name, interpreter in interpreters:
        ok, detail = _probe([interpreter, "-c", ORT_PROBE, str(home)])
        version = engines.version_tuple(detail.split(" ")[0]) if ok else ()
        if ok and version < engines.ORT_MIN_VERSION:
            ok, detail = False, f"ONNX Runtime {detail.split(' ')[0]} is older than 1.24 (C API 24): {detail}"
        elif ok and detail.split(" ")[0] != engines.ORT_VERSION:
            ok, detail = False, f"ONNX Runtime {detail.split(' ')[0]}, the project pins {engines.ORT_VERSION}"
        out.append(Check(f"ONNX Runtime for '{name}' ({interpreter})", ok,
                         f"onnxruntime {detail}" if ok else detail, ORT_FIX))
    return out


def _interpreters(config_path: Path) -> list[tuple[str, str]]:
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        runners = [r for r in data.get("runners", []) if isinstance(r, dict) and r.get("kind") == "python"]
    except (OSError, yaml.YAMLError, AttributeError):
        return [("default", default_interpreter())]
    return [(str(r.get("name")), str(r.get("interpreter") or default_interpreter())) for r in runners]


def main(config_path: Path) -> int:
    results = checks(config_path)
    width = max(len(c.name) for c in results)
    for c in results:
        print(f"{'ok     ' if c.ok else 'MISSING'}  {c.name.ljust(width)}  {c.detail}")
        if not c.ok:
            print(f"         {''.ljust(width)}  -> {c.fix}")
    missing = sum(not c.ok for c in results)
    print("everything is in place" if not missing else f"{missing} prerequisite(s) missing", file=sys.stderr)
    return 0 if not missing else 1
