"""`orchestrator validate`: every check `run` makes before its first measurement, without measuring or building.

`check` loads the config (a ConfigError names its file, line and key), expands the matrix, orders the processes
and writes each one's spec and argv in memory, as `run` does; then it checks what those processes need: each
python runner's interpreter and its `import cv2`, the Go and C++ runners' binary or the toolchain that builds it,
and vegeta (and the Python runner's web stack) when a scenario serves over HTTP. Nothing is written, built or
measured; importing this module does nothing. `run` makes the same checks (`inspect`) before its first process
and prints what it finds, all but the `import cv2` probe, which its runners then make themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import config as config_mod
from . import load, matrix, runners
from .errors import UserError
from .registry import scenario_type
from .runfolder import RunFolder

PROBE_TIMEOUT_S = 60.0  # an interpreter that needs longer than this to import cv2 is a problem in itself
CV2_PROBE = "import cv2; print(cv2.__version__)"
# What each native runner needs when its binary is not built yet: (its binary's path, or the function that
# finds it where the build put it; the tool on PATH that builds it; how to install that).
TOOLCHAINS = {
    "go": (runners.go_binary, "go", "Go 1.22 or newer (Debian: run `make setup`; elsewhere: https://go.dev/dl)"),
    "cpp": (runners.cpp_binary, "cmake", "CMake and a C++17 compiler (Debian: run `make setup`)"),
}


@dataclass(frozen=True)
class Problem:
    """One thing that would make cells fail: what it concerns, what is wrong, and how to fix it."""

    subject: str
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}" + (f" -> {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Plan:
    """What `run` would do with a config: its cells and processes, and the problems found on this machine."""

    config: config_mod.Config
    cells: int
    processes: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(config_path: str | os.PathLike, probe_timeout_s: float = PROBE_TIMEOUT_S) -> Plan:
    """Everything `run` checks before measuring. Raises UserError (a ConfigError for the config itself) where
    `run` would stop at once; returns the problems that would fail some cells."""
    return inspect(config_mod.load(Path(config_path)), probe_timeout_s)


def inspect(config: config_mod.Config, probe_timeout_s: float | None = PROBE_TIMEOUT_S) -> Plan:
    """The checks of a loaded config. `run` calls it with `probe_timeout_s=None`: it says up front what will
    fail, without the seconds of `import cv2` per interpreter (a runner that cannot import cv2 fails its own
    first process at once, with the error)."""
    config_path = config.path
    cells = matrix.expand(config)
    if not cells:
        raise UserError(f"{config_path}: matrix.exclude removes every cell; nothing to run")
    repeats = {s.name: s.repeats for s in config.scenarios}
    seed = 0 if config.seed is None else config.seed  # run draws one; the order does not change what runs
    plan = matrix.schedule(cells, repeats, config.order, seed)
    folder = RunFolder(Path("reports") / "validate")  # paths only: nothing is created
    interpreters: dict[tuple, list[str]] = {}  # (interpreter, its env) -> the runners that run it
    serving_python = False
    for cell, repeat in plan:
        spec = matrix.spec(config, cell, repeat)
        json.dumps(spec)  # run writes it as JSON
        argv = runners.command(cell.runner, folder.process(cell.id, repeat).spec)
        if cell.runner.kind == "python":
            names = interpreters.setdefault((argv[0], tuple(sorted(cell.runner.env.items()))), [])
            if cell.runner.name not in names:
                names.append(cell.runner.name)
        serves = scenario_type(cell.scenario.type).serves
        serving_python = serving_python or (serves and cell.runner.kind == "python")
    problems = [p for (interpreter, env), names in interpreters.items()
                for p in interpreter_problems(names, interpreter, probe_timeout_s, dict(env))]
    problems += native_problems(sorted({c.runner.kind for c in cells} - {"python"}))
    if any(scenario_type(c.scenario.type).serves for c in cells):
        problems += serving_problems(serving_python)
    return Plan(config, len(cells), len(plan), problems)


def find_interpreter(interpreter: str) -> str | None:
    """The interpreter's executable: a path that exists, or a bare name found on PATH; None if neither."""
    if os.sep in interpreter or (os.altsep and os.altsep in interpreter):
        return interpreter if Path(interpreter).is_file() and os.access(interpreter, os.X_OK) else None
    return shutil.which(interpreter)


def import_cv2(interpreter: str, timeout_s: float = PROBE_TIMEOUT_S, env: dict[str, str] | None = None
               ) -> tuple[bool, str]:
    """Run `import cv2` in the interpreter, with the runner's `env` added as `run` adds it: (True, its cv2
    version) or (False, the last line of the error)."""
    if find_interpreter(interpreter) is None:
        return False, f"{interpreter} not found"
    try:
        done = subprocess.run([interpreter, "-c", CV2_PROBE], capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return False, f"`import cv2` did not finish within {timeout_s:g} s"
    except OSError as exc:
        return False, f"cannot start {interpreter}: {exc.strerror or exc}"
    if done.returncode != 0:  # a traceback's last line says what went wrong
        lines = (done.stderr or done.stdout).strip().splitlines()
        return False, lines[-1] if lines else f"exit status {done.returncode}"
    lines = done.stdout.strip().splitlines()
    return True, lines[-1] if lines else "?"


def interpreter_problems(runners_: list[str], interpreter: str, timeout_s: float | None = PROBE_TIMEOUT_S,
                         env: dict[str, str] | None = None) -> list[Problem]:
    """The python runners (by name) that run this interpreter: is it there, and (with a timeout) does it
    import cv2?"""
    subject = f"runner{'s' if len(runners_) > 1 else ''} {', '.join(map(repr, runners_))} ({interpreter})"
    if find_interpreter(interpreter) is None:
        return [Problem(subject, "the interpreter is not there",
                        "fix the runner's `interpreter` (a path, or a name on PATH) or install it")]
    if timeout_s is None:
        return []
    ok, detail = import_cv2(interpreter, timeout_s, env)
    if ok:
        return []
    return [Problem(subject, f"`import cv2` fails: {detail}",
                    "Debian's python3: apt-get install python3-opencv; the project's venv: make setup")]


def native_problems(kinds: list[str]) -> list[Problem]:
    """A native runner needs its binary, or the toolchain that `run` builds it with."""
    out = []
    for kind in kinds:
        where, tool, what = TOOLCHAINS[kind]
        binary = where() if callable(where) else where
        if not binary.is_file() and shutil.which(tool) is None:
            out.append(Problem(f"the {kind} runner", f"{binary} is not built and `{tool}` is not on PATH to build it",
                               f"install {what}; `python -m orchestrator doctor` lists the rest"))
    return out


def serving_problems(python: bool) -> list[Problem]:
    """An http scenario: vegeta sends the load; a Python runner serves with FastAPI and uvicorn."""
    out = []
    if not load.VEGETA.is_file():
        out.append(Problem("the http scenario", f"vegeta is not installed ({load.VEGETA})",
                           f"run `make serving` (go install {load.VEGETA_MODULE})"))
    if python and not load.PYTHON_WEB_STACK.is_dir():
        out.append(Problem("the http scenario's Python runners",
                           f"FastAPI and uvicorn are not installed ({load.PYTHON_WEB_STACK})",
                           "run `make serving` (scripts/serving-requirements.txt into engines/python-http)"))
    return out


def main(config_path: Path) -> int:
    """`validate`: 0 when the config is valid and this machine has what it needs, 1 when problems were found
    (a ConfigError propagates: the CLI prints it and exits 2)."""
    plan = check(config_path)
    counts = f"{plan.cells} cells, {plan.processes} processes"
    if plan.ok:
        print(f"{config_path}: ok — {counts}")
        return 0
    print(f"{config_path}: {counts}; {len(plan.problems)} problem(s):")
    for problem in plan.problems:
        print(f"  - {problem.subject}: {problem.detail}")
        if problem.fix:
            print(f"    -> {problem.fix}")
    print(f"{config_path}: {len(plan.problems)} problem(s) would fail cells", file=sys.stderr)
    return 1
