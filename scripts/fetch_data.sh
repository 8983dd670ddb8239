#!/usr/bin/env bash
# make data: real photos (people, vehicles, animals) -> data/images/, a pedestrian video -> data/video/vtest.avi,
# and data/MANIFEST (sha256sum format: `cd data && sha256sum -c MANIFEST`).
# Sources, all fetched by package name (no hub, no URL): PyPI wheel `ultralytics` (bus, zidane),
# Debian `darknet` (classic YOLO demo photos), Debian `opencv-doc` (messi5, vtest.avi). See checksums.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Every images/ and video/ entry pinned in checksums.txt.
mapfile -t NAMES < <(awk '$1 !~ /^#/ && $2 ~ /^(images|video)\// { print $2 }' "$CHECKSUMS")

cache_data "${NAMES[@]}"   # fetch/extract only what the cache lacks, verify everything

DATA=$REPO_ROOT/data
for n in "${NAMES[@]}"; do place "$CACHE/data/$n" "$DATA/$n"; done
(cd "$DATA" && sha256sum "${NAMES[@]}") >"$DATA/MANIFEST"
note "data" "ok (${#NAMES[@]} files in data/, checksums in data/MANIFEST)"
