#!/usr/bin/env bash
# scripts/gpu_check.sh: ONNX Runtime on an NVIDIA GPU from C++, Go and Python, as one normal run folder.
#
# On a Linux x86_64 machine with an NVIDIA GPU and its driver (nvidia-smi), with only package registries
# reachable: installs onnxruntime-gpu and the CUDA/cuDNN wheels it needs (PyPI's nvidia-* packages) into
# engines/onnxruntime-gpu/ (never committed), then runs a short config (configs/gpu.yaml) with the providers
# cuda and tensorrt for the C++, Go and Python runners. Every runner uses that one release: the Go and C++
# runners load its libonnxruntime, both Pythons import it. A provider that does not load (TensorRT needs
# libnvinfer, which PyPI does not serve here) makes its cells "skipped" with ORT's reason, never a CPU figure
# passed off as a GPU one. Prints the report's path; about 5 minutes once `make setup models data` has run.
#
# Without an NVIDIA GPU it exits at once (status 3) and says so.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PIP_ROOT_USER_ACTION=ignore

ORT_GPU_VERSION=${ORT_GPU_VERSION:-1.31.1}  # the newest onnxruntime-gpu on PyPI when this was written
DEST=$REPO_ROOT/engines/onnxruntime-gpu
CONFIG=${1:-$REPO_ROOT/configs/gpu.yaml}

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi is missing or finds no device): nothing to check." >&2
  echo "  Run it on a Linux machine with an NVIDIA GPU and its driver; the CPU engines run with" >&2
  echo "  make compare CONFIG=configs/engines.yaml" >&2
  exit 3
fi
[[ $(uname -sm) == "Linux x86_64" ]] || die "onnxruntime-gpu's CUDA wheels are for Linux x86_64 (this is $(uname -sm))"
say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"

start=$SECONDS
make -C "$REPO_ROOT" --no-print-directory setup models data

# onnxruntime-gpu alone in ort/ (the folder every Python puts first on sys.path: without its dependencies, so
# that Debian's python3 keeps its own numpy), its CUDA and cuDNN wheels in cuda/ (on the runners' library path).
if [[ ! -f $DEST/.installed || $(cat "$DEST/.installed") != "$ORT_GPU_VERSION" ]]; then
  rm -rf "$DEST"
  PY_VENV=$REPO_ROOT/.venv/bin/python
  say "pip install onnxruntime-gpu==$ORT_GPU_VERSION and its CUDA wheels (a few GB, cached by pip)"
  "$PY_VENV" -m pip install -q --no-deps --target "$DEST/ort" "onnxruntime-gpu==$ORT_GPU_VERSION" ||
    die "pip could not install onnxruntime-gpu==$ORT_GPU_VERSION (set ORT_GPU_VERSION to one PyPI has)"
  "$PY_VENV" -m pip install -q --target "$DEST/cuda" "onnxruntime-gpu[cuda,cudnn]==$ORT_GPU_VERSION" ||
    die "pip could not install the CUDA wheels of onnxruntime-gpu==$ORT_GPU_VERSION"
  echo "$ORT_GPU_VERSION" >"$DEST/.installed"
fi
LIBRARY=$DEST/ort/onnxruntime/capi/libonnxruntime.so.$ORT_GPU_VERSION
[[ -f $LIBRARY ]] || LIBRARY=$(ls "$DEST"/ort/onnxruntime/capi/libonnxruntime.so.* | head -1)
CUDA_LIBS=$(find "$DEST/cuda/nvidia" -maxdepth 2 -type d -name lib | sort | paste -sd: -)

# The config names the installation through variables (configs/gpu.yaml), so it stays a normal config.
export ORT_GPU_LIBRARY=$LIBRARY ORT_GPU_PYTHON_PATH=$DEST/ort
export LD_LIBRARY_PATH=$CUDA_LIBS:$(dirname "$LIBRARY")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
say "ONNX Runtime $ORT_GPU_VERSION: $LIBRARY"
"$REPO_ROOT/.venv/bin/python" -m orchestrator run "$CONFIG"
say "done in $((SECONDS - start)) s"
