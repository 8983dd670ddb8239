"""The orchestrator's Windows code paths, run on this kernel with the hostos seam set to Windows.

What is faked, and only that (tests/conftest.py, `windows`): orchestrator/hostos.py says Windows; the POSIX-only
os functions are removed from this process, as they are absent on Windows; Popen takes its arguments as Windows'
Popen does (creationflags recorded, then dropped: Linux refuses them); kernel32 is a recording FakeKernel32. The
runner processes, their pipes, psutil (affinity, members, kill) and the files are real. Nothing here proves that
Windows itself accepts these calls: that needs a Windows machine.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, FakeKernel32

from orchestrator import child, cli, config, doctor, engines, hostos, preflight, quiet, runners, sampling
from orchestrator.errors import Terminated

GETSID = getattr(os, "getsid", None)  # taken before a test removes it
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_the_job_structures_have_the_win64_layout() -> None:
    """SetInformationJobObject checks the size it is given: 144 bytes for JOBOBJECT_EXTENDED_LIMIT_INFORMATION
    on 64-bit Windows (whose C alignment rules ctypes follows here too)."""
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        pytest.skip("the layout checked is 64-bit Windows'")
    assert child._BasicLimits.LimitFlags.offset == 16 and child._BasicLimits.Affinity.offset == 48
    assert ctypes.sizeof(child._BasicLimits) == 64 and ctypes.sizeof(child._IoCounters) == 48
    assert child.ExtendedLimits.IoInfo.offset == 64 and child.ExtendedLimits.ProcessMemoryLimit.offset == 112
    assert ctypes.sizeof(child.ExtendedLimits) == 144
    assert child.JobPids.ProcessIdList.offset == 8


def test_binaries_vegeta_and_ort_have_their_windows_names_from_a_fresh_import() -> None:
    """runners' and load's paths are taken at import: a fresh interpreter with the seam set first."""
    script = ("import json; from orchestrator import hostos; hostos.WINDOWS, hostos.LINUX, hostos.PROCFS = True, "
              "False, False\nfrom orchestrator import engines, load, runners\nfrom orchestrator.config import Runner\n"
              "print(json.dumps({'go': runners.GO_BINARY.name, 'cpp': runners.CPP_BINARY.name, "
              "'vegeta': str(load.VEGETA.relative_to(runners.ROOT)), 'ort': engines.default_library().name, "
              "'argv': runners.command(Runner('g', 'go'), runners.ROOT / 's.json')[0]}))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["go"] == "go_runner.exe" and got["cpp"] == "cpp_runner.exe" and got["ort"] == "onnxruntime.dll"
    assert Path(got["vegeta"]).parts == ("engines", "bin", "vegeta.exe")
    assert got["argv"].endswith("go_runner.exe")


def test_runner_argv_and_the_cpp_build_on_windows(windows: tuple, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "spec.json"
    assert runners.command(config.Runner("g", "go"), spec) == [str(runners.GO_DIR / "bin" / "go_runner.exe"),
                                                               "--spec", str(spec)]
    monkeypatch.setattr(runners, "CPP_BUILD", tmp_path / "build")
    assert runners.command(config.Runner("c", "cpp"), spec)[0] == str(tmp_path / "build" / "cpp_runner.exe")
    (tmp_path / "build" / "Release").mkdir(parents=True)
    (tmp_path / "build" / "Release" / "cpp_runner.exe").write_bytes(b"MZ")  # what MSVC's multi-config build makes
    assert runners.cpp_binary() == tmp_path / "build" / "Release" / "cpp_runner.exe"
    (tmp_path / "build" / "cpp_runner.exe").write_bytes(b"MZ")  # MinGW's single-config build wins
    assert runners.cpp_binary() == tmp_path / "build" / "cpp_runner.exe"
    monkeypatch.delenv("CMAKE_GENERATOR", raising=False)
    assert runners.configure_argv()[-2:] == ["-G", "MinGW Makefiles"]
    monkeypatch.setenv("CMAKE_GENERATOR", "Visual Studio 17 2022")  # the user's choice is kept
    assert "-G" not in runners.configure_argv()
    assert runners.build_argv()[3:5] == ["--config", "Release"]
    assert runners.command(config.Runner("p", "python", interpreter="C:/Python311/python.exe"), spec)[0] == \
        "C:/Python311/python.exe"


def test_the_linux_paths_stay_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    if hostos.WINDOWS:
        pytest.skip("this machine is Windows")
    monkeypatch.delenv("CMAKE_GENERATOR", raising=False)
    assert runners.go_binary().name == "go_runner" and runners.cpp_binary() == runners.CPP_BUILD / "cpp_runner"
    assert "-G" not in runners.configure_argv()
    assert hostos.venv_python(Path("v")) == Path("v") / "bin" / "python"
    assert engines.default_library().name == f"libonnxruntime.so.{engines.ORT_VERSION}"
    assert hostos.stop_signals() == [signal.SIGTERM]


def test_the_default_interpreter_on_windows(windows: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hostos.venv_python(tmp_path / ".venv") == tmp_path / ".venv" / "Scripts" / "python.exe"
    pythonw = tmp_path / "pythonw.exe"
    monkeypatch.setattr(sys, "executable", str(pythonw))
    assert config.default_interpreter() == str(pythonw)  # no python.exe beside it: as it is
    (tmp_path / "python.exe").write_bytes(b"MZ")
    assert config.default_interpreter() == str(tmp_path / "python.exe")  # pythonw has no console streams
    monkeypatch.setattr(sys, "executable", "")  # an embedding program
    assert config.default_interpreter() == str(engines.ROOT / ".venv" / "Scripts" / "python.exe")


def test_a_runner_goes_into_a_job_and_the_job_stops_it(windows: tuple) -> None:
    """Create, set KILL_ON_JOB_CLOSE, assign the child, terminate on kill, close: in that order, on a real child
    started without a session; no POSIX-only call (they are gone from os) is reached."""
    kernel32, popen = windows
    start = time.monotonic()
    tree = child.start(SLEEPER, dict(os.environ), subprocess.DEVNULL, [0])
    pid = tree.proc.pid
    try:
        assert popen[-1] == ("Popen", hostos.CREATE_NEW_PROCESS_GROUP, False)  # a new group, no new session
        if GETSID is not None:
            assert GETSID(pid) != pid  # so the job, not a session, holds the tree
        assert psutil.Process(pid).cpu_affinity() == [0]  # pinned through psutil, not sched_setaffinity
        assert kernel32.names() == ["CreateJobObjectW", "SetInformationJobObject", "OpenProcess",
                                    "AssignProcessToJobObject", "CloseHandle"]
        create, info, opened, assign, close_process = kernel32.calls
        job = tree.job.handle
        assert create == ("CreateJobObjectW", None, None) and job in kernel32.jobs
        assert info[1:] == (job, child.JOB_EXTENDED_LIMIT_INFORMATION, child.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
                            ctypes.sizeof(child.ExtendedLimits))
        process = next(h for h, p in kernel32.processes.items() if p == pid)
        assert opened == ("OpenProcess", child.PROCESS_SET_QUOTA | child.PROCESS_TERMINATE, False, pid)
        assert assign == ("AssignProcessToJobObject", job, process) and close_process == ("CloseHandle", process)
        assert not _gone(pid, 0.2)
        tree.kill()
        assert kernel32.acts()[5:] == [("TerminateJobObject", job, child.JOB_KILL_EXIT_CODE), ("CloseHandle", job)]
        assert _gone(pid) and tree.proc.returncode is not None
        tree.close()  # once only: the handle is not closed twice
        assert kernel32.names().count("CloseHandle") == 2
    finally:
        if tree.proc.poll() is None:
            tree.proc.kill()
            tree.proc.wait(10)
    assert time.monotonic() - start < 30


def test_a_grandchild_whose_parent_ended_is_found_and_killed_through_the_job(windows: tuple) -> None:
    """On Windows nothing re-parents an orphan to the runner; its job still lists it (here: added to the fake
    job as Windows adds a member's child), so it is a straggler and killed."""
    kernel32, _ = windows
    code = ("import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
            "start_new_session=True); print(p.pid, flush=True)")
    tree = child.start([sys.executable, "-c", code], dict(os.environ), subprocess.DEVNULL, None)
    assert tree.proc.stdout is not None and tree.proc.stderr is not None
    grandchild = int(tree.proc.stdout.readline())
    try:
        kernel32.jobs[tree.job.handle].append(grandchild)
        tree.proc.wait(timeout=30)
        assert grandchild not in [c.pid for c in psutil.Process().children(recursive=True)]  # psutil cannot see it
        assert [p.pid for p in tree.stragglers(wait_s=0.2)] == [grandchild]
        assert tree.holders([tree.proc.stdout]) == []  # Windows: no /proc; the job already named every member
        tree.kill()
        assert _gone(grandchild)
    finally:
        if psutil.pid_exists(grandchild):
            psutil.Process(grandchild).kill()
        tree.proc.stdout.close()
        tree.proc.stderr.close()


def test_a_refused_job_leaves_the_psutil_stop(monkeypatch: pytest.MonkeyPatch, windows: tuple) -> None:
    """Windows may refuse the assignment (an old Windows, a job without nesting): the job is closed again and the
    runner is still stopped through its pids."""
    refusing = FakeKernel32(refuse="AssignProcessToJobObject")
    monkeypatch.setattr(child, "kernel32", lambda: refusing)
    tree = child.start(SLEEPER, dict(os.environ), subprocess.DEVNULL, None)
    assert tree.job is None
    assert refusing.acts()[-1] == ("CloseHandle", next(iter(refusing.jobs)))  # the job is closed again
    tree.kill()
    assert _gone(tree.proc.pid)


def test_a_fault_in_the_job_calls_never_leaves_the_runner_running(monkeypatch: pytest.MonkeyPatch,
                                                                  windows: tuple) -> None:
    """A bug in the ctypes calls (not a refusal, which is an OSError) stops the start loudly, runner killed."""
    def broken() -> FakeKernel32:
        raise AttributeError("module 'ctypes' has no attribute 'WinDLL'")  # what the real loader says on Linux
    monkeypatch.setattr(child, "kernel32", broken)
    before = {p.pid for p in psutil.Process().children()}
    with pytest.raises(AttributeError):
        child.start(SLEEPER, dict(os.environ), subprocess.DEVNULL, None)
    assert {p.pid for p in psutil.Process().children()} == before


def test_the_machine_readings_take_their_windows_branch(windows: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not hasattr(os, "getloadavg") and not hasattr(os, "sched_getaffinity")
    assert quiet.load_average() is None
    assert hostos.usable_cpus() == len(psutil.Process().cpu_affinity())
    monkeypatch.setattr(sampling, "PROC", "/nonexistent")  # reading /proc would fail: psutil must answer
    proc = subprocess.Popen(SLEEPER)
    try:
        assert sampling._members(proc.pid) == [proc.pid]
        rss, _, threads = sampling._tree([proc.pid])
        assert rss > 0 and threads >= 1
        assert sampling._pss([proc.pid]) > 0  # the private working set (uss) stands in
    finally:
        proc.kill()
        proc.wait(10)


def test_ctrl_break_stops_a_run_like_sigterm(windows: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    registered: dict[int, object] = {}
    monkeypatch.setattr(signal, "signal", lambda signum, handler: registered.__setitem__(signum, handler))
    cli._on_sigterm()
    assert list(registered) == [signal.SIGTERM]  # this Python has no SIGBREAK: nothing missing is named
    monkeypatch.setattr(signal, "SIGBREAK", 21, raising=False)  # Windows' value
    cli._on_sigterm()
    assert list(registered) == [signal.SIGTERM, 21]
    with pytest.raises(Terminated):
        registered[21](21, None)  # type: ignore[operator]
    monkeypatch.setattr(hostos, "WINDOWS", False)
    assert hostos.stop_signals() == [signal.SIGTERM]  # SIGBREAK is Windows' only


def _doctor_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, doctor.Check]:
    monkeypatch.setattr(doctor, "_probe", lambda argv: (False, f"{argv[0]} not found"))
    monkeypatch.setattr(preflight, "import_cv2", lambda interpreter: (False, "No module named 'cv2'"))
    monkeypatch.setattr(doctor, "ROOT", tmp_path)  # no models, no data
    cfg = tmp_path / "c.yaml"
    cfg.write_text("runners:\n  - {name: py, kind: python}\n", encoding="utf-8")
    return {c.name: c for c in doctor.checks(cfg)}


def test_doctor_gives_the_windows_steps(windows: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = _doctor_fixes(tmp_path, monkeypatch)
    fixes = {name: c.fix for name, c in checks.items()}
    assert "go.dev/dl" in fixes["Go toolchain"] and "installer" in fixes["Go toolchain"]
    assert "MSYS2" in fixes["MinGW-w64 gcc (cgo, C++ runner)"] and "mingw-w64-x86_64-gcc" in \
        fixes["MinGW-w64 gcc (cgo, C++ runner)"]
    opencv = fixes["OpenCV headers (pkg-config opencv4)"]
    assert all(s in opencv for s in ("4.6.0", "win_build_opencv.cmd", "MinGW", "C:/opencv/build/install",
                                     "x64/mingw/bin on PATH", "PKG_CONFIG_PATH"))
    assert "cmake.org" in fixes["CMake (C++ runner)"] and "MinGW Makefiles" in fixes["CMake (C++ runner)"]
    assert "pip install opencv-python" in next(f for n, f in fixes.items() if n.startswith("Python runner 'py'"))
    assert "$env:GOBIN" in fixes["vegeta (the http scenario's load)"]
    ort = fixes["ONNX Runtime C API headers (Go, C++ runners)"]
    assert "pip install --no-deps --target engines\\onnxruntime" in ort and "onnxruntime_go" in ort
    assert "WSL" in fixes["model yolov5s-640.onnx"] and "WSL" in fixes["images"]
    assert checks["make (optional on Windows)"].ok  # without make, the orchestrator's commands run directly
    assert "python -m orchestrator run CONFIG" in doctor.WINDOWS_FIXES["make"]
    assert not any("apt-get" in f for f in fixes.values()), [f for f in fixes.values() if "apt-get" in f]


def test_doctor_keeps_the_debian_steps_off_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hostos, "WINDOWS", False)
    fixes = {name: c.fix for name, c in _doctor_fixes(tmp_path, monkeypatch).items()}
    assert "apt-get install libopencv-dev" in fixes["OpenCV headers (pkg-config opencv4)"]
    assert not any("MSYS2" in f or "Windows" in f for f in fixes.values())
    assert "make (optional on Windows)" not in fixes and "MinGW-w64 gcc (cgo, C++ runner)" not in fixes


# The suites whose code differs on Windows: whole runs (process control), validate (interpreters, binaries),
# reports. Config parsing and the matrix have no Windows branch of their own (the tests above cover the paths
# they read), so they are left to the plain run, to keep `make test` short.
NESTED = ["tests/test_run_with_fakes.py", "tests/test_validate.py", "tests/test_golden.py"]
# Of the whole runs, those that exercise process control (a crash, a hang, garbage, an error record, a missing
# backend, CPU affinity, the interleaved order, a real verdict); the rest differ only in their statistics. Not the
# Ctrl-C test: it sends the signal with os.killpg, which Windows lacks.
NESTED_RUNS = "not test_run_with_fakes or crash_hang or missing_backend or affinity or interleaved or slowdown"


def test_existing_suites_pass_on_the_windows_code_paths(tmp_path: Path) -> None:
    """Whole runs with the fake runner (and validate, golden reports) with Windows selected from
    the start (ORCH_FAKE_OS=windows, tests/conftest.py): every runner in a (fake) job, started without a session,
    stopped through the job and psutil; the kernel32 log shows the Windows path really ran."""
    log = tmp_path / "kernel32.json"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *NESTED, "-k", NESTED_RUNS]
    env = {**os.environ, "ORCH_FAKE_OS": "windows", "ORCH_FAKE_OS_LOG": str(log)}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    calls = json.loads(log.read_text(encoding="utf-8"))
    names = [c[0] for c in calls["kernel32"]]
    jobs = names.count("CreateJobObjectW")
    assert jobs > 50 and names.count("AssignProcessToJobObject") == jobs and "TerminateJobObject" in names
    assert names.count("CloseHandle") == 2 * jobs  # each process handle after assigning, each job at the end
    runner_starts = [p for p in calls["popen"] if p[1] == hostos.CREATE_NEW_PROCESS_GROUP]
    assert len(runner_starts) == jobs and not any(p[2] for p in runner_starts)
