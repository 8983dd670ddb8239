#!/usr/bin/env bash
# System prerequisites of the runners: OpenCV (headers for gocv and the C++ runner, python3-opencv for the
# python-system runner: the very same library), compilers, Go. Idempotent: installs only what is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if ! is_debian; then
  cat >&2 <<'MSG'
This set-up script knows Debian and Ubuntu only. On another system install by hand:
  - Go >= 1.22 (https://go.dev/dl), CMake and a C++17 compiler, pkg-config
  - OpenCV 4.6.0 with its development files (gocv v0.31.0 builds against 4.6 only).
    Windows: gocv's win_build_opencv.cmd builds it with MinGW into C:/opencv/build/install.
    macOS: brew install opencv pkg-config (then check `pkg-config --modversion opencv4`).
  - Python >= 3.9 with venv
Then run `python -m orchestrator doctor` to see what is still missing.
MSG
  exit 1
fi

# libcpp-httplib-dev: the C++ runner's HTTP server (the http scenario).
# pocl-opencl-icd: a CPU OpenCL device, so that the OpenCL target and its silent CPU fallback are tested for real.
# fonts-noto-cjk: Chinese text in the report's charts; chromium + chromium-driver: the browser test of the report.
# gcc-mingw-w64-x86-64, g++-mingw-w64-x86-64: `make cross-windows` (the Go runner's cgo code vetted for GOOS=windows);
# shellcheck: `make lint-workflows` (actionlint checks the workflows' run: scripts with it).
ensure_debs libopencv-dev python3-opencv python3-numpy pkg-config build-essential cmake python3-venv git \
  nlohmann-json3-dev libssl-dev libcpp-httplib-dev \
  ocl-icd-libopencl1 pocl-opencl-icd fonts-noto-cjk chromium chromium-driver \
  gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 shellcheck

# Go: keep a Go that is already there (e.g. /usr/local/go); otherwise Debian's golang-go.
if ! command -v go >/dev/null; then
  if [[ -x /usr/local/go/bin/go ]]; then
    say "Go is in /usr/local/go/bin but not on PATH: add it (export PATH=\$PATH:/usr/local/go/bin)"
    exit 1
  fi
  ensure_debs golang-go
fi
# go.mod asks for Go 1.22 (Debian 12's golang-go is 1.19): say so plainly instead of failing in the build.
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [[ $go_minor =~ ^[0-9]+$ ]] && ((go_minor < 22)); then
  die "Go $(go env GOVERSION) is too old for go_runner (needs >= 1.22): install a newer Go from https://go.dev/dl and put it first on PATH"
fi
note "system prerequisites" "ok (OpenCV $(pkg-config --modversion opencv4), $(go version | cut -d' ' -f3))"
