"""Where each kind of runner lives, how it is built, and the argv that starts it (never through a shell)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .config import Runner, default_interpreter
from .errors import UserError

ROOT = Path(__file__).resolve().parent.parent
EXE = ".exe" if sys.platform == "win32" else ""
GO_DIR = ROOT / "go_runner"
GO_BINARY = GO_DIR / "bin" / f"go_runner{EXE}"
CPP_DIR = ROOT / "cpp_runner"
CPP_BUILD = CPP_DIR / "build"
CPP_BINARY = CPP_BUILD / f"cpp_runner{EXE}"
PY_SCRIPT = ROOT / "py_runner" / "runner.py"


def command(runner: Runner, spec_path: Path) -> list[str]:
    if runner.kind == "go":
        return [str(GO_BINARY), "--spec", str(spec_path)]
    if runner.kind == "cpp":
        return [str(CPP_BINARY), "--spec", str(spec_path)]
    return [runner.interpreter or default_interpreter(), str(PY_SCRIPT), "--spec", str(spec_path)]


def build(kind: str) -> None:
    """Build (or bring up to date) the runner of this kind; raises UserError with the build's own output."""
    if kind == "go":
        _tool("go", "Go 1.22 or newer (Debian: run `make setup`; elsewhere: https://go.dev/dl)")
        _run(["go", "build", "-o", str(GO_BINARY), "."], GO_DIR, "the Go runner")
    elif kind == "cpp":
        _tool("cmake", "CMake and a C++17 compiler (Debian: run `make setup`)")
        if not (CPP_BUILD / "CMakeCache.txt").is_file():
            _run(["cmake", "-S", str(CPP_DIR), "-B", str(CPP_BUILD), "-DCMAKE_BUILD_TYPE=Release"], ROOT,
                 "the C++ runner (configure)")
        _run(["cmake", "--build", str(CPP_BUILD), "-j", "2"], ROOT, "the C++ runner")


def _tool(name: str, what: str) -> None:
    if shutil.which(name) is None:
        raise UserError(f"`{name}` is not on PATH: install {what}, then run again.")


def _run(argv: list[str], cwd: Path, what: str) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise UserError(f"building {what} failed (`{' '.join(argv)}` in {cwd}):\n{tail}\n"
                        "Check that OpenCV's development files are installed (`python -m orchestrator doctor`).")
