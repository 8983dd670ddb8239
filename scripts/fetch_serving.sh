#!/usr/bin/env bash
# make serving: what the http scenario needs besides the runners (docs/methodology.md, "Serving").
# - engines/bin/vegeta: the load generator, `go install` of a pinned release from the Go module proxy;
# - engines/python-http/: the Python runner's web stack (scripts/serving-requirements.txt, every package pinned),
#   installed with --no-deps so that Debian's python3 and the venv import the very same files.
# The C++ runner's cpp-httplib is a Debian package (scripts/setup_system.sh).
# Idempotent: stamps hold what was installed; a second run checks them and returns.
set -euo pipefail
export PIP_ROOT_USER_ACTION=ignore
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VEGETA=github.com/tsenart/vegeta/v12@v12.13.0   # orchestrator/load.py pins the same
BIN=$REPO_ROOT/engines/bin
PYDEST=$REPO_ROOT/engines/python-http
REQS=$SCRIPTS_DIR/serving-requirements.txt

# 1. vegeta
install_vegeta() {
  mkdir -p "$BIN"
  GOBIN=$BIN go install "$VEGETA"
  echo "$VEGETA" >"$BIN/.vegeta"
}
if [[ ! -x $BIN/vegeta || $(cat "$BIN/.vegeta" 2>/dev/null) != "$VEGETA" ]]; then
  command -v go >/dev/null || die "go is not on PATH: install Go (make system does on Debian) to build vegeta"
  step -h "cannot build $VEGETA from the Go module proxy (is GOPROXY reachable?)" \
    "vegeta ${VEGETA##*@} (go install into engines/bin)" install_vegeta
else
  skip "vegeta ${VEGETA##*@}"
fi

# 2. The Python web stack
WANT=$(sha_of "$REQS")
if [[ -f $PYDEST/.installed && $(cat "$PYDEST/.installed") == "$WANT" ]]; then
  skip "Python web stack" "already installed in engines/python-http"
  exit 0
fi
PYVER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null || echo none)
[[ $PYVER == 3.11 ]] || say "WARNING: $PY is Python $PYVER; the pinned web stack's compiled wheels are chosen for it"
install_web() {
  local tmp
  tmp=$(scratch)
  "$PY" -m pip install -q --no-deps --no-compile --only-binary=:all: --cache-dir "$CACHE/pip" --target "$tmp/web" \
    -r "$REQS"
  rm -rf "$PYDEST"
  mv "$tmp/web" "$PYDEST"
  echo "$WANT" >"$PYDEST/.installed"
}
step -h "pip ($PY) could not install $REQS (is PyPI reachable?)" \
  "Python web stack (pip install into engines/python-http)" install_web
