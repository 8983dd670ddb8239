#!/usr/bin/python3
"""Check exported YOLOv5s ONNX files with OpenCV's DNN module (the same cv2 the Python runner uses).

  check_model.py --models-dir DIR --image bus.jpg   check every model of DIR/MANIFEST.json on bus.jpg,
                                                     record the result in the manifest; exit 1 on failure
  check_model.py --detect MODEL.onnx IMAGE...        print the detections (sanity checks by hand)

Pre/post-processing follows YOLOv5's detect.py: letterbox to SxS (pad 114), RGB, 1/255; score = obj * cls,
conf 0.25, class-aware NMS IoU 0.45.
"""
import argparse
import json
import os
import re
import sys
from collections import Counter

import cv2
import numpy as np

COCO = ("person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign "
        "parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella handbag "
        "tie suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard surfboard "
        "tennis_racket bottle wine_glass cup fork knife spoon bowl banana apple sandwich orange broccoli carrot "
        "hot_dog pizza donut cake chair couch potted_plant bed dining_table toilet tv laptop mouse remote "
        "keyboard cell_phone microwave oven toaster sink refrigerator book clock vase scissors teddy_bear "
        "hair_drier toothbrush").split()

# bus.jpg expectations: exact at 640 (what YOLOv5s finds there); at 320 the small model may miss a person.
EXPECT = {640: ("==", {"person": 4, "bus": 1}), 320: (">=", {"person": 3, "bus": 1})}


def detect(net, img, s, conf_thr=0.25, iou_thr=0.45):
    """Return ([(class_name, score, (x, y, w, h))] in original image pixels, raw output shape)."""
    h, w = img.shape[:2]
    r = min(s / h, s / w)
    nw, nh = round(w * r), round(h * r)
    dw, dh = (s - nw) / 2, (s - nh) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    im = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nw, nh) != (w, h) else img
    im = cv2.copyMakeBorder(im, top, round(dh + 0.1), left, round(dw + 0.1), cv2.BORDER_CONSTANT,
                            value=(114, 114, 114))
    net.setInput(cv2.dnn.blobFromImage(im, 1 / 255.0, (s, s), swapRB=True, crop=False))
    out = net.forward()
    p = out.reshape(-1, 85)

    scores = p[:, 5:] * p[:, 4:5]
    cls = scores.argmax(1)
    conf = scores[np.arange(len(p)), cls]
    keep = conf > conf_thr
    p, cls, conf = p[keep], cls[keep], conf[keep]
    boxes = np.stack([(p[:, 0] - p[:, 2] / 2 - left) / r, (p[:, 1] - p[:, 3] / 2 - top) / r,
                      p[:, 2] / r, p[:, 3] / r], 1)
    dets = []
    for c in np.unique(cls):  # class-aware NMS: boxes of different classes never suppress each other
        idx = np.flatnonzero(cls == c)
        for i in np.array(cv2.dnn.NMSBoxes(boxes[idx].tolist(), conf[idx].tolist(), conf_thr, iou_thr)).flatten():
            j = idx[i]
            dets.append((COCO[c], float(conf[j]), tuple(round(float(v)) for v in boxes[j])))
    return sorted(dets, key=lambda d: -d[1]), list(out.shape)


def input_size(onnx_path):
    m = re.search(r"-(\d+)\.onnx$", onnx_path)
    if not m:
        sys.exit(f"cannot tell the input size from the name {onnx_path} (expected ...-<S>.onnx)")
    return int(m.group(1))


def check_dir(models_dir, image):
    mpath = os.path.join(models_dir, "MANIFEST.json")
    manifest = json.load(open(mpath))
    img = cv2.imread(image)
    if img is None:
        sys.exit(f"cannot read {image}")
    ok = True
    for e in manifest["models"]:
        s = e["input_size"]
        net = cv2.dnn.readNet(os.path.join(models_dir, e["file"]))
        dets, out_shape = detect(net, img, s)
        counts = Counter(d[0] for d in dets)
        op, want = EXPECT.get(s, (None, {}))
        passed = out_shape == e["output_shape"] and all(
            counts[k] == v if op == "==" else counts[k] >= v for k, v in want.items())
        ok &= passed
        print(f"{e['file']}: output {out_shape}, {os.path.basename(image)}: "
              + ", ".join(f"{n} {k}" for k, n in counts.most_common())
              + (f"  (need {op} " + ", ".join(f"{v} {k}" for k, v in want.items()) + ")" if want else "")
              + ("  OK" if passed else "  FAILED"), file=sys.stderr)
        e["check"] = {"opencv": cv2.__version__, "image": os.path.basename(image), "counts": dict(counts),
                      "passed": passed}
    if not ok:
        sys.exit("model check FAILED: the export is broken (or OpenCV differs from 4.6.0); see the lines above")
    with open(mpath, "w") as f:
        json.dump(manifest, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir")
    ap.add_argument("--image")
    ap.add_argument("--detect", nargs="+", metavar=("MODEL", "IMAGE"))
    a = ap.parse_args()
    if a.detect and len(a.detect) >= 2:
        net = cv2.dnn.readNet(a.detect[0])
        for path in a.detect[1:]:
            dets, _ = detect(net, cv2.imread(path), input_size(a.detect[0]))
            counts = Counter(d[0] for d in dets)
            print(f"{os.path.basename(path)}: " + ", ".join(f"{n} {k}" for k, n in counts.most_common()))
            for name, score, box in dets:
                print(f"    {name:14s} {score:.2f}  xywh={box}")
    elif a.models_dir and a.image:
        check_dir(a.models_dir, a.image)
    else:
        ap.error("use --models-dir DIR --image IMG, or --detect MODEL IMAGE...")


if __name__ == "__main__":
    main()
