"""The inference phase (step 4 of the algorithm) on the spec's engine: OpenCV DNN or ONNX Runtime.

Everything else (decode, letterbox, blob, YOLOv5 decode, NMS) is OpenCV in every engine (docs/protocol.md,
"Engines"). An inferer takes the blob and returns the output array; `load` builds one and times it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from types import ModuleType
from typing import Any, Protocol

import cv2
import numpy as np
from backend import BACKENDS, TARGETS
from records import RunnerError
from spec import Spec

clock = time.perf_counter_ns

# Protocol names of the providers -> ONNX Runtime's.
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}
SESSION_OPTIONS = {"inter_op_threads": 1, "execution_mode": "sequential", "graph_optimization": "all"}
MIN_VERSION = (1, 24)  # C API 24, what the Go and C++ runners need: the same floor on every side
WARNING = 2  # ORT's log severity: the three runners write ORT's warnings to stderr alike


class Inferer(Protocol):
    providers: list[str]  # the providers the session uses (OpenCV: none)

    def __call__(self, blob: np.ndarray) -> np.ndarray: ...


class OpenCVInferer:
    """setInput + forward on one cv2.dnn.Net (a Net is not safe to share between threads)."""

    providers: list[str] = []

    def __init__(self, net: cv2.dnn.Net) -> None:
        self.net = net

    def __call__(self, blob: np.ndarray) -> np.ndarray:
        self.net.setInput(blob)
        return self.net.forward()


class OrtInferer:
    """One InferenceSession through an IOBinding: the blob's buffer is the input tensor and a numpy array
    allocated once is the output tensor, so ORT reads and writes them in place (no copy either way)."""

    def __init__(self, ort: ModuleType, session: Any, output_shape: list[int]) -> None:
        self.ort = ort
        self.session = session
        self.providers = list(session.get_providers())
        inp, outp = session.get_inputs()[0], session.get_outputs()[0]
        self.input_name = inp.name
        self.output = np.empty(output_shape, dtype=np.float32)
        self.binding = session.io_binding()
        self.binding.bind_ortvalue_output(outp.name, ort.OrtValue.ortvalue_from_numpy(self.output))

    def __call__(self, blob: np.ndarray) -> np.ndarray:
        self.binding.bind_ortvalue_input(self.input_name, self.ort.OrtValue.ortvalue_from_numpy(blob))
        self.session.run_with_iobinding(self.binding)
        return self.output


def import_ort(spec: Spec) -> ModuleType:
    """The onnxruntime module, from the spec's python_path first; backend_unavailable when it is not there."""
    if not os.path.isfile(spec.ort_library):
        raise RunnerError("backend_unavailable", f"ONNX Runtime library {spec.ort_library} is not there "
                          f"(make onnxruntime installs it)")
    if spec.ort_python_path and spec.ort_python_path not in sys.path:
        sys.path.insert(0, spec.ort_python_path)
    try:
        import onnxruntime
    except Exception as exc:  # noqa: BLE001 - an ImportError, or whatever a broken installation raises
        raise RunnerError("backend_unavailable", f"cannot import onnxruntime (python_path "
                          f"{spec.ort_python_path or 'none'}): {type(exc).__name__}: {exc}") from exc
    if _version(onnxruntime.__version__) < MIN_VERSION:
        raise RunnerError("backend_unavailable", f"ONNX Runtime {onnxruntime.__version__} from "
                          f"{os.path.dirname(onnxruntime.__file__)} is older than 1.24 (C API 24): make onnxruntime "
                          "installs the pinned release")
    onnxruntime.set_default_logger_severity(WARNING)
    return onnxruntime


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(".")[:2])
    except ValueError:
        return ()


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ort_info(ort: ModuleType, spec: Spec) -> dict[str, Any]:
    """The hello's `ort`: Python runs the ORT linked into its extension module, so that file is the library."""
    module = ort.capi.onnxruntime_pybind11_state.__file__
    digest = _sha256(module)
    return {"version": ort.__version__, "library": os.path.abspath(module), "library_sha256": digest,
            "linked": True, "available_providers": list(ort.get_available_providers()), "provider": spec.provider,
            "session_options": {"intra_op_threads": spec.threads, **SESSION_OPTIONS}}


def check_provider(info: dict[str, Any], spec: Spec) -> None:
    want = PROVIDERS[spec.provider]
    if want not in info["available_providers"]:
        raise RunnerError("backend_unavailable", f"provider {spec.provider} ({want}) is not available in ONNX Runtime "
                          f"{info['version']} (available: {', '.join(info['available_providers'])})")


def check_model_file(spec: Spec) -> None:
    if not os.path.isfile(spec.model_path):
        raise RunnerError("model_load", f"cannot read model {spec.model_path}: file not found")


def load(spec: Spec) -> tuple[Inferer, int]:
    """The spec's engine with the model loaded, and how long the load took in ns (readNet + backend + target;
    ORT: the session with its options)."""
    check_model_file(spec)
    if spec.engine == "onnxruntime":
        return _load_ort(spec)
    t0 = clock()
    try:
        net = cv2.dnn.readNet(spec.model_path)
    except cv2.error as exc:
        raise RunnerError("model_load", f"cannot read model {spec.model_path}: {exc}") from exc
    net.setPreferableBackend(BACKENDS[spec.backend])
    net.setPreferableTarget(TARGETS[spec.target])
    return OpenCVInferer(net), clock() - t0


def model_shapes(path: str, session: Any, batch: int, size: int) -> list[int]:
    """The output shape to allocate, after checking the model against the run (the rule of every runner): the
    first input is a float [B, 3, S, S] and the first output a float [B, N, K] (K >= 6); only dimension 0, the
    batch, may be dynamic (ORT reports a name or None), and it takes the run's B. The runner allocates the
    output once per session, so every other dimension must be fixed."""
    if not (session.get_inputs() and session.get_outputs()):
        raise RunnerError("model_load", f"model {path} has {len(session.get_inputs())} inputs and "
                          f"{len(session.get_outputs())} outputs, want at least one of each")
    inp, outp = session.get_inputs()[0], session.get_outputs()[0]
    want = [batch, 3, size, size]
    for what, arg in (("input", inp), ("output", outp)):
        if arg.type != "tensor(float)":
            raise RunnerError("model_load", f"model {path}: {what} {arg.name!r} is {arg.type}, want tensor(float)")
    fixed = [d if isinstance(d, int) and d > 0 else None for d in inp.shape]
    if len(fixed) != 4 or None in fixed[1:] or any(f is not None and f != w for f, w in zip(fixed, want)):
        raise RunnerError("model_load", f"model {path} takes input {inp.name!r} of shape {list(inp.shape)}, but the "
                          f"blob is {want} (batch {batch}, input_size {size}): the model must be exported for this "
                          "batch and size")
    out = [d if isinstance(d, int) and d > 0 else None for d in outp.shape]
    if len(out) != 3 or None in out[1:] or (out[0] is not None and out[0] != batch) or out[2] < 6:
        raise RunnerError("model_load", f"model {path}: output {outp.name!r} of shape {list(outp.shape)}: want "
                          "[B, N, K] with K >= 6; the runner allocates the output once per session and needs every "
                          "dimension but the batch fixed")
    return [batch, out[1], out[2]]


def _load_ort(spec: Spec) -> tuple[Inferer, int]:
    ort = import_ort(spec)
    want = PROVIDERS[spec.provider]
    t0 = clock()
    options = ort.SessionOptions()
    if spec.threads > 0:
        options.intra_op_num_threads = spec.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = WARNING
    providers = [want] if want == PROVIDERS["cpu"] else [want, PROVIDERS["cpu"]]
    try:
        # No silent retry on other providers: a session that fails to be created is model_load, as in Go and C++
        session = ort.InferenceSession(spec.model_path, options, providers=providers, enable_fallback=0)
    except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types for a bad model
        raise RunnerError("model_load", f"cannot read model {spec.model_path}: {exc}") from exc
    load_ns = clock() - t0
    batch = spec.batch if spec.scenario == "batch" else 1
    output_shape = model_shapes(spec.model_path, session, batch, spec.input_size)
    inferer = OrtInferer(ort, session, output_shape)
    if not inferer.providers or inferer.providers[0] != want:
        raise RunnerError("backend_unavailable", f"provider {spec.provider} ({want}) was requested but the session "
                          f"uses {inferer.providers}: ONNX Runtime fell back to the CPU")
    return inferer, load_ns
