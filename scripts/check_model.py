#!/usr/bin/python3
"""Check exported YOLOv5s ONNX files with OpenCV's DNN module (the same cv2 the Python runner uses).

  check_model.py --models-dir DIR --image bus.jpg [--batch-images IMAGE...]
        check every model of DIR/MANIFEST.json, record the result in the manifest; exit 1 on failure.
        Batch-1 models: detections on bus.jpg. Batch-B models (yolov5s-<S>-b<B>): one blobFromImages of B
        letterboxed --batch-images, one forward; each image's detections must equal those of the batch-1 model
        of the same size (see same_detections).
  check_model.py --batch-check MODEL-S-bB.onnx MODEL-S.onnx IMAGE...
        the batch check alone, recording nothing (e.g. with another OpenCV build); exit 1 on failure
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
# Batch model vs batch-1 model, image by image: same detections, scores within SCORE_TOL, boxes IoU >= MIN_IOU.
SCORE_TOL, MIN_IOU = 1e-3, 0.99


def letterbox(img, s):
    """Return (SxS letterboxed image, (r, left, top) to map boxes back to the original image)."""
    h, w = img.shape[:2]
    r = min(s / h, s / w)
    nw, nh = round(w * r), round(h * r)
    dw, dh = (s - nw) / 2, (s - nh) / 2
    top, left = round(dh - 0.1), round(dw - 0.1)
    im = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nw, nh) != (w, h) else img
    im = cv2.copyMakeBorder(im, top, round(dh + 0.1), left, round(dw + 0.1), cv2.BORDER_CONSTANT,
                            value=(114, 114, 114))
    return im, (r, left, top)


def detect(net, img, s):
    """Return ([(class_name, score, (x, y, w, h))] in original image pixels, raw output shape)."""
    im, geom = letterbox(img, s)
    net.setInput(cv2.dnn.blobFromImage(im, 1 / 255.0, (s, s), swapRB=True, crop=False))
    out = net.forward()
    return decode(out.reshape(-1, 85), geom), list(out.shape)


def detect_batch(net, imgs, s):
    """The batch scenario: one blobFromImages of the letterboxed imgs, one forward. Returns (per-image detections,
    raw output shape)."""
    ims, geoms = zip(*(letterbox(img, s) for img in imgs))
    net.setInput(cv2.dnn.blobFromImages(list(ims), 1 / 255.0, (s, s), swapRB=True, crop=False))
    out = net.forward()
    if out.ndim != 3 or out.shape[0] != len(imgs):
        return None, list(out.shape)
    return [decode(out[j], geoms[j]) for j in range(len(imgs))], list(out.shape)


def decode(p, geom, conf_thr=0.25, iou_thr=0.45):
    """Rows [N, 85] of one image -> [(class_name, score, (x, y, w, h))], best first, boxes unrounded."""
    r, left, top = geom
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
            dets.append((COCO[c], float(conf[j]), tuple(float(v) for v in boxes[j])))
    return sorted(dets, key=lambda d: -d[1])


def iou(a, b):
    """IoU of two (x, y, w, h) boxes."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(iw, 0) * max(ih, 0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def same_detections(ref, got):
    """Match got to ref: each ref detection pairs with the unmatched got detection of its class that overlaps it
    most; the pair must have |score diff| <= SCORE_TOL and IoU >= MIN_IOU, and nothing may be left unpaired.
    Returns (ok, max score diff, min IoU, [problems])."""
    left, problems, dmax, imin = list(got), [], 0.0, 1.0
    for name, score, box in ref:
        cands = [g for g in left if g[0] == name]
        if not cands:
            problems.append(f"missing {name} {score:.3f}")
            continue
        g = max(cands, key=lambda g: iou(box, g[2]))
        left.remove(g)
        d, o = abs(g[1] - score), iou(box, g[2])
        dmax, imin = max(dmax, d), min(imin, o)
        if d > SCORE_TOL or o < MIN_IOU:
            problems.append(f"{name} {score:.4f} vs {g[1]:.4f}, IoU {o:.4f}")
    problems += [f"extra {name} {score:.3f}" for name, score, _ in left]
    return not problems, dmax, imin, problems


def batch_check(net_b, net_1, s, b, images):
    """Run the batch model on images[j % len(images)], j < b, and compare image by image with the batch-1 model.
    Prints one line per image; returns (passed, raw output shape, check record)."""
    picked = [images[j % len(images)] for j in range(b)]
    imgs = [read_image(p) for p in picked]
    got, out_shape = detect_batch(net_b, imgs, s)
    if got is None:
        print(f"  output {out_shape}: not [{b}, N, 85]  FAILED", file=sys.stderr)
        return False, out_shape, {"passed": False}
    ok, dmax, imin, counts, n_ref = True, 0.0, 1.0, {}, 0
    for path, img, dets in zip(picked, imgs, got):
        ref, _ = detect(net_1, img, s)
        n_ref += len(ref)
        same, d, o, problems = same_detections(ref, dets)
        ok &= same
        dmax, imin = max(dmax, d), min(imin, o)
        c = Counter(x[0] for x in dets)
        counts[os.path.basename(path)] = dict(c)
        print(f"  {os.path.basename(path)}: " + (", ".join(f"{n} {k}" for k, n in c.most_common()) or "nothing")
              + f"; vs batch 1: {len(ref)} detections, max score diff {d:.2g}, min IoU {o:.4f}"
              + ("  OK" if same else "  FAILED: " + "; ".join(problems)), file=sys.stderr)
    if not n_ref:
        print("  the batch-1 model finds nothing on these images: nothing to compare  FAILED", file=sys.stderr)
        ok = False
    return ok, out_shape, {"images": [os.path.basename(p) for p in picked], "counts": counts,
                           "max_score_diff": dmax, "min_iou": imin, "passed": ok}


def read_image(path):
    img = cv2.imread(path)
    if img is None:
        sys.exit(f"cannot read {path}")
    return img


def size_batch(onnx_path):
    """(S, B) from the file name: ...-<S>.onnx (batch 1) or ...-<S>-b<B>.onnx."""
    m = re.search(r"-(\d+)(?:-b(\d+))?\.onnx$", onnx_path)
    if not m:
        sys.exit(f"cannot tell the input size from the name {onnx_path} (expected ...-<S>.onnx or ...-<S>-b<B>.onnx)")
    return int(m.group(1)), int(m.group(2) or 1)


def check_dir(models_dir, image, batch_images):
    mpath = os.path.join(models_dir, "MANIFEST.json")
    manifest = json.load(open(mpath))
    img = read_image(image)
    ok = True
    for e in manifest["models"]:
        s, b = e["input_size"], e.get("batch", 1)
        net = cv2.dnn.readNet(os.path.join(models_dir, e["file"]))
        if b > 1:
            ref = [r for r in manifest["models"] if r["input_size"] == s and r.get("batch", 1) == 1]
            if not ref or not batch_images:
                sys.exit(f"{e['file']}: the batch check needs the batch-1 model of size {s} in the manifest "
                         "and --batch-images")
            print(f"{e['file']}: one forward of {b} images, each compared with {ref[0]['file']}:", file=sys.stderr)
            passed, out_shape, rec = batch_check(net, cv2.dnn.readNet(os.path.join(models_dir, ref[0]["file"])),
                                                 s, b, batch_images)
            passed &= out_shape == e["output_shape"]
            print(f"{e['file']}: output {out_shape}" + ("  OK" if passed else "  FAILED"), file=sys.stderr)
            ok &= passed
            e["check"] = {"opencv": cv2.__version__, "reference": ref[0]["file"], **rec, "passed": passed}
            continue
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
    ap.add_argument("--batch-images", nargs="+", metavar="IMAGE",
                    help="images for the batch models' check (image j of a batch: IMAGE number j mod count)")
    ap.add_argument("--batch-check", nargs="+", metavar="FILE", help="MODEL-S-bB.onnx MODEL-S.onnx IMAGE...")
    ap.add_argument("--detect", nargs="+", metavar=("MODEL", "IMAGE"))
    a = ap.parse_args()
    if a.detect and len(a.detect) >= 2:
        net = cv2.dnn.readNet(a.detect[0])
        s, b = size_batch(a.detect[0])
        paths = a.detect[1:]
        for i in range(0, len(paths), b):  # a batch-B model takes B images a forward (the last group padded)
            group = [paths[min(i + j, len(paths) - 1)] for j in range(b)]
            if b == 1:
                results = [detect(net, read_image(group[0]), s)[0]]
            else:
                results, out_shape = detect_batch(net, [read_image(p) for p in group], s)
                if results is None:
                    sys.exit(f"unexpected output shape {out_shape} for a batch of {b}")
            for path, dets in list(zip(group, results))[:len(paths) - i]:
                counts = Counter(d[0] for d in dets)
                print(f"{os.path.basename(path)}: " + ", ".join(f"{n} {k}" for k, n in counts.most_common()))
                for name, score, box in dets:
                    print(f"    {name:14s} {score:.2f}  xywh={tuple(round(v) for v in box)}")
    elif a.batch_check and len(a.batch_check) >= 3:
        (s, b), (s1, b1) = size_batch(a.batch_check[0]), size_batch(a.batch_check[1])
        if b < 2 or s1 != s or b1 != 1:
            ap.error("--batch-check wants the batch model first, then the batch-1 model of the same size")
        print(f"OpenCV {cv2.__version__}: {os.path.basename(a.batch_check[0])}, one forward of {b} images, "
              f"each compared with {os.path.basename(a.batch_check[1])}:", file=sys.stderr)
        passed, out_shape, _ = batch_check(cv2.dnn.readNet(a.batch_check[0]), cv2.dnn.readNet(a.batch_check[1]),
                                           s, b, a.batch_check[2:])
        passed &= out_shape == [b, out_shape[1], 85]
        print(f"output {out_shape}" + ("  OK" if passed else "  FAILED"), file=sys.stderr)
        sys.exit(0 if passed else 1)
    elif a.models_dir and a.image:
        check_dir(a.models_dir, a.image, a.batch_images)
    else:
        ap.error("use --models-dir DIR --image IMG [--batch-images IMG...], --batch-check MODEL_B MODEL_1 IMAGE..., "
                 "or --detect MODEL IMAGE...")


if __name__ == "__main__":
    main()
