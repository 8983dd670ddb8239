#!/usr/bin/env python3
"""End-to-end check of cpp_runner on the real model (standard library, and the orchestrator's validator).

usage: e2e_check.py CPP_RUNNER REPO_ROOT [ort]
Exit 0 pass, 1 fail, 77 skip (models/ or data/images/ not there yet).

Every stream goes through the orchestrator's validator (orchestrator/protocol.py, which needs numpy: CTest runs
this on the project's virtualenv) with the spec that started it. Every line is also held to the key sets of
tests/fixtures/protocol/stream-single.jsonl and stream-error.jsonl; the record order, the phase arithmetic, one
detections record per image are checked, and that bus.jpg at 640 gives 4 person + 1 bus; then each scenario of
docs/protocol.md ("Scenarios") with tiny sizes at 320:
video (plain and realtime), concurrency, server, batch, call_overhead, spawn and http. The records spawn and http add
(spawn_sample, listening, the http iteration and result) are held to tests/fixtures/protocol/stream-spawn.jsonl and
stream-http.jsonl when those fixtures are there, and always to the key sets of docs/protocol.md. http is a real
server: healthz, detect against the single run's floats, every refusal, overload, 1000 keep-alive connections at
once, then stdin closed and the result and end records checked.

With `ort`, the ONNX Runtime engine instead (docs/protocol.md, "Engines"; CTest `e2e_ort`): the single scenario on
every image of data/images on both engines, ORT's detections held to OpenCV's (same classes, IoU >= 0.9, score within
0.02), the hello's `ort` and the load's `providers`; short ORT runs of concurrency (2 workers), batch (the batch-4
export) and http (without the 1000 connections); a batch the model was not exported for, and provider cuda on an ORT
without it (backend_unavailable after the hello); video and server on ORT with their own checks. The library is the
`ort` entry of tests/fixtures/protocol/conformance.json, as in the selftest.
"""
import collections
import hashlib
import http.client
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

RUNNER, ROOT = sys.argv[1], os.path.abspath(sys.argv[2])
MODE = sys.argv[3] if len(sys.argv) > 3 else "opencv"
sys.path.insert(0, ROOT)
from orchestrator import protocol  # noqa: E402
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
    for name in ("stream-single.jsonl", "stream-error.jsonl"):
        with open(os.path.join(ROOT, "tests", "fixtures", "protocol", name)) as f:
            for line in f:
                rec = json.loads(line)
                keys.setdefault(rec["type"], rec)
    return keys


def scenario_fixture(scenario):
    """The records of stream-<scenario>.jsonl by type (measured iterations apart), or {} while it is not there."""
    path = os.path.join(ROOT, "tests", "fixtures", "protocol", f"stream-{scenario}.jsonl")
    if not os.path.isfile(path):
        print(f"note: {os.path.basename(path)} missing, {scenario} records held to docs/protocol.md's keys only")
        return {}
    keys = {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            kind = rec["type"] + (".measured" if rec["type"] == "iteration" and not rec.get("warmup") else "")
            keys.setdefault(kind, rec)
    return keys


def validate(spec_obj, lines):
    """The orchestrator's validator on the stream, once it knows the scenario (spawn and http are new to it)."""
    if spec_obj["scenario"] not in protocol.SCENARIO_TYPES:
        print(f"note: orchestrator/protocol.py does not know {spec_obj['scenario']} yet: stream not validated")
        return
    problems = protocol.parse_lines(lines, spec_obj).problems
    check(not problems, f"{spec_obj['scenario']}: the validator found {problems[:3]}")


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
    recs = parse_records(p.stdout)
    validate(spec_obj, p.stdout.splitlines())
    return p.returncode, recs, p.stderr


def parse_records(stdout):
    recs = []
    for line in stdout.splitlines():
        try:
            recs.append(json.loads(line))
        except ValueError:
            check(False, f"stdout line is not JSON: {line[:120]!r}")
    return recs


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


# ---- scenarios (docs/protocol.md, "Scenarios") ----

THREE = [IMG("bus.jpg"), IMG("zidane.jpg"), IMG("dog.jpg")]
NAMES = [os.path.basename(p) for p in THREE]


def scenario_spec(scenario, images, warmup, iterations, size=320, **keys):
    return spec(size, images, warmup=warmup, iterations=iterations, scenario=scenario, threads=1, **keys)


def check_frame(s, rc, recs, ref, extra_iteration, extra_load=()):
    """Common frame of a scenario stream: hello, load(s), ..., [result], end; shapes; phase sums.
    Warm-up iterations carry no queue_ns / latency_ns (they are no requests). Returns
    (iterations, detections, result)."""
    check(rc == 0, f"{s['scenario']}: rc {rc}")
    types = [r.get("type") for r in recs]
    check(types[:1] == ["hello"] and types[-1:] == ["end"], f"{s['scenario']}: record order {types}")
    its, dets, results = [], [], []
    for r in recs:
        t = r.get("type")
        if t == "iteration":
            extra = [k for k in extra_iteration if not (r.get("warmup") and k in ("queue_ns", "latency_ns"))]
            same_shape(r, ref["iteration"], f"{s['scenario']}.iteration", extra)
            check(sum(r["phases_ns"].values()) == r["total_ns"], f"{s['scenario']}: phases sum != total_ns")
            check(all(v > 0 for v in r["phases_ns"].values()), f"{s['scenario']}: non-positive phase")
            its.append(r)
        elif t == "load":
            same_shape(r, ref["load"], f"{s['scenario']}.load", extra_load)
        elif t == "detections":
            same_shape(r, ref["detections"], f"{s['scenario']}.detections")
            dets.append(r)
        elif t == "result":
            results.append(r)
        elif t in ("hello", "end"):
            same_shape(r, ref[t], f"{s['scenario']}.{t}")
    check(len(results) == (0 if s["scenario"] == "batch" else 1), f"{s['scenario']}: {len(results)} result records")
    if results:
        check(types[-2] == "result", f"{s['scenario']}: result is not right before end")
        check(results[0].get("scenario") == s["scenario"], f"{s['scenario']}: result.scenario {results[0]}")
    end = recs[-1] if recs else {}
    check(end.get("iterations") == s["iterations"] and end.get("warmup") == s["warmup"], f"{s['scenario']}: end counts")
    return its, dets, (results[0] if results else {})


def same_detections(got, want, what):
    """Same boxes as the single run (the same model and image give the same float32 numbers)."""
    for name, d in got.items():
        if name in want:
            check(d["detections"] == want[name]["detections"], f"{what}: {name} differs from the single run")


def check_video(ref, **engine):
    s = scenario_spec("video", [], 1, 7, video={"path": VIDEO, "realtime": False}, **engine)
    rc, recs, _ = run(s)
    its, dets, res = check_frame(s, rc, recs, ref, ("frame",))
    check([r["index"] for r in its] == list(range(8)), "video: indices")
    check([r["frame"] for r in its] == list(range(8)), "video: frames 0..7 in order")
    check([r["warmup"] for r in its] == [True] + [False] * 7, "video: warmup flags")
    check(all(r["image"] == "frame-%06d" % r["frame"] for r in its), "video: frame names")
    check([d["image"] for d in dets] == [r["image"] for r in its], "video: one detections record per processed frame")
    check(all((d["width"], d["height"]) == (768, 576) for d in dets), "video: frame size")
    check((res.get("frames_read"), res.get("processed"), res.get("dropped")) == (8, 8, 0), f"video: result {res}")
    check(res.get("source_fps") == 10.0 and type(res.get("source_fps")) is float, f"video: source_fps {res}")
    busy = sum(r["total_ns"] for r in its[1:])
    check(busy <= res.get("measured_wall_ns", 0) < busy + 2e9, f"video: measured_wall_ns {res} vs busy {busy}")


def check_video_realtime(ref):
    # 640 on one thread is slower than 10 fps on most CPUs, so frames are dropped.
    s = scenario_spec("video", [], 0, 3, size=640, video={"path": VIDEO, "realtime": True})
    rc, recs, _ = run(s)
    its, dets, res = check_frame(s, rc, recs, ref, ("frame",))
    frames = [r["frame"] for r in its]
    check(res.get("frames_read") == res.get("processed", -1) + res.get("dropped", -1),
          f"video realtime: frames_read != processed + dropped: {res}")
    check(res.get("processed") == len(its) == 3, f"video realtime: processed {res}")
    check(frames == sorted(set(frames)) and frames[0] == 0 and frames[-1] < res.get("frames_read", 0),
          f"video realtime: frames {frames}")
    check(res.get("dropped") == res.get("frames_read", 0) - len(frames), f"video realtime: dropped {res}")
    # A frame is never read before it arrives: frame f starts no earlier than f / fps after frame 0.
    wall = res.get("measured_wall_ns", 0)
    check(wall >= (frames[-1] - frames[0]) * 100_000_000, f"video realtime: wall {wall} < arrivals of {frames}")
    if sum(r["total_ns"] for r in its) / len(its) > 150_000_000:
        check(res.get("dropped", 0) > 0, f"video realtime: slower than the stream but nothing dropped: {res}")


def check_pool_stream(s, rc, recs, ref, single, extra, compare=None):
    its, dets, res = check_frame(s, rc, recs, ref, extra, ("worker",))
    loads = [r for r in recs if r["type"] == "load"]
    check(sorted(r.get("worker") for r in loads) == list(range(s["workers"])), f"{s['scenario']}: one load per worker")
    warm = [r for r in its if r["warmup"]]
    meas = [r for r in its if not r["warmup"]]
    check(sorted(r["worker"] for r in warm) == sorted(list(range(s["workers"])) * s["warmup"]),
          f"{s['scenario']}: warm-up per worker")
    check(sorted(r["index"] for r in meas) == list(range(s["iterations"])), f"{s['scenario']}: request numbers")
    check(all(r["image"] == NAMES[r["index"] % 3] for r in meas), f"{s['scenario']}: request k -> images[k % n]")
    check(all(0 <= r["worker"] < s["workers"] for r in its), f"{s['scenario']}: worker ids")
    check(sorted(d["image"] for d in dets) == sorted(NAMES), f"{s['scenario']}: one detections record per image")
    (compare or same_detections)({d["image"]: d for d in dets}, single, s["scenario"])
    check((res.get("workers"), res.get("mode"), res.get("completed")) == (s["workers"], "threads", s["iterations"]),
          f"{s['scenario']}: result {res}")
    check(res.get("startup_ns", 0) > 0 and res.get("measured_wall_ns", 0) > 0, f"{s['scenario']}: result times {res}")
    return meas, res


def check_concurrency(ref, single):
    s = scenario_spec("concurrency", THREE, 1, 6, workers=2, mode="threads")
    rc, recs, _ = run(s, env={"OPENCV_LOG_LEVEL": "DEBUG"})  # stdout stays records only
    meas, res = check_pool_stream(s, rc, recs, ref, single, ("worker",))
    check(len({r["worker"] for r in meas}) == 2, "concurrency: both workers served requests")
    longest = max(r["total_ns"] for r in meas)
    check(longest <= res.get("measured_wall_ns", 0) <= sum(r["total_ns"] for r in meas) + 1e9,
          f"concurrency: measured_wall_ns {res}")


def check_server(ref, single, compare=None, **engine):
    ms = 1_000_000
    arrivals = [0, 0, 0, 300 * ms, 300 * ms]
    s = scenario_spec("server", THREE, 1, 5, workers=2, mode="threads", rate=8.0, arrivals_ns=arrivals, **engine)
    rc, recs, _ = run(s)
    meas, res = check_pool_stream(s, rc, recs, ref, single, ("worker", "queue_ns", "latency_ns"), compare)
    by_k = {r["index"]: r for r in meas}
    check(all(r["latency_ns"] == r["queue_ns"] + r["total_ns"] and r["queue_ns"] >= 0 for r in meas),
          "server: latency_ns != queue_ns + total_ns")
    # Requests 0, 1 and 2 arrive together: 0 and 1 take both workers, 2 waits for one of them (however fast the
    # machine: a fixed arrival gap once assumed an inference slower than it).
    if {0, 1, 2} <= set(by_k):
        first = min(by_k[0]["total_ns"], by_k[1]["total_ns"])
        check(by_k[2]["queue_ns"] > first // 2, f"server: request 2 did not queue: {by_k[2]['queue_ns']} ns while "
              f"the first request took {first} ns")
    check(res.get("rate") == 8.0 and type(res.get("rate")) is float, f"server: rate {res}")
    check(res.get("measured_wall_ns", 0) >= 300 * ms + min(r["total_ns"] for r in meas), f"server: wall {res}")


def check_batch(ref, single):
    # B = 4 on the batch-4 export when it is there; B = 1 on the plain model always (the protocol allows it).
    cases = [(1, MODEL[320])] + ([(4, MODEL_B4)] if os.path.isfile(MODEL_B4) else [])
    if len(cases) == 1:
        print("note: models/yolov5s-320-b4.onnx missing, batch checked with B = 1 only")
    for B, path in cases:
        s = scenario_spec("batch", THREE, 1, 1, batch=B)
        s["model"] = dict(s["model"], path=path, name=os.path.basename(path)[:-5])
        rc, recs, _ = run(s)
        its, dets, _ = check_frame(s, rc, recs, ref, ("batch",))
        what = f"batch {B}"
        check([r["index"] for r in its] == [0, 1] and all(r["batch"] == B for r in its), f"{what}: iterations")
        check([r["image"] for r in its] == [NAMES[(i * B) % 3] for i in range(2)], f"{what}: first image's name")
        check(sorted(d["image"] for d in dets) == sorted(NAMES), f"{what}: one detections record per image")
        count = {d["image"]: len(d["detections"]) for d in dets}
        for i, r in enumerate(its):
            want = sum(count.get(NAMES[(i * B + j) % 3], 0) for j in range(B))
            check(r["detections"] == want, f"{what}: iteration {i} detections {r['detections']} != {want}")
        for d in dets:  # another export may differ in the last bits, not in what it finds
            classes = sorted(x["class_id"] for x in d["detections"])
            want = sorted(x["class_id"] for x in single.get(d["image"], d)["detections"])
            check(d["image"] not in single or classes == want, f"{what}: {d['image']} classes {classes} != {want}")
    # A batch the model was not exported for is an error, not a silent fallback.
    s = scenario_spec("batch", THREE, 0, 1, batch=2)
    rc, recs, _ = run(s)
    check(rc == 1 and recs and recs[-1].get("type") == "error" and "batch" in recs[-1].get("message", ""),
          f"batch 2 on a batch-1 model: rc {rc}, {recs[-1] if recs else None}")


def check_call_overhead(ref):
    s = scenario_spec("call_overhead", [], 2, 5, calls_per_sample=1000)
    s["model"] = dict(s["model"], path="/nonexistent/no-model-is-loaded.onnx")
    rc, recs, _ = run(s)
    check(rc == 0, f"call_overhead: rc {rc}")
    types = [r.get("type") for r in recs]
    check(types == ["hello"] + ["call_sample"] * 28 + ["end"], f"call_overhead: records {types}")
    samples = [r for r in recs if r.get("type") == "call_sample"]
    check([(r["call"], r["index"]) for r in samples] == [(c, i) for i in range(7)
                                                         for c in ("empty", "opencv", "mat", "loop")],
          "call_overhead: samples interleaved empty/opencv/mat/loop")
    check([r["warmup"] for r in samples] == [i < 2 for i in range(7) for _ in range(4)], "call_overhead: warmup flags")
    for r in samples:
        check(set(r) == {"type", "call", "index", "warmup", "calls", "total_ns"}, f"call_overhead: keys {sorted(r)}")
        check(r["calls"] == 1000 and type(r["total_ns"]) is int and r["total_ns"] > 0, f"call_overhead: {r}")


# ---- spawn: the article's threads (docs/protocol.md, "Scenarios", spawn) ----

SPAWN_KEYS = {"type", "index", "warmup", "workers", "tasks", "startup_ns", "tasks_ns", "rss_before_bytes",
              "rss_bytes"}


def check_spawn(ref):
    """1000 threads x 10 tasks of 1 ms each: no model (the path does not exist), every sample's counts and times."""
    fixture = scenario_fixture("spawn")
    ms = 1_000_000
    s = scenario_spec("spawn", [], 1, 2, workers=1000, mode="threads", tasks=10_000, task_sleep_ns=ms, print=False)
    s["model"] = dict(s["model"], path="/nonexistent/no-model-is-loaded.onnx")
    rc, recs, _ = run(s)
    check(rc == 0, f"spawn: rc {rc}")
    types = [r.get("type") for r in recs]
    check(types == ["hello"] + ["spawn_sample"] * 3 + ["end"], f"spawn: records {types}")
    samples = [r for r in recs if r.get("type") == "spawn_sample"]
    check([(r["index"], r["warmup"]) for r in samples] == [(0, True), (1, False), (2, False)], "spawn: indices")
    for r in samples:
        check(set(r) == SPAWN_KEYS and all(type(r[k]) is int for k in SPAWN_KEYS - {"type", "warmup"}),
              f"spawn: keys {sorted(r)}")
        if "spawn_sample" in fixture:
            same_shape(r, fixture["spawn_sample"], "spawn.spawn_sample")
        check((r["workers"], r["tasks"]) == (1000, 10_000), f"spawn: counts {r}")
        # Each worker sleeps at least tasks / workers times, one sleep after the other.
        check(r["tasks_ns"] >= 10_000 // 1000 * ms, f"spawn: tasks_ns {r['tasks_ns']} < 10 sleeps of 1 ms")
        check(0 < r["startup_ns"] < 30e9 and r["rss_before_bytes"] > 0 and r["rss_bytes"] > 0, f"spawn: {r}")
    if recs:
        same_shape(recs[-1], ref["end"], "spawn.end")
        check((recs[-1].get("iterations"), recs[-1].get("warmup")) == (2, 1), f"spawn: end {recs[-1]}")
    # print: the article's line per task, on stderr.
    s = scenario_spec("spawn", [], 0, 1, workers=2, mode="threads", tasks=4, task_sleep_ns=0, print=True)
    rc, recs, err = run(s)
    lines = re.findall(r"^Worker (\d+) processed (\d+)$", err, re.M)
    check(rc == 0 and sorted(int(t) for _, t in lines) == [0, 1, 2, 3] and {w for w, _ in lines} <= {"0", "1"},
          f"spawn print: rc {rc}, lines {lines}")


# ---- http: a real server (docs/protocol.md, "Scenarios", http) ----

class Server:
    """The runner in http mode: started, read up to its listening record, then stopped by closing stdin."""

    def __init__(self, spec_obj):
        self.spec = spec_obj
        self.stderr = tempfile.TemporaryFile("w+")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(spec_obj, f)
        self.spec_path = f.name
        self.p = subprocess.Popen([RUNNER, "--spec", self.spec_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.stderr, text=True)
        self.lines = []
        self.port = None
        timer = threading.Timer(120, self.p.kill)  # a start-up that hangs fails the check, not the test run
        timer.start()
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))
            rec = json.loads(line)
            if rec.get("type") in ("listening", "error"):
                self.port = rec.get("port")
                break
        timer.cancel()
        check(self.port is not None, f"http: no listening record: {self.lines[-1:]}")

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stop(self):
        """Closes stdin (the orchestrator's signal); returns the exit status and every record."""
        self.p.stdin.close()
        timer = threading.Timer(60, self.p.kill)
        timer.start()
        rest = self.p.stdout.read()  # through the same buffer as the lines read before
        self.p.wait()
        check(timer.is_alive(), "http: the server did not stop within 60 s of stdin's end")
        timer.cancel()
        os.unlink(self.spec_path)
        self.lines += rest.splitlines()
        validate(self.spec, self.lines)
        return self.p.returncode, parse_records("\n".join(self.lines))


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    try:
        return r.status, json.loads(data), r
    except ValueError:
        return r.status, data, r


def post_image(conn, path, content_type="image/jpeg", name=None):
    with open(path, "rb") as f:
        body = f.read()
    headers = {"Content-Type": content_type}
    if name:
        headers["X-Image-Name"] = name
    return request(conn, "POST", "/v1/detect", body, headers)


def check_refused(got, status, code, what):
    st, body, _ = got
    check(st == status and isinstance(body, dict) and body.get("error") == code and body.get("message"),
          f"http {what}: {st} {body!r:.200} (want {status} {code})")


def too_large(port):
    """A 100 MB Content-Length and no body: refused from the header, at once, and the connection closed (the body
    is never read: a read would wait for bytes that never come, until the 5 s read timeout)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                  b"Content-Length: 104857600\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 413") and json.loads(body or b"{}").get("error") == "too_large",
          f"http 413: {data[:300]!r}")
    check(time.monotonic() - t0 < 2.0, f"http 413: took {time.monotonic() - t0:.1f} s, as if the body was awaited")


def overload(port, n=12):
    """workers=1 queue=0: n requests at once, one network; the extra ones are 503 overloaded at once."""
    barrier = threading.Barrier(n)
    statuses = []

    def one():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        barrier.wait()
        statuses.append(post_image(conn, IMG("bus.jpg"), name="bus.jpg"))
        conn.close()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = collections.Counter(st for st, _, _ in statuses)
    check(codes[200] >= 1 and codes[503] >= 1 and codes[200] + codes[503] == n, f"http overload: {dict(codes)}")
    for st, body, _ in statuses:
        if st == 503:
            check_refused((st, body, None), 503, "overloaded", "overload")
    return codes[200], codes[503]


def many_connections(port, n=1000):
    """n keep-alive connections open at once, each asking twice; a detect on another connection meanwhile."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]
    try:
        ok = healthz_twice(socks)
        other = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        st, _, _ = post_image(other, IMG("dog.jpg"))
        other.close()  # an idle keep-alive connection would hold the server's shutdown for its 5 s timeout
        check(st == 200, f"http: a detect while {n} connections are open: {st}")
    finally:
        for s in socks:
            s.close()
    check(ok == 2 * n, f"http: {ok} of {2 * n} healthz answers on {n} keep-alive connections")


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def healthz_twice(socks, deadline_s=60):
    """GET /healthz on every socket at once, and again on each as soon as its first answer came (a client that
    idled for the server's 5 s keep-alive timeout would find its connection closed). Returns the 200 answers
    with the protocol's body."""
    sel = selectors.DefaultSelector()
    left, bufs = {}, {}
    for s in socks:
        s.sendall(HEALTHZ)
        sel.register(s, selectors.EVENT_READ)
        left[s], bufs[s] = 2, b""
    ok, end = 0, time.monotonic() + deadline_s
    while left and time.monotonic() < end:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            chunk = s.recv(4096)
            bufs[s] += chunk
            head, sep, body = bufs[s].partition(b"\r\n\r\n")
            m = re.search(rb"Content-Length: (\d+)", head)
            if chunk and not (sep and m and len(body) >= int(m.group(1))):
                continue  # more to come
            ok += bool(chunk) and head.startswith(b"HTTP/1.1 200") and json.loads(body) == {"status": "ready",
                                                                                            "workers": 1}
            left[s] -= 1 if chunk else 2  # closed by the server: nothing more on it
            bufs[s] = b""
            if left[s] > 0:
                s.sendall(HEALTHZ)
            else:
                sel.unregister(s)
                del left[s]
    sel.close()
    return ok


def check_http_stream(s, rc, recs, ref, sent, rejected):
    """The stream of a server that answered `sent` (image names of the 200 answers) and `rejected` refusals."""
    fixture = scenario_fixture("http")
    types = [r.get("type") for r in recs]
    check(rc == 0 and types[:2] == ["hello", "load"] and types[-2:] == ["result", "end"], f"http: rc {rc}, {types}")
    li = types.index("listening") if "listening" in types else len(types)
    before, after = recs[:li], recs[li + 1:]
    listening = recs[li] if li < len(recs) else {}
    check(set(listening) == {"type", "address", "port", "startup_ns"} and listening.get("address") == "127.0.0.1" and
          type(listening.get("port")) is int and listening.get("startup_ns", 0) > 0, f"http: listening {listening}")
    if "listening" in fixture:
        same_shape(listening, fixture["listening"], "http.listening")
    warm = [r for r in before if r.get("type") == "iteration"]
    check(len(warm) == s["workers"] * s["warmup"] and all(r["warmup"] and type(r.get("worker")) is int
                                                          for r in warm), f"http: warm-up iterations {len(warm)}")
    meas = [r for r in after if r.get("type") == "iteration"]
    check([r["index"] for r in meas] == list(range(len(sent))), f"http: indices {[r['index'] for r in meas]}")
    check(sorted(r["image"] for r in meas) == sorted(sent), f"http: images {[r['image'] for r in meas]} != {sent}")
    for r in meas:
        same_shape(r, ref["iteration"], "http.iteration", ("worker", "queue_ns", "handler_ns"))
        if "iteration.measured" in fixture:
            same_shape(r, fixture["iteration.measured"], "http.iteration")
        check(r["warmup"] is False and 0 <= r["worker"] < s["workers"], f"http: iteration {r}")
        check(sum(r["phases_ns"].values()) == r["total_ns"] and all(v > 0 for v in r["phases_ns"].values()),
              f"http: phases {r}")
        check(0 <= r["queue_ns"] and r["handler_ns"] >= r["queue_ns"] + r["total_ns"], f"http: handler_ns {r}")
    # The warm-up's images only (images[i % n] for i < warmup), once each, before the server listens.
    dets = [r["image"] for r in recs if r.get("type") == "detections"]
    names = [os.path.basename(p) for p in s["images"]]
    check(sorted(dets) == sorted({names[i % len(names)] for i in range(s["warmup"])}) and
          all(r.get("type") != "detections" for r in after), f"http: detections records {dets}")
    res, end = recs[-2] if len(recs) > 1 else {}, recs[-1] if recs else {}
    want = {"type": "result", "scenario": "http", "workers": s["workers"], "mode": "threads",
            "startup_ns": listening.get("startup_ns"), "served": len(sent), "rejected": rejected}
    check(res == want, f"http: result {res} != {want}")
    if "result" in fixture:
        same_shape(res, fixture["result"], "http.result")
    same_shape(end, ref["end"], "http.end")
    check((end.get("iterations"), end.get("warmup")) == (len(sent), s["workers"] * s["warmup"]), f"http: end {end}")


def check_http(ref, single, compare=None, crowd=True, **engine):
    """One network and no queue, so that two requests at once already overload it. `crowd`: the 1000 keep-alive
    connections too (the server's side, the same on every engine)."""
    s = scenario_spec("http", THREE, 1, 1, workers=1, mode="threads",
                      http={"queue": 0, "max_body_bytes": 1 << 20, "port": 0}, **engine)
    server = Server(s)
    if server.port is None:
        server.stop()
        return
    sent, refused = [], 0
    conn = server.conn()
    st, body, _ = request(conn, "GET", "/healthz")
    check(st == 200 and body == {"status": "ready", "workers": 1}, f"http healthz: {st} {body}")
    # The same connection throughout (keep-alive), refusals included.
    for path, ctype, name, want in ((IMG("bus.jpg"), "image/jpeg", "bus.jpg", "bus.jpg"),
                                    (IMG("zidane.jpg"), "application/octet-stream", None, "request")):
        st, body, _ = post_image(conn, path, ctype, name)
        got = body if isinstance(body, dict) else {}
        check(st == 200 and set(got) == {"image", "width", "height", "detections"} and got.get("image") == want,
              f"http detect {want}: {st} {body!r:.200}")
        (compare or same_detections)({os.path.basename(path): got}, single, f"http detect {want}")
        sent.append(want)
    check_refused(request(conn, "POST", "/v1/detect", b"not an image", {"Content-Type": "image/png"}), 400,
                  "bad_image", "bad bytes")
    check_refused(request(conn, "POST", "/v1/detect", b"", {"Content-Type": "image/png"}), 400, "bad_image",
                  "empty body")
    check_refused(request(conn, "GET", "/nope"), 404, "not_found", "404")
    check_refused(request(conn, "GET", "/v1/detect"), 405, "method_not_allowed", "GET /v1/detect")
    st, body, _ = request(conn, "GET", "/healthz")
    check(st == 200, f"http: healthz after refusals on the same connection: {st}")
    refused += 4
    # Refusals of a body left unread close their connection: a fresh one each.
    check_refused(request(server.conn(), "DELETE", "/healthz", b"x"), 405, "method_not_allowed", "DELETE /healthz")
    check_refused(request(server.conn(), "POST", "/v1/detect", b"text", {"Content-Type": "text/plain"}), 415,
                  "unsupported_media_type", "415")
    too_large(server.port)
    refused += 3
    served, overloaded = overload(server.port)
    sent += ["bus.jpg"] * served
    refused += overloaded
    if crowd:
        many_connections(server.port)
        sent.append("request")  # the detect made while the connections were open
    conn.close()
    rc, recs = server.stop()
    check_http_stream(s, rc, recs, ref, sent, refused)


# ---- the ONNX Runtime engine (docs/protocol.md, "Engines") ----

ALL = sorted(os.path.join(ROOT, "data", "images", n) for n in os.listdir(os.path.join(ROOT, "data", "images"))
             if n.lower().endswith((".jpg", ".jpeg", ".png")))
with open(os.path.join(ROOT, "tests", "fixtures", "protocol", "conformance.json")) as _f:
    _ORT = json.load(_f)["ort"]
ORT_LIB = os.path.join(ROOT, _ORT["library_windows" if os.name == "nt" else "library"])
ORT_PY = os.path.join(ROOT, _ORT["python_path"])
SESSION_OPTIONS = {"inter_op_threads": 1, "execution_mode": "sequential", "graph_optimization": "all"}


def ort_engine(provider="cpu"):
    return {"name": "onnxruntime", "provider": provider, "library": ORT_LIB, "python_path": ORT_PY}


def ort_ref(ref):
    """The shapes of an ORT stream: the hello adds `ort`, the load `providers` (docs/protocol.md, "Records")."""
    ort = {"version": "1.32.0", "library": "/abs/libonnxruntime.so", "library_sha256": "hex", "linked": False,
           "available_providers": ["CPUExecutionProvider"], "provider": "cpu",
           "session_options": dict(SESSION_OPTIONS, intra_op_threads=1)}
    return dict(ref, hello=dict(ref["hello"], engine="onnxruntime", ort=ort),
                load=dict(ref["load"], providers=["CPUExecutionProvider"]))


def check_ort_hello(s, recs):
    """hello.ort names the very file the spec gave, with its hash, and the protocol's session options."""
    hello = recs[0] if recs else {}
    ort = hello.get("ort", {})
    what = f"{s['scenario']} on onnxruntime: hello"
    check(hello.get("engine") == "onnxruntime", f"{what}.engine {hello.get('engine')}")
    check(ort.get("library") == os.path.abspath(ORT_LIB), f"{what}.ort.library {ort.get('library')}")
    with open(ORT_LIB, "rb") as f:
        check(ort.get("library_sha256") == hashlib.sha256(f.read()).hexdigest(), f"{what}.ort.library_sha256")
    check(ort.get("linked") is False, f"{what}.ort.linked {ort.get('linked')}")
    check(bool(ort.get("version")) and ORT_LIB.endswith(".so." + ort.get("version", "?")),
          f"{what}.ort.version {ort.get('version')} is not the file's {os.path.basename(ORT_LIB)}")
    check("CPUExecutionProvider" in ort.get("available_providers", []), f"{what}.ort.available_providers {ort}")
    check(ort.get("provider") == s["engine"]["provider"], f"{what}.ort.provider {ort.get('provider')}")
    check(ort.get("session_options") == dict(SESSION_OPTIONS, intra_op_threads=s["threads"]),
          f"{what}.ort.session_options {ort.get('session_options')}")
    return ort


def check_providers(s, recs, want=("CPUExecutionProvider",)):
    loads = [r for r in recs if r.get("type") == "load"]
    check(loads and all(r.get("providers") == list(want) for r in loads), f"{s['scenario']}: load providers {loads}")


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def close_detections(got, want, what):
    """Another engine computes other last bits, not other objects: per image the same classes, and each box
    matched one to one with a box of its class at IoU >= 0.9 and a score within 0.02."""
    for name, w in want.items():
        if name not in got:
            continue  # which images a run reports is checked by the caller
        mine, theirs = got[name]["detections"], w["detections"]
        classes = sorted(x["class_id"] for x in mine), sorted(x["class_id"] for x in theirs)
        check(classes[0] == classes[1], f"{what}: {name} classes {classes[0]} != {classes[1]}")
        free = list(mine)
        for x in theirs:
            best = max((y for y in free if y["class_id"] == x["class_id"]), key=lambda y: iou(x["box"], y["box"]),
                       default=None)
            ok = best is not None and iou(x["box"], best["box"]) >= 0.9 and abs(best["score"] - x["score"]) <= 0.02
            check(ok, f"{what}: {name} {x} has no match in {mine}")
            if best is not None:
                free.remove(best)


def check_ort_single(ref):
    """Every image on both engines at 320: ORT finds what OpenCV finds. Returns both engines' detections."""
    s = spec(320, ALL, warmup=1, iterations=len(ALL), threads=1)
    rc, recs, _ = run(s)
    opencv = check_ok_stream(s, rc, recs, ref)
    check(recs and recs[0].get("engine") == "opencv" and "ort" not in recs[0], "opencv: hello.engine, no ort")
    s = dict(s, engine=ort_engine())
    rc, recs, _ = run(s, env={"OPENCV_LOG_LEVEL": "DEBUG"})  # stdout stays records only
    ort = check_ok_stream(s, rc, recs, ort_ref(ref))
    check_ort_hello(s, recs)
    check_providers(s, recs)
    check(len(ort) == len(ALL), f"single on onnxruntime: {len(ort)} detections records for {len(ALL)} images")
    close_detections(ort, opencv, "single on onnxruntime vs opencv")
    return opencv, recs[0].get("ort", {})


def check_ort_concurrency(ref, opencv):
    s = scenario_spec("concurrency", THREE, 1, 6, workers=2, mode="threads", engine=ort_engine())
    rc, recs, _ = run(s)
    meas, _ = check_pool_stream(s, rc, recs, ort_ref(ref), opencv, ("worker",), compare=close_detections)
    check_ort_hello(s, recs)
    check_providers(s, recs)
    check(len({r["worker"] for r in meas}) == 2, "concurrency on onnxruntime: both workers served requests")


def check_ort_batch(ref, opencv):
    s = scenario_spec("batch", THREE, 1, 1, batch=4, engine=ort_engine())
    s["model"] = dict(s["model"], path=MODEL_B4, name="yolov5s-320-b4")
    rc, recs, _ = run(s)
    its, dets, _ = check_frame(s, rc, recs, ort_ref(ref), ("batch",))
    check_ort_hello(s, recs)
    check_providers(s, recs)
    check([r["index"] for r in its] == [0, 1] and all(r["batch"] == 4 for r in its), "batch on onnxruntime: iterations")
    check(sorted(d["image"] for d in dets) == sorted(NAMES), "batch on onnxruntime: one detections record per image")
    close_detections({d["image"]: d for d in dets}, opencv, "batch 4 on onnxruntime vs opencv")
    # ORT reads the model's input shape: another batch is refused at the load, naming both shapes.
    s = dict(s, batch=2, warmup=0)
    rc, recs, _ = run(s)
    last = recs[-1] if recs else {}
    check(rc == 1 and last.get("code") == "model_load" and "[4, 3, 320, 320]" in last.get("message", "") and
          "[2, 3, 320, 320]" in last.get("message", ""), f"batch 2 on the batch-4 model: rc {rc}, {last}")


def check_ort_cuda(ort):
    """Providers are checked, never assumed: cuda on an ORT without it is backend_unavailable after the hello."""
    s = spec(320, THREE[:1], warmup=0, iterations=1, threads=1, engine=ort_engine("cuda"))
    rc, recs, _ = run(s)
    types = [r.get("type") for r in recs]
    if "CUDAExecutionProvider" in ort.get("available_providers", []):
        check(rc == 0 and types[-1:] == ["end"], f"cuda on an ORT that has it: rc {rc}, {types}")
        check_providers(s, recs, ("CUDAExecutionProvider", "CPUExecutionProvider"))
        return
    last = recs[-1] if recs else {}
    check(rc == 1 and types == ["hello", "error"] and last.get("code") == "backend_unavailable" and
          "cuda" in last.get("message", ""), f"cuda on a CPU-only ORT: rc {rc}, {recs[-1:]}")
    check("ort" in recs[0] if recs else False, "cuda on a CPU-only ORT: the hello still says which ORT it asked")


def main_ort(ref):
    if not os.path.isfile(ORT_LIB) or not os.path.isfile(MODEL_B4):
        check(False, f"{ORT_LIB} or {MODEL_B4} missing: make onnxruntime, make models")
        return
    opencv, ort = check_ort_single(ref)
    check_ort_concurrency(ref, opencv)
    check_ort_batch(ref, opencv)
    check_ort_cuda(ort)
    # The other scenarios that load a model, with their own checks, on ORT.
    check_video(ort_ref(ref), engine=ort_engine())
    check_server(ort_ref(ref), opencv, close_detections, engine=ort_engine())
    check_http(ort_ref(ref), opencv, close_detections, crowd=False, engine=ort_engine())


def main():
    if not all(os.path.isfile(p) for p in MODEL.values()) or not os.path.isfile(IMG("bus.jpg")):
        print("skip: models or images not there yet")
        return 77
    ref = fixture_keys()
    if MODE == "ort":
        main_ort(ref)
        print("e2e ort: %d failure(s)" % len(FAILS))
        return 1 if FAILS else 0

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
    single320 = check_ok_stream(s, rc, recs, ref)
    check(recs and recs[0].get("threads") == 1, "threads echoed from getNumThreads")

    check_video(ref)
    check_video_realtime(ref)
    check_concurrency(ref, single320)
    check_server(ref, single320)
    check_batch(ref, single320)
    check_call_overhead(ref)
    check_spawn(ref)
    check_http(ref, single320)

    # The error paths are the runner contract's cases (tests/fixtures/protocol/conformance.json), run by the
    # selftest without a model.
    print("e2e: %d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
