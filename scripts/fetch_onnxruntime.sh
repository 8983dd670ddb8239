#!/usr/bin/env bash
# make onnxruntime: the one ONNX Runtime release every runner uses, in engines/onnxruntime/ (never committed).
# - engines/onnxruntime/onnxruntime/: the pinned PyPI wheel (scripts/checksums.txt), installed without its
#   dependencies so that any Python 3.11 (Debian's python3 with numpy 1.24, the venv with numpy 2) can import it
#   from there; its capi/ folder holds libonnxruntime.so, the file the Go and C++ runners load at run time.
# - engines/onnxruntime/include/: ORT's C API headers (API 24), from the Go module github.com/yalue/onnxruntime_go
#   (the Go module proxy): the C++ runner builds against them, the Go runner's provider query includes them.
# Idempotent: a second run checks a stamp and returns.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORT_VERSION=1.32.0
ORT_GO=github.com/yalue/onnxruntime_go@v1.27.0
WHEEL=onnxruntime-$ORT_VERSION-cp311-cp311-manylinux_2_28_x86_64.whl
DEST=$REPO_ROOT/engines/onnxruntime
STAMP=$DEST/.installed
WANT="$(pinned "$WHEEL" 1) $ORT_GO"

if [[ -f $STAMP && $(cat "$STAMP") == "$WANT" && -f $DEST/include/onnxruntime_c_api.h ]]; then
  say "ONNX Runtime $ORT_VERSION is installed ($DEST)"
  exit 0
fi
[[ $(uname -sm) == "Linux x86_64" ]] || die "the pinned ONNX Runtime wheel is for Linux x86_64; on $(uname -sm)
  install onnxruntime==$ORT_VERSION for Python 3.11 with pip --target $DEST --no-deps by hand"

fetch_download "$WHEEL"
command -v go >/dev/null || die "go is not on PATH (make system installs it)"
say "go mod download $ORT_GO (ORT's C API headers)"
MOD=$(cd "$REPO_ROOT/go_runner" && go mod download -json "$ORT_GO" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') ||
  die "cannot download $ORT_GO from the Go module proxy (GOPROXY reachable?)"

rm -rf "$DEST"
tmp=$(scratch)
"$PY" -m pip install -q --no-deps --no-compile --target "$tmp/ort" "$CACHE/downloads/$WHEEL" ||
  die "pip could not install $WHEEL (delete it in $CACHE/downloads and re-run)"
mkdir -p "$tmp/ort/include"
cp "$MOD/onnxruntime_c_api.h" "$MOD/onnxruntime_ep_c_api.h" "$MOD/LICENSE" "$tmp/ort/include/"
mkdir -p "$(dirname "$DEST")"
mv "$tmp/ort" "$DEST"
echo "$WANT" >"$STAMP"
say "ONNX Runtime $ORT_VERSION installed in $DEST"
