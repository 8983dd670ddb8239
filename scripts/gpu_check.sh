#!/usr/bin/env bash
# scripts/gpu_check.sh: ONNX Runtime on an NVIDIA GPU from C++, Go and Python, as one normal run folder.
#
# On a Linux x86_64 machine with an NVIDIA GPU and its driver (nvidia-smi), with only package registries
# reachable: installs onnxruntime-gpu and the CUDA/cuDNN wheels it needs (PyPI's nvidia-* packages) into
# engines/onnxruntime-gpu/ (never committed), then runs a short config (configs/gpu.yaml) with the providers
# cuda and tensorrt for the C++, Go and Python runners. Every runner uses that one release: the Go and C++
# runners load its libonnxruntime, both Pythons import it. A provider that does not load (TensorRT needs
# NVIDIA's libnvinfer, whose PyPI packages fetch from NVIDIA's own index, which this script does not assume
# reachable) makes its cells "skipped" with ORT's reason, never a CPU figure passed off as a GPU one. The CUDA 13
# wheels need an NVIDIA driver for CUDA 13 (580 or newer). Prints the report's path; about 5 minutes once
# `make setup models data` has run.
#
# Without an NVIDIA GPU it exits at once (status 3) and says so.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PIP_ROOT_USER_ACTION=ignore

ORT_GPU_VERSION=1.31.1  # the newest onnxruntime-gpu on PyPI when this was written, pinned in checksums.txt
WHEEL=onnxruntime_gpu-$ORT_GPU_VERSION-cp311-cp311-manylinux_2_28_x86_64.whl
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
# that Debian's python3 keeps its own numpy), the CUDA and cuDNN wheels its extras name in cuda/ (on the
# runners' library path). pip resolves those by the wheel's version ranges: they are not pinned by checksum.
LIBRARY=$DEST/ort/onnxruntime/capi/libonnxruntime.so.$ORT_GPU_VERSION
if [[ ! -f $DEST/.installed || $(cat "$DEST/.installed") != "$(pinned "$WHEEL" 1)" || ! -f $LIBRARY ]]; then
  fetch_download "$WHEEL"
  rm -rf "$DEST"
  PY_VENV=$REPO_ROOT/.venv/bin/python
  step -h "pip could not install $WHEEL" "onnxruntime-gpu $ORT_GPU_VERSION (pip install)" \
    "$PY_VENV" -m pip install -q --no-deps --target "$DEST/ort" "$CACHE/downloads/$WHEEL"
  mapfile -t CUDA_WHEELS < <("$PY_VENV" - "$CACHE/downloads/$WHEEL" <<'PYEOF'
import re, sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
for line in wheel.read(meta).decode().splitlines():
    m = re.match(r"Requires-Dist: (.+?); extra == \"(cuda|cudnn)\"", line)
    if m:
        print(m.group(1))
PYEOF
)
  [[ ${#CUDA_WHEELS[@]} -gt 0 ]] || die "$WHEEL names no CUDA wheels in its cuda/cudnn extras"
  step -h "pip could not install the CUDA wheels ${CUDA_WHEELS[*]}" \
    "CUDA and cuDNN wheels (pip install ${#CUDA_WHEELS[@]} packages, a few GB, cached by pip)" \
    "$PY_VENV" -m pip install -q --target "$DEST/cuda" "${CUDA_WHEELS[@]}"
  pinned "$WHEEL" 1 >"$DEST/.installed"
else
  skip "onnxruntime-gpu $ORT_GPU_VERSION and its CUDA wheels" "already installed in engines/onnxruntime-gpu"
fi
[[ -f $LIBRARY ]] || die "$LIBRARY is missing after the install: delete $DEST and re-run"
CUDA_LIBS=$(find "$DEST/cuda/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | sort | paste -sd: - || true)
[[ -n $CUDA_LIBS ]] || die "no CUDA libraries under $DEST/cuda/nvidia: delete $DEST and re-run"

# The config names the installation through variables (configs/gpu.yaml), so it stays a normal config.
export ORT_GPU_LIBRARY=$LIBRARY ORT_GPU_PYTHON_PATH=$DEST/ort
export LD_LIBRARY_PATH=$CUDA_LIBS:$(dirname "$LIBRARY")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
say "ONNX Runtime $ORT_GPU_VERSION: $LIBRARY"
"$REPO_ROOT/.venv/bin/python" -m orchestrator run "$CONFIG"
say "done in $((SECONDS - start)) s"
