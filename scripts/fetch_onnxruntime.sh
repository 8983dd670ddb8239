#!/usr/bin/env bash
# make onnxruntime: the one ONNX Runtime release every runner uses, in engines/onnxruntime/ (never committed).
# - engines/onnxruntime/include/: ORT's C API headers (API 24), from the Go module github.com/yalue/onnxruntime_go
#   (the Go module proxy). The Go and C++ runners build with them on every platform, engine used or not.
# - engines/onnxruntime/onnxruntime/: the pinned PyPI wheel (scripts/checksums.txt), installed without its
#   dependencies so that any Python 3.11 (Debian's python3 with numpy 1.24, the venv with numpy 2) can import it
#   from there; its capi/ folder holds libonnxruntime.so, the file the Go and C++ runners load at run time.
#   The pinned wheel is for Linux x86_64 and CPython 3.11; elsewhere the script says so and installs the headers
#   only (ONNX Runtime cells then fail with backend_unavailable, OpenCV cells are not affected).
# Idempotent: a second run checks a stamp and the files and returns.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORT_VERSION=1.32.0   # orchestrator/engines.py pins the same
ORT_GO=github.com/yalue/onnxruntime_go@v1.27.0
WHEEL=onnxruntime-$ORT_VERSION-cp311-cp311-manylinux_2_28_x86_64.whl
DEST=$REPO_ROOT/engines/onnxruntime
INCLUDE=$DEST/include
LIBRARY=$DEST/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION
STAMP=$DEST/.installed

# 1. The headers, from the Go module cache (the Go runner needs the module anyway).
install_headers() {
  local mod
  mod=$(cd "$REPO_ROOT/go_runner" && go mod download -json "$ORT_GO" | "$PY" -c '
import json, sys
info = json.load(sys.stdin)
sys.exit("go mod download: " + info["Error"]) if info.get("Error") else print(info["Dir"])')
  mkdir -p "$INCLUDE"
  cp "$mod/onnxruntime_c_api.h" "$mod/onnxruntime_ep_c_api.h" "$mod/LICENSE" "$INCLUDE/"
}
if [[ ! -f $INCLUDE/onnxruntime_c_api.h || ! -f $INCLUDE/onnxruntime_ep_c_api.h ]]; then
  command -v go >/dev/null || die "go is not on PATH: install Go (make system does on Debian) for ORT's C API headers"
  step -h "cannot download $ORT_GO from the Go module proxy (is GOPROXY reachable?)" \
    "ONNX Runtime C API headers (go mod download ${ORT_GO##*/})" install_headers
else
  skip "ONNX Runtime C API headers"
fi

# 2. The wheel.
WANT=$(pinned "$WHEEL" 1)
if [[ -f $STAMP && $(cat "$STAMP") == "$WANT" && -f $LIBRARY ]]; then
  skip "ONNX Runtime $ORT_VERSION" "already installed in engines/onnxruntime"
  exit 0
fi
PYVER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null || echo none)
if [[ $(uname -sm) != "Linux x86_64" || $PYVER != 3.11 ]]; then
  say "WARNING: the pinned ONNX Runtime wheel is for Linux x86_64 and Python 3.11 (here: $(uname -sm), Python $PYVER);"
  say "  only the headers are installed. For the onnxruntime engine, install onnxruntime==$ORT_VERSION for your"
  say "  Python with: python -m pip install --no-deps --target $DEST onnxruntime==$ORT_VERSION"
  exit 0
fi
fetch_download "$WHEEL"
install_wheel() {
  local tmp
  tmp=$(scratch)
  "$PY" -m pip install -q --no-deps --no-compile --target "$tmp/ort" "$CACHE/downloads/$WHEEL"
  rm -rf "$DEST/onnxruntime" "$DEST"/onnxruntime-*.dist-info "$DEST/bin"
  mkdir -p "$DEST"
  mv "$tmp/ort"/* "$DEST/"
  echo "$WANT" >"$STAMP"
}
step -h "pip ($PY) could not install $WHEEL" "ONNX Runtime $ORT_VERSION (pip install into engines/onnxruntime)" install_wheel
