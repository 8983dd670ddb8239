"""Where each kind of runner lives, how it is built, and the argv that starts it (never through a shell)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from . import hostos
from .config import Runner, default_interpreter
from .errors import UserError

ROOT = Path(__file__).resolve().parent.parent
GO_DIR = ROOT / "go_runner"
CPP_DIR = ROOT / "cpp_runner"
CPP_BUILD = CPP_DIR / "build"
PY_SCRIPT = ROOT / "py_runner" / "runner.py"
# Windows: the C++ runner is built with MinGW-w64 (the OpenCV that gocv links is a MinGW build, and the C++ runner
# must share it), one configuration in build/. A multi-config generator (Visual Studio, set through CMake's
# CMAKE_GENERATOR) puts it in build/Release/, where cpp_binary() looks too.
WINDOWS_GENERATOR = "MinGW Makefiles"


def go_binary() -> Path:
    return GO_DIR / "bin" / hostos.exe("go_runner")


def cpp_binary() -> Path:
    """The C++ runner: build/cpp_runner, or (Windows, a multi-config generator) build/Release/cpp_runner.exe."""
    single = CPP_BUILD / hostos.exe("cpp_runner")
    multi = CPP_BUILD / "Release" / hostos.exe("cpp_runner")
    return multi if hostos.WINDOWS and multi.is_file() and not single.is_file() else single


# This host's paths when this module was imported, for the readers that take them once (preflight's TOOLCHAINS);
# command() and build() ask the functions, which follow the hostos seam and a build made since.
EXE = hostos.exe("")
GO_BINARY = go_binary()
CPP_BINARY = cpp_binary()


def command(runner: Runner, spec_path: Path) -> list[str]:
    if runner.kind == "go":
        return [str(go_binary()), "--spec", str(spec_path)]
    if runner.kind == "cpp":
        return [str(cpp_binary()), "--spec", str(spec_path)]
    return [runner.interpreter or default_interpreter(), str(PY_SCRIPT), "--spec", str(spec_path)]


def build(kind: str) -> None:
    """Build (or bring up to date) the runner of this kind; raises UserError with the build's own output."""
    if kind == "go":
        _tool("go", "Go 1.22 or newer (Debian: run `make setup`; elsewhere: https://go.dev/dl)")
        _run(["go", "build", "-o", str(go_binary()), "."], GO_DIR, "the Go runner")
    elif kind == "cpp":
        _tool("cmake", "CMake and a C++17 compiler (Debian: run `make setup`)")
        if not (CPP_BUILD / "CMakeCache.txt").is_file():
            _run(configure_argv(), ROOT, "the C++ runner (configure)")
        _run(build_argv(), ROOT, "the C++ runner")


def configure_argv() -> list[str]:
    """cmake's configure step. On Windows the MinGW generator unless the user chose one (CMAKE_GENERATOR):
    CMake would otherwise pick Visual Studio, whose compiler cannot link the MinGW-built OpenCV."""
    argv = ["cmake", "-S", str(CPP_DIR), "-B", str(CPP_BUILD), "-DCMAKE_BUILD_TYPE=Release"]
    if hostos.WINDOWS and not os.environ.get("CMAKE_GENERATOR"):
        argv += ["-G", WINDOWS_GENERATOR]
    return argv


def build_argv() -> list[str]:
    # --config Release: a multi-config generator builds Debug otherwise; single-config ones ignore it.
    return ["cmake", "--build", str(CPP_BUILD), "--config", "Release", "-j", "2"]


def _tool(name: str, what: str) -> None:
    if shutil.which(name) is None:
        raise UserError(f"`{name}` is not on PATH: install {what}, then run again.")


def _run(argv: list[str], cwd: Path, what: str) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise UserError(f"building {what} failed (`{' '.join(argv)}` in {cwd}):\n{tail}\n"
                        "Check that OpenCV's development files are installed (`python -m orchestrator doctor`).")
