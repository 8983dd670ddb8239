#!/usr/bin/env python3
"""End-to-end check of cpp_runner on the real model (standard library only).

usage: e2e_check.py CPP_RUNNER REPO_ROOT
Exit 0 pass, 1 fail, 77 skip (models/ or data/images/ not there yet).

Checks every line against the key sets of tests/fixtures/protocol/stream-ok.jsonl, the record order,
the phase arithmetic, one detections record per image, the error paths, and that bus.jpg at 640
gives 4 person + 1 bus; then each scenario of docs/protocol.md ("Scenarios") with tiny sizes at 320:
video (plain and realtime), concurrency, server, batch and call_overhead.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile

RUNNER, ROOT = sys.argv[1], os.path.abspath(sys.argv[2])
MODEL = {s: os.path.join(ROOT, "models", f"yolov5s-{s}.onnx") for s in (320, 640)}
MODEL_B4 = os.path.join(ROOT, "models", "yolov5s-320-b4.onnx")
VIDEO = os.path.join(ROOT, "data", "video", "vtest.avi")
IMG = lambda n: os.path.join(ROOT, "data", "images", n)  # noqa: E731
FAILS = []


def check(ok, what):
    if not ok:
        FAILS.append(what)
        print("FAIL:", what, file=sys.stderr)


def fixture_keys():
    keys = {}
    with open(os.path.join(ROOT, "tests", "fixtures", "protocol", "stream-ok.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            keys.setdefault(rec["type"], rec)
    with open(os.path.join(ROOT, "tests", "fixtures", "protocol", "stream-error.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            keys.setdefault(rec["type"], rec)
    return keys


def same_shape(a, b, path, extra=()):
    """Same key sets (recursively) and same JSON types (int vs float counted apart). `extra` names the
    integer keys a scenario adds at the top level (worker, frame, queue_ns, ...)."""
    if isinstance(b, dict):
        want = set(b) | set(extra)
        check(isinstance(a, dict) and set(a) == want, f"{path}: keys {sorted(a) if isinstance(a, dict) else a} != {sorted(want)}")
        for k in extra:
            check(isinstance(a, dict) and type(a.get(k)) is int, f"{path}.{k}: not an int")
        if isinstance(a, dict):
            for k in b:
                if k in a:
                    same_shape(a[k], b[k], f"{path}.{k}")
    elif isinstance(b, list):
        check(isinstance(a, list), f"{path}: not a list")
        if isinstance(a, list) and b:
            for i, x in enumerate(a):
                same_shape(x, b[0], f"{path}[{i}]")
    else:
        check(type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}")


def spec(size, images, warmup=1, iterations=2, **over):
    s = {"protocol": 1, "scenario": "single",
         "model": {"name": f"yolov5s-{size}", "path": MODEL[size], "format": "onnx", "input_size": size},
         "images": images, "conf_threshold": 0.25, "nms_threshold": 0.45, "max_detections": 300,
         "warmup": warmup, "iterations": iterations, "threads": 0, "backend": "opencv", "target": "cpu"}
    s.update(over)
    return s


def run(spec_obj, stdin=False, env=None):
    text = json.dumps(spec_obj)
    env = dict(os.environ, **(env or {}))
    if stdin:
        p = subprocess.run([RUNNER, "--spec", "-"], input=text, capture_output=True, text=True, env=env)
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(text)
        try:
            p = subprocess.run([RUNNER, "--spec", f.name], capture_output=True, text=True, env=env)
        finally:
            os.unlink(f.name)
    recs = []
    for line in p.stdout.splitlines():
        try:
            recs.append(json.loads(line))
        except ValueError:
            check(False, f"stdout line is not JSON: {line[:120]!r}")
    return p.returncode, recs, p.stderr


def check_ok_stream(s, rc, recs, ref):
    check(rc == 0, f"rc {rc} for a good run")
    types = [r.get("type") for r in recs]
    check(types[:2] == ["hello", "load"] and types[-1] == "end", f"record order {types}")
    for r in recs:
        if r.get("type") in ref:
            same_shape(r, ref[r["type"]], r["type"])
    its = [r for r in recs if r["type"] == "iteration"]
    n = s["warmup"] + s["iterations"]
    check([r["index"] for r in its] == list(range(n)), "iteration indices")
    check([r["warmup"] for r in its] == [i < s["warmup"] for i in range(n)], "warmup flags")
    names = [os.path.basename(p) for p in s["images"]]
    check([r["image"] for r in its] == [names[i % len(names)] for i in range(n)], "cyclic image order")
    for r in its:
        check(sum(r["phases_ns"].values()) == r["total_ns"], f"phases sum != total_ns at {r['index']}")
        check(all(v > 0 for v in r["phases_ns"].values()), f"non-positive phase at {r['index']}")
    dets = [r for r in recs if r["type"] == "detections"]
    check(collections.Counter(r["image"] for r in dets) == collections.Counter(names), "one detections record per image")
    # A detections record comes right after the first iteration of its image.
    seen = set()
    for i, r in enumerate(recs):
        if r["type"] == "iteration" and r["image"] not in seen:
            seen.add(r["image"])
            nxt = recs[i + 1]
            check(nxt["type"] == "detections" and nxt["image"] == r["image"], f"detections after iteration {r['index']}")
            check(len(nxt["detections"]) == r["detections"], f"detection count of {r['image']}")
    for d in dets:
        scores = [x["score"] for x in d["detections"]]
        check(scores == sorted(scores, reverse=True), f"{d['image']}: scores not sorted")
        for x in d["detections"]:
            x1, y1, x2, y2 = x["box"]
            check(0 <= x1 <= x2 <= d["width"] and 0 <= y1 <= y2 <= d["height"], f"{d['image']}: box {x['box']} outside")
    end = recs[-1]
    check(end["iterations"] == s["iterations"] and end["warmup"] == s["warmup"], "end counts")
    check(end["peak_rss_bytes"] > 10 * 2**20, "peak_rss_bytes looks like bytes")
    return {d["image"]: d for d in dets}


def main():
    if not all(os.path.isfile(p) for p in MODEL.values()) or not os.path.isfile(IMG("bus.jpg")):
        print("skip: models or images not there yet")
        return 77
    ref = fixture_keys()

    # 640: bus + zidane in the loop, dog only in the untimed pass.
    s = spec(640, [IMG("bus.jpg"), IMG("zidane.jpg"), IMG("dog.jpg")], warmup=1, iterations=1)
    rc, recs, err = run(s)
    dets = check_ok_stream(s, rc, recs, ref)
    hello = recs[0]
    check(len(hello["opencv_build_hash"]) == 64, "build hash length")
    check("cpu" in hello["available_targets"], "cpu available")
    bus = collections.Counter(x["class_id"] for x in dets.get("bus.jpg", {}).get("detections", []))
    check(bus == collections.Counter({0: 4, 5: 1}), f"bus.jpg at 640: {dict(bus)} (want 4 person + 1 bus)")
    zid = collections.Counter(x["class_id"] for x in dets.get("zidane.jpg", {}).get("detections", []))
    check(zid == collections.Counter({0: 2, 27: 1}), f"zidane.jpg at 640: {dict(zid)} (want 2 person + 1 tie)")

    # 320 from stdin, threads set.
    s = spec(320, [IMG("bus.jpg"), IMG("zidane.jpg")], warmup=1, iterations=2, threads=1)
    rc, recs, err = run(s, stdin=True)
    check_ok_stream(s, rc, recs, ref)
    check(recs and recs[0].get("threads") == 1, "threads echoed from getNumThreads")

    # Error paths: (spec change, expected code, hello expected first)
    cases = [
        ({"protocol": 2}, "protocol", False),
        ({"iterations": -1}, "spec", False),
        ({"scenario": "batch"}, "unsupported_scenario", True),
        ({"model": {"name": "x", "path": "/nonexistent/x.onnx", "format": "onnx", "input_size": 320}}, "model_load", True),
        ({"images": ["/nonexistent/a.jpg"]}, "image_read", True),
    ]
    cuda_avail = "cuda" in run(spec(320, [IMG("bus.jpg")], backend="cuda", target="cuda", warmup=0, iterations=0))[1][0].get("available_targets", ["cuda"])
    if not cuda_avail:
        cases.append(({"backend": "cuda", "target": "cuda"}, "backend_unavailable", True))
    for over, code, hello_first in cases:
        over = dict(over)
        images = over.pop("images", [IMG("bus.jpg")])
        rc, recs, err = run(spec(320, images, **over))
        types = [r.get("type") for r in recs]
        check(rc == 1, f"{code}: rc {rc}")
        check(types == (["hello", "error"] if hello_first else ["error"]) or
              (code == "image_read" and types == ["hello", "load", "error"]), f"{code}: records {types}")
        if recs:
            check(recs[-1].get("code") == code, f"{code}: got {recs[-1]}")
            same_shape(recs[-1], ref["error"], f"error[{code}]")

    p = subprocess.run([RUNNER], capture_output=True, text=True)
    check(p.returncode == 2, f"no arguments: rc {p.returncode}")

    print("e2e: %d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
