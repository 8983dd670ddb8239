"""The engine axis (orchestrator/engines.py): config, cells and specs, the stream checks of an ONNX Runtime run,
its fairness checks, engine claims and doctor; then real runs of ORT through the orchestrator."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import IMAGES, MODEL_320, ROOT, SYSTEM_PYTHON

from orchestrator import claims, comparisons, config, doctor, engines, matrix, protocol
from orchestrator.errors import ConfigError

BASE = """\
name: t
models:
  - {name: m320, path: model.onnx, input_size: 320}
images: imgs
runners:
  - {name: go, kind: go}
  - {name: py, kind: python, interpreter: /usr/bin/python3}
scenarios:
  - {name: single, type: single}
  - {name: calls, type: call_overhead}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "model.onnx").write_bytes(b"x")
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.jpg").write_bytes(b"x")
    (tmp_path / "libonnxruntime.so").write_bytes(b"x")
    return tmp_path


def load(folder: Path, extra: str) -> config.Config:
    path = folder / "c.yaml"
    path.write_text(BASE + textwrap.dedent(extra))
    return config.load(path)


def fails(folder: Path, extra: str) -> str:
    with pytest.raises(ConfigError) as err:
        load(folder, extra)
    return str(err.value)


def test_an_engine_list_is_an_axis_with_one_cell_per_provider(folder: Path) -> None:
    c = load(folder, """\
        engine: [opencv, onnxruntime]
        onnxruntime: {library: libonnxruntime.so, provider: [cpu, cuda]}
        """)
    cells = matrix.expand(c)
    single = [(x.runner.name, x.engine, x.provider, x.label) for x in cells if x.scenario.type == "single"]
    assert single == [("go", "opencv", "", "single"), ("go", "onnxruntime", "cpu", "single ort-cpu"),
                      ("go", "onnxruntime", "cuda", "single ort-cuda"), ("py", "opencv", "", "single"),
                      ("py", "onnxruntime", "cpu", "single ort-cpu"), ("py", "onnxruntime", "cuda", "single ort-cuda")]
    # call_overhead times calls into OpenCV, whatever the engine: one cell per runner
    assert [(x.runner.name, x.engine) for x in cells if x.scenario.type == "call_overhead"] == [
        ("go", "opencv"), ("py", "opencv")]
    spec = matrix.spec(c, cells[2])
    assert spec["engine"] == {"name": "onnxruntime", "provider": "cuda", "library": str(folder / "libonnxruntime.so"),
                              "python_path": str(engines.ORT_HOME)}
    assert "engine" not in matrix.spec(c, cells[0])  # OpenCV cells keep the spec of before


def test_a_runner_can_have_its_own_engines_and_a_rule_can_exclude_one(folder: Path) -> None:
    c = load(folder, """\
        engine: [opencv, onnxruntime]
        onnxruntime: {library: libonnxruntime.so}
        matrix:
          exclude: [{runner: go, engine: opencv}]
        """.replace("runners:", "runners:"))
    assert [(x.runner.name, x.engine) for x in matrix.expand(c) if x.scenario.type == "single"] == [
        ("go", "onnxruntime"), ("py", "opencv"), ("py", "onnxruntime")]
    text = BASE.replace("{name: go, kind: go}", "{name: go, kind: go, engine: onnxruntime}")
    (folder / "d.yaml").write_text(text + "onnxruntime: {library: libonnxruntime.so}\n")
    c = config.load(folder / "d.yaml")
    assert [(x.runner.name, x.engine) for x in matrix.expand(c) if x.scenario.type == "single"] == [
        ("go", "onnxruntime"), ("py", "opencv")]


@pytest.mark.parametrize("extra, where, what", [
    ("engine: tensorflow\n", ":11: engine", "'tensorflow' is not one of: opencv, onnxruntime"),
    ("engine: [opencv, trt]\n", ":11: engine[1]", "'trt' is not one of"),
    ("engine: []\n", ":11: engine", "at least one engine"),
    ("onnxruntime: {provider: rocm}\n", ":11: onnxruntime.provider", "'rocm' is not one of"),
    ("onnxruntime: {provider: [cpu, npu]}\n", ":11: onnxruntime.provider[1]", "'npu' is not one of"),
    ("onnxruntime: {providers: cpu}\n", ":11: onnxruntime", "providers"),
    ("engine: onnxruntime\nonnxruntime: {library: nowhere.so}\n", ":12: onnxruntime.library",
     "make onnxruntime"),
])
def test_bad_engine_settings_name_the_line_and_key(folder: Path, extra: str, where: str, what: str) -> None:
    text = fails(folder, extra)
    assert where in text and what in text, text


def test_an_orchestrator_without_onnxruntime_says_how_to_install_it(folder: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(engines, "ORT_HOME", folder / "absent")
    monkeypatch.setattr(engines, "default_library", lambda home=None: folder / "absent" / "lib.so")
    assert "make onnxruntime" in fails(folder, "engine: onnxruntime\n")
    load(folder, "engine: opencv\n")  # an OpenCV-only config does not need it


def _hello(engine: str = "onnxruntime", **ort: Any) -> dict[str, Any]:
    base = {"version": "1.32.0", "library": "/x/libonnxruntime.so.1.32.0", "library_sha256": "ab" * 32,
            "linked": False, "available_providers": ["CPUExecutionProvider"], "provider": "cpu",
            "session_options": {"intra_op_threads": 1, "inter_op_threads": 1, "execution_mode": "sequential",
                                "graph_optimization": "all"}}
    return {"engine": engine, "ort": {**base, **ort}}


def _stream(hello: dict[str, Any], providers: list[str] | None) -> protocol.Stream:
    load = {"type": "load", "model": "m", "load_ns": 1, **({"providers": providers} if providers else {})}
    return protocol.Stream(hello=hello, loads=[load])


ORT_SPEC = {"scenario": "single", "engine": {"name": "onnxruntime", "provider": "cpu"}}


def test_the_validator_holds_an_onnxruntime_stream_to_its_engine() -> None:
    assert protocol._engine(_stream(_hello(), ["CPUExecutionProvider"]), ORT_SPEC) == []
    assert "engine 'onnxruntime'" in protocol._engine(_stream({"engine": "opencv"}, None), ORT_SPEC)[0]
    assert "the hello says 'opencv'" in protocol._engine(_stream({}, None), ORT_SPEC)[0]  # an older runner
    assert "needs `ort`" in protocol._engine(_stream({"engine": "onnxruntime"}, None), ORT_SPEC)[0]
    assert "providers" in protocol._engine(_stream(_hello(), None), ORT_SPEC)[0]
    assert protocol._engine(_stream({"engine": "opencv"}, None), {"scenario": "single"}) == []


def test_a_session_on_another_provider_is_a_cpu_fallback() -> None:
    cuda = {**ORT_SPEC, "engine": {"name": "onnxruntime", "provider": "cuda"}}
    fell = protocol.ort_fallback(_stream(_hello(), ["CPUExecutionProvider"]), cuda)
    assert fell and "CUDAExecutionProvider" in fell
    assert protocol.ort_fallback(_stream(_hello(), ["CUDAExecutionProvider", "CPUExecutionProvider"]), cuda) is None
    assert protocol.ort_fallback(_stream(_hello(), ["CPUExecutionProvider"]), ORT_SPEC) is None


def _cell(runner: str, **ort: Any) -> dict[str, Any]:
    return {"runner": runner, "engine": "onnxruntime", "provider": "cpu", "ort": {**_hello()["ort"], **ort}}


def test_the_ort_checks_say_same_release_linked_copy_and_options() -> None:
    same = comparisons._ort_checks(_cell("go"), _cell("cpp"))
    assert [c["ok"] for c in same] == [True, True] and "the same library" in same[0]["detail"]
    linked = comparisons._ort_checks(_cell("go"), _cell("py", linked=True, library_sha256="cd" * 32))
    assert linked[0]["ok"] and "same release, py links its own copy" in linked[0]["detail"]
    older = comparisons._ort_checks(_cell("go"), _cell("py", version="1.31.1", library_sha256="cd" * 32))
    assert not older[0]["ok"] and "1.31.1" in older[0]["detail"]
    threads = comparisons._ort_checks(_cell("go"), _cell("py", session_options={"intra_op_threads": 2}))
    assert not threads[1]["ok"]
    assert not comparisons._ort_checks(_cell("go"), {"runner": "py", "ort": None})[0]["ok"]


def test_the_requested_provider_check_fails_when_a_session_used_another() -> None:
    cell = {"runner": "go", "engine": "onnxruntime", "provider": "cuda", "error": None, "target": None,
            "ort": {"session_providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]}}
    ok = comparisons._accelerator_check(cell, {**cell, "runner": "cpp"})
    assert ok["ok"] and "go: CUDAExecutionProvider" in ok["detail"]
    cpu = {**cell, "runner": "py", "ort": {"session_providers": ["CPUExecutionProvider"]}}
    bad = comparisons._accelerator_check(cell, cpu)
    assert not bad["ok"] and "py: the session uses CPUExecutionProvider, not CUDAExecutionProvider" in bad["detail"]
    assert not comparisons._accelerator_check(cell, {**cell, "runner": "cpp", "ort": None})["ok"]


def test_the_engine_table_needs_two_engines_or_providers() -> None:
    def cell(engine: str, provider: str) -> dict[str, Any]:
        return {"runner": "go", "kind": "go", "engine": engine, "provider": provider, "model": "m", "threads": 1,
                "scenario": "single", "status": "ok", "opencv": {"version": "4.6.0"}, "ort": {"version": "1.31.1"},
                "latency_ms": {"p50": 10.0, "process_median": {"ci95": [9.0, 11.0]}},
                "phases_ms": {"inference": {"p50": 8.0}}}
    assert engines.table([cell("opencv", "")]) == []
    rows = engines.table([cell("onnxruntime", "cpu"), cell("onnxruntime", "cuda")])
    assert [r["engine"] for r in rows] == ["ONNX Runtime 1.31.1 (cpu)", "ONNX Runtime 1.31.1 (cuda)"]
    assert rows[0]["single_p50_ms"] == 10.0 and rows[0]["single_ci95"] == [9.0, 11.0]


class _Cell:
    """What engine_parity reads of a cell: its info and its detections."""

    def __init__(self, engine: str, provider: str, score: float) -> None:
        self.info = {"runner": "go", "scenario_name": "single", "scenario": "single", "variant": {}, "model": "m",
                     "threads": 1, "engine": engine, "provider": provider,
                     "label": "single" + (f" ort-{provider}" if provider else "")}
        self._dets = {"a.jpg": {"image": "a.jpg", "detections": [{"class_id": 0, "score": score,
                                                                   "box": [0.0, 0.0, 10.0, 10.0]}]}}

    def detections(self) -> dict[str, Any]:
        return self._dets


def test_engine_parity_checks_every_provider_against_opencv() -> None:
    cells = [_Cell("opencv", "", 0.9), _Cell("onnxruntime", "cpu", 0.91), _Cell("onnxruntime", "cuda", 0.5)]
    got = {p["b"]: p["status"] for p in comparisons.engine_parity(cells, config.Parity())}
    assert got == {"ort-cpu": "pass", "ort-cuda": "fail"}  # the score moved beyond the cross-build 0.05


class _Arg:
    def __init__(self, shape: list[Any], name: str = "x", kind: str = "tensor(float)") -> None:
        self.shape, self.name, self.type = shape, name, kind


class _Session:
    def __init__(self, inp: list[Any], out: list[Any]) -> None:
        self._in, self._out = _Arg(inp, "images"), _Arg(out, "output")

    def get_inputs(self) -> list[_Arg]:
        return [self._in]

    def get_outputs(self) -> list[_Arg]:
        return [self._out]


@pytest.mark.parametrize("inp, out, batch, want", [
    ([1, 3, 320, 320], [1, 6300, 85], 1, [1, 6300, 85]),
    (["batch", 3, 320, 320], [None, 6300, 85], 4, [4, 6300, 85]),  # a dynamic batch takes the run's
    ([4, 3, 320, 320], [4, 6300, 85], 4, [4, 6300, 85]),
    ([4, 3, 320, 320], [4, 6300, 85], 2, "takes input 'images' of shape [4, 3, 320, 320], but the blob is [2, 3"),
    ([1, 3, "h", "w"], [1, 6300, 85], 1, "takes input"),  # only the batch may be dynamic
    ([1, 3, 320, 320], [1, "n", 85], 1, "needs every dimension but the batch fixed"),
    ([1, 3, 320, 320], [1, 6300], 1, "want [B, N, K]"),
    ([1, 3, 640, 640], [1, 25200, 85], 1, "input_size 320"),
])
def test_the_python_runner_checks_the_model_shapes_by_the_shared_rule(inp: list, out: list, batch: int,
                                                                      want: Any) -> None:
    import engine as py_engine
    from records import RunnerError
    if isinstance(want, list):
        assert py_engine.model_shapes("m.onnx", _Session(inp, out), batch, 320) == want
        return
    with pytest.raises(RunnerError) as err:
        py_engine.model_shapes("m.onnx", _Session(inp, out), batch, 320)
    assert err.value.code == "model_load" and want in str(err.value), str(err.value)


def _claim(**kw: Any) -> config.Claim:
    return config.Claim(claim="TensorRT 23 ms vs ORT 35 ms", metric="latency_mean", a="py", b="py", a_value=23,
                        b_value=35, model=None, a_engine="onnxruntime:tensorrt", b_engine="onnxruntime:cuda", **kw)


def test_an_engine_claim_is_not_comparable_without_its_hardware_or_engines() -> None:
    here = {"cpu_model": "Intel Xeon", "gpu": None}
    out = claims.check([_claim(hardware="RTX 3090")], [], here)[0]
    assert out["verdict"] == "not comparable" and "RTX 3090" in out["detail"] and "Intel Xeon" in out["detail"]
    out = claims.check([_claim(hardware="RTX 3090")], [], {"gpu": "NVIDIA GeForce RTX 3090, 550.1, 24 GiB"})[0]
    assert out["verdict"] == "not comparable" and "engine onnxruntime:tensorrt" in out["detail"]


def test_doctor_names_a_missing_onnxruntime_and_the_fix(tmp_path: Path) -> None:
    missing = engines.OnnxRuntime(tmp_path / "libonnxruntime.so", tmp_path)
    results = doctor.ort_checks([("py", sys.executable)], missing)
    assert [c.ok for c in results] == [True, False, False]  # the headers are there; the config's ORT is not
    assert "No module named 'onnxruntime'" in results[2].detail  # the error's last line, not "Traceback"
    assert all("scripts/gpu_check.sh" in c.fix for c in results[1:])
    assert len(doctor.ort_checks([("py", sys.executable)], missing, used=False)) == 1
    found = doctor.ort_checks([("system", SYSTEM_PYTHON)])
    assert all(c.ok for c in found), [c.detail for c in found]
    assert engines.ORT_VERSION in found[-1].detail and "CPUExecutionProvider" in found[-1].detail


# --- real runs ---------------------------------------------------------------------------------------------

RUNNERS = ("cpp", "go", "python-system", "python-pip")


def _run(folder: Path, body: str) -> dict[str, Any]:
    path = folder / "c.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: ort
        models: [{{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}]
        images: [{IMAGES / 'bus.jpg'}, {IMAGES / 'zidane.jpg'}, {IMAGES / 'dog.jpg'}, {IMAGES / 'horses.jpg'}]
        runners:
          - {{name: cpp, kind: cpp}}
          - {{name: go, kind: go}}
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}
          - {{name: python-pip, kind: python}}
        threads: 1
        """) + textwrap.dedent(body))
    out = folder / "run"
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(path), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((out / "summary.json").read_text())
    summary["_html"] = (out / "report.html").read_text(encoding="utf-8")
    return summary


@pytest.mark.integration
def test_onnxruntime_for_real_in_every_runner(tmp_path: Path, real_assets: None) -> None:
    s = _run(tmp_path, """\
        engine: [opencv, onnxruntime]
        scenarios: [{name: single, type: single, warmup: 1, iterations: 3, repeats: 1}]
        compare: [[go, python-system], [go, cpp], [go, python-pip]]
        """)
    cells = {(c["runner"], c["engine"]): c for c in s["cells"]}
    assert {c["status"] for c in s["cells"]} == {"ok"}, [(c["id"], c["error"]) for c in s["cells"]]
    for runner in RUNNERS:
        ort = cells[(runner, "onnxruntime")]["ort"]
        assert ort["version"] == engines.ORT_VERSION and ort["session_providers"][0] == "CPUExecutionProvider"
        assert ort["linked"] == runner.startswith("python")
    # Go and C++ load the very same file; the Pythons run the ORT linked into the same wheel's module
    assert cells[("go", "onnxruntime")]["ort"]["library_sha256"] == cells[("cpp", "onnxruntime")]["ort"][
        "library_sha256"]
    # within an engine every pair matches; across engines each runner matches itself within cross-build tolerances
    parity = {(p["a"], p["b"], p["scenario"]): p for p in s["parity"]}
    for pair in (("go", "python-system"), ("go", "cpp")):
        for label in ("single", "single ort-cpu"):
            assert parity[(*pair, label)]["status"] == "pass" and parity[(*pair, label)]["same_build"], pair
    assert {(p["runner"], p["status"]) for p in s["engine_parity"]} == {(r, "pass") for r in RUNNERS}
    fair = {(e["a"], e["b"]): {f["check"]: f for f in e["fairness"]} for e in s["comparisons"]
            if e["scenario"] == "single ort-cpu" and e["metric"] == "latency_p50"}
    assert fair[("go", "cpp")]["same ONNX Runtime release"]["ok"]
    assert "the same library" in fair[("go", "cpp")]["same ONNX Runtime release"]["detail"]
    release = fair[("go", "python-system")]["same ONNX Runtime release"]
    assert release["ok"] and "python-system links its own copy" in release["detail"], release
    assert len(s["engine_table"]) == 2 * len(RUNNERS)
    html = s["_html"]  # the chapter 4.1 table and the parity across engines, in the page
    assert 'id="engines"' in html and 'id="engine-parity"' in html
    pip_opencv = cells[("python-pip", "opencv")]["opencv"]["version"]
    assert html.count(f"ONNX Runtime {engines.ORT_VERSION} (cpu)") >= len(RUNNERS)
    assert f"OpenCV {pip_opencv} DNN" in html


@pytest.mark.integration
def test_a_cuda_request_on_the_cpu_library_is_never_measured(tmp_path: Path, real_assets: None) -> None:
    s = _run(tmp_path, """\
        engine: onnxruntime
        onnxruntime: {provider: cuda}
        on_unavailable: skip
        scenarios: [{name: single, type: single, warmup: 1, iterations: 2, repeats: 1}]
        """)
    for c in s["cells"]:
        assert c["status"] == "skipped" and c["iterations"] == 0, c
        assert c["error"].startswith("backend_unavailable") and "cuda" in c["error"], c["error"]


@pytest.mark.integration
def test_every_scenario_runs_on_onnxruntime_in_the_python_runner(tmp_path: Path, real_assets: None) -> None:
    """Go and C++ run theirs in their own end-to-end tests (go_runner/e2e_engine_test.go, ctest e2e_ort)."""
    model_b4 = ROOT / "models" / "yolov5s-320-b4.onnx"
    video = ROOT / "data" / "video" / "vtest.avi"
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: ort-scenarios
        models:
          - {{name: yolov5s-320, path: {MODEL_320}, input_size: 320}}
          - {{name: yolov5s-320-b4, path: {model_b4}, input_size: 320, batch: 4}}
        images: [{IMAGES / 'bus.jpg'}, {IMAGES / 'zidane.jpg'}, {IMAGES / 'dog.jpg'}, {IMAGES / 'horses.jpg'}]
        runners:
          - {{name: python-system, kind: python, interpreter: {SYSTEM_PYTHON}}}
        engine: onnxruntime
        threads: 1
        scenarios:
          - {{name: threads, type: concurrency, workers: [2], warmup: 1, iterations: 4, repeats: 1}}
          - {{name: processes, type: concurrency, workers: [2], python_mode: processes, warmup: 1, iterations: 4,
             repeats: 1}}
          - {{type: server, workers: 1, rates: [20], seed: 1, warmup: 1, iterations: 4, repeats: 1}}
          - {{type: batch, batch: 4, warmup: 1, iterations: 2, repeats: 1}}
          - {{type: video, video: {video}, warmup: 1, iterations: 3, repeats: 1}}
        """))
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(path), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    s = json.loads((out / "summary.json").read_text())
    assert {c["scenario_name"]: c["status"] for c in s["cells"]} == {
        "threads": "ok", "processes": "ok", "server": "ok", "batch": "ok", "video": "ok"}, [
        (c["id"], c["error"]) for c in s["cells"]]
    for c in s["cells"]:
        assert c["engine"] == "onnxruntime" and c["ort"]["session_providers"][0] == "CPUExecutionProvider", c["id"]
        assert c["iterations"] > 0, c["id"]
