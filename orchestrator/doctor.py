"""`orchestrator doctor`: check every prerequisite and say how to get what is missing.

The fixes are Debian's apt-get lines and `make` targets, or on Windows (hostos.WINDOWS) the Windows steps:
Go's installer, MSYS2's MinGW-w64 gcc, CMake, OpenCV 4.6 built with MinGW as gocv's win_build_opencv.cmd does,
pip, and the commands a `make` target runs for who has no `make`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import config, engines, hostos, load, preflight
from .config import default_interpreter
from .engines import OnnxRuntime
from .errors import ConfigError
from .runners import ROOT

DEBIAN_HINT = "run `make setup` (Debian/Ubuntu)"
# Windows: what gocv v0.31.0 expects (its win_build_opencv.cmd, here for OpenCV 4.6.0) and MSYS2's MinGW-w64.
WIN_OPENCV = "C:/opencv/build/install"
WIN_MINGW_BIN = r"C:\msys64\mingw64\bin"
WINDOWS_FIXES = {
    "go": "install Go >= 1.22 with the Windows installer from https://go.dev/dl, then open a new terminal",
    "gcc": ("install MSYS2 (https://www.msys2.org), in its MINGW64 shell run `pacman -S mingw-w64-x86_64-gcc "
            f"mingw-w64-x86_64-pkgconf`, and put {WIN_MINGW_BIN} on PATH: cgo and the C++ runner need this gcc, "
            "and OpenCV must be built with the same one"),
    "opencv": ("build OpenCV 4.6.0 with MinGW-w64 as gocv v0.31.0's win_build_opencv.cmd does (cmake -G \"MinGW "
               "Makefiles\" ... -DOPENCV_GENERATE_PKGCONFIG=ON, then mingw32-make install; about an hour) into "
               f"{WIN_OPENCV}; put {WIN_OPENCV}/x64/mingw/bin on PATH (its DLLs), the folder holding its "
               f"opencv4.pc on PKG_CONFIG_PATH, and set OpenCV_DIR={WIN_OPENCV} for CMake"),
    "cmake": ("install CMake >= 3.16 (https://cmake.org/download, or MSYS2: pacman -S mingw-w64-x86_64-cmake); "
              "the orchestrator builds the C++ runner with the \"MinGW Makefiles\" generator"),
    "json": "MSYS2 (MINGW64): pacman -S mingw-w64-x86_64-nlohmann-json mingw-w64-x86_64-openssl",
    "httplib": "MSYS2 (MINGW64): pacman -S mingw-w64-x86_64-cpp-httplib",
    "vegeta": (f"in PowerShell: $env:GOBIN = \"$PWD\\engines\\bin\"; go install {load.VEGETA_MODULE} "
               "(what `make serving` does)"),
    "web": (r"python -m pip install --no-deps --only-binary=:all: --target engines\python-http "
            r"-r scripts\serving-requirements.txt (what `make serving` does)"),
    "cv2": ("install Python 3.11 (https://www.python.org) and in that interpreter `python -m pip install "
            "opencv-python` (an MSVC build, CPU only: another OpenCV build than the Go and C++ runners', and the "
            r"report says so); the project's venv: python -m venv .venv, then .venv\Scripts\python -m pip "
            "install -e ."),
    "ort": (rf"python -m pip install --no-deps --target engines\onnxruntime onnxruntime=={engines.ORT_VERSION}; "
            "its C API headers: `go mod download -json github.com/yalue/onnxruntime_go@v1.27.0` and copy "
            r"onnxruntime_c_api.h and onnxruntime_ep_c_api.h from that folder into engines\onnxruntime\include "
            "(what `make onnxruntime` does)"),
    "models": (r"run `make models` on Debian/Ubuntu or in WSL (the export uses Debian's PyTorch) and copy "
               r"models\*.onnx here"),
    "data": r"run `make data` on Debian/Ubuntu or in WSL (Debian packages hold the images) and copy data\ here",
    "make": ("optional: MSYS2's `pacman -S make` runs the Makefile's targets from an MSYS2 shell; without it run "
             "`python -m orchestrator run CONFIG` directly (it builds the Go and C++ runners itself)"),
}


def fix(debian: str, windows_key: str) -> str:
    """The way to get a missing piece on this OS: Debian's, or WINDOWS_FIXES[windows_key] on Windows."""
    return WINDOWS_FIXES[windows_key] if hostos.WINDOWS else debian


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
    if done.returncode != 0:  # the last line of an error says what it is (a traceback's first line does not)
        text = (done.stderr or done.stdout).strip().splitlines()
        return False, (text[-1] if text else f"exit status {done.returncode}")
    text = (done.stdout or done.stderr).strip().splitlines()
    return True, (text[0] if text else "")


def checks(config_path: Path) -> list[Check]:
    out = []
    ok, detail = _probe(["go", "version"])
    out.append(Check("Go toolchain", ok, detail, fix("install Go >= 1.22 (https://go.dev/dl) or " + DEBIAN_HINT,
                                                      "go")))
    if hostos.WINDOWS:  # cgo and the C++ runner: on Debian `make setup` installs g++ with the rest
        ok, detail = _probe(["gcc", "--version"])
        out.append(Check("MinGW-w64 gcc (cgo, C++ runner)", ok, detail, WINDOWS_FIXES["gcc"]))
    ok, detail = _probe(["pkg-config", "--modversion", "opencv4"])
    out.append(Check("OpenCV headers (pkg-config opencv4)", ok, detail,
                     fix("Debian: apt-get install libopencv-dev pkg-config", "opencv")))
    ok, detail = _probe(["cmake", "--version"])
    out.append(Check("CMake (C++ runner)", ok, detail, fix("Debian: apt-get install cmake g++", "cmake")))
    ok, detail = _probe(["pkg-config", "--modversion", "nlohmann_json", "openssl"])
    out.append(Check("nlohmann-json and OpenSSL (C++ runner)", ok, detail,
                     fix("Debian: apt-get install nlohmann-json3-dev libssl-dev; elsewhere vcpkg or brew: "
                         "nlohmann-json openssl", "json")))
    ok, detail = _probe([str(load.VEGETA), "-version"])
    out.append(Check("vegeta (the http scenario's load)", ok, detail or str(load.VEGETA),
                     fix(f"run `make serving` (go install {load.VEGETA_MODULE})", "vegeta")))
    # Only Debian's header is looked for; elsewhere CMake's configure step says whether it is found.
    out.append(Check("cpp-httplib (the C++ runner's HTTP server)", Path("/usr/include/httplib.h").is_file()
                     or not hostos.LINUX, "httplib.h", fix("Debian: apt-get install libcpp-httplib-dev", "httplib")))
    for name, interpreter in _interpreters(config_path):
        ok, detail = _probe([interpreter, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import fastapi, "
                                                "uvicorn; print('fastapi', fastapi.__version__)",
                             str(load.PYTHON_WEB_STACK)])
        out.append(Check(f"FastAPI and uvicorn for {name} (http scenario)", ok, detail,
                         fix("run `make serving` (scripts/serving-requirements.txt into engines/python-http)",
                             "web")))
        ok, detail = preflight.import_cv2(interpreter)  # the version, or the last line of the error it got
        out.append(Check(f"Python runner '{name}' ({interpreter}): import cv2", ok,
                         f"cv2 {detail}" if ok else detail,
                         fix("Debian's python3: apt-get install python3-opencv; the venv: make setup", "cv2")))
    out += ort_checks(_interpreters(config_path), *_ort_of(config_path))
    for model in ("yolov5s-640.onnx", "yolov5s-320.onnx", "yolov5s-320-b4.onnx"):
        path = ROOT / "models" / model
        out.append(Check(f"model {model}", path.is_file(), str(path), fix("run `make models`", "models")))
    images = ROOT / "data" / "images"
    count = len(list(images.glob("*.jpg"))) if images.is_dir() else 0
    out.append(Check("images", count >= 8, f"{count} images in {images}", fix("run `make data`", "data")))
    video = ROOT / "data" / "video" / "vtest.avi"
    out.append(Check("video vtest.avi", video.is_file(), str(video), fix("run `make data`", "data")))
    if hostos.WINDOWS:  # never missing: every make target has its commands above, and `run` builds the runners
        where = shutil.which("make")
        out.append(Check("make (optional on Windows)", True, where or "not found: " + WINDOWS_FIXES["make"], ""))
    return out


ORT_FIX = "run `make onnxruntime` (part of `make setup`): it installs the pinned wheel in engines/onnxruntime"
# Run by each Python interpreter: the ORT that the runners use, its version and providers, on one line.
ORT_PROBE = ("import sys; sys.path.insert(0, sys.argv[1]); import onnxruntime as o; "
             "print(o.__version__, ','.join(o.get_available_providers()))")


def ort_checks(interpreters: list[tuple[str, str]], ort: OnnxRuntime | None = None, used: bool = True
               ) -> list[Check]:
    """ONNX Runtime: the C API headers every build of the native runners needs; and, when the config runs the
    onnxruntime engine, the library the Go and C++ runners load and the release and providers each Python
    interpreter imports from the config's installation (the pinned release for the default one)."""
    ort = ort or OnnxRuntime(engines.default_library(), engines.ORT_HOME)
    header = engines.ORT_HOME / "include" / "onnxruntime_c_api.h"
    pinned_fix = fix(ORT_FIX, "ort")
    out = [Check("ONNX Runtime C API headers (Go, C++ runners)", header.is_file(), str(header), pinned_fix)]
    if not used:
        return out
    pinned = ort.library == engines.default_library()
    how = pinned_fix if pinned else ("install the ONNX Runtime that the config's onnxruntime.library and python_path "
                                     "name (configs/gpu.yaml: run it through scripts/gpu_check.sh)")
    out.append(Check("ONNX Runtime library (Go, C++ runners)", ort.library.is_file(), str(ort.library), how))
    for name, interpreter in interpreters:
        ok, detail = _probe([interpreter, "-c", ORT_PROBE, str(ort.python_path)])
        version = detail.split(" ")[0] if ok else ""
        if ok and engines.version_tuple(version) < engines.ORT_MIN_VERSION:
            ok, detail = False, f"ONNX Runtime {version} is older than 1.24 (C API 24): {detail}"
        elif ok and pinned and version != engines.ORT_VERSION:
            ok, detail = False, f"ONNX Runtime {version}, the project pins {engines.ORT_VERSION}"
        out.append(Check(f"ONNX Runtime for '{name}' ({interpreter})", ok,
                         f"onnxruntime {detail}" if ok else detail, how))
    return out


def _ort_of(config_path: Path) -> tuple[OnnxRuntime | None, bool]:
    """The config's ONNX Runtime installation, and whether any of its cells uses it (files not checked here)."""
    try:
        c = config.parse(config_path.read_text(encoding="utf-8"), config_path, check_files=False)
    except (OSError, UnicodeDecodeError, ConfigError):
        return None, True  # an unreadable config: check the default installation
    used = "onnxruntime" in c.engines or any(r.engines and "onnxruntime" in r.engines for r in c.runners)
    return c.onnxruntime, used


def _interpreters(config_path: Path) -> list[tuple[str, str]]:
    """(name, interpreter) of each python runner, the interpreter resolved as `run` resolves it (a path relative
    to the config's folder, `~` and `$VARIABLES` expanded); a config that does not parse: as written."""
    try:
        parsed = config.parse(config_path.read_text(encoding="utf-8"), config_path, check_files=False)
        return [(r.name, r.interpreter or default_interpreter()) for r in parsed.runners if r.kind == "python"]
    except (OSError, UnicodeDecodeError, ConfigError):
        pass
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
