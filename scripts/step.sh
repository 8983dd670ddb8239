#!/usr/bin/env bash
# One set-up step from the Makefile: bash scripts/step.sh [-h HINT] [-t LINES] LABEL CMD [ARG...]
# Runs CMD with its output appended to the set-up log (scripts/lib.sh, `step`), prints "  LABEL ... ok", or
# on failure the log's tail and path, and exits with CMD's status.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
step "$@"
