"""A small fake runner for the orchestrator's tests: speaks protocol 1 with made-up timings.

FAKE_MODE: ok | crash | hang | garbage | error, and the faults of tests/test_faults.py: kill (SIGKILL mid-run),
orphan (exit 0 leaving a detached grandchild that holds stdout), huge (one 10 MiB line), flood (40 MiB of stderr),
noline (1 MiB of stderr without a newline), negative and absurd (durations), protocol2, no_end;
FAKE_MS: median latency; FAKE_SEED: random seed;
FAKE_BUILD: the OpenCV build hash it claims; FAKE_SHIFT: moves one detection box by this many pixels;
FAKE_RSS_MB: the peak RSS it reports; FAKE_WARM: the first N measured iterations are twice as slow;
FAKE_MODE=unavailable or fallback imitate a missing backend (error record) and OpenCV's silent CPU
fallback (a stderr line). FAKE_PROCESS_SPREAD (default 0.03): each process has its own level, lognormal with this
standard deviation, drawn from FAKE_SEED, the cell and the process number (every process differs, reproducibly),
as real processes differ; FAKE_SLEEP_MS: each iteration also sleeps this long, so that a process lasts long enough
for the machine-load figure (orchestrator/quiet.py) to mean something.
"""

import json
import os
import random
import sys
import time

SLEEP_S = 0.0


def emit(**record):
    print(json.dumps(record), flush=True)


def main():
    spec = json.load(open(sys.argv[sys.argv.index("--spec") + 1]))
    if os.environ.get("FAKE_SLEEP_MS"):  # iterations take real time, so a machine-load figure has a window
        global SLEEP_S
        SLEEP_S = float(os.environ["FAKE_SLEEP_MS"]) / 1000
    mode = os.environ.get("FAKE_MODE", "ok")
    ms = float(os.environ.get("FAKE_MS", "20"))
    process = os.path.join(*os.path.normpath(sys.argv[sys.argv.index("--spec") + 1]).split(os.sep)[-2:])
    rng = random.Random(int(os.environ.get("FAKE_SEED", "1")))
    level = random.Random(f"{os.environ.get('FAKE_SEED', '1')}:{process}").lognormvariate(
        0, float(os.environ.get("FAKE_PROCESS_SPREAD", "0.03")))
    build = os.environ.get("FAKE_BUILD", "b" * 64)
    if mode == "orphan":  # a grandchild in a session of its own keeps our stdout open for five minutes
        import subprocess
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
        print(f"grandchild pid {child.pid}", file=sys.stderr, flush=True)
    if mode == "flood":
        sys.stderr.write(("x" * 1023 + "\n") * (40 << 10))
    if mode == "noline":
        sys.stderr.write("y" * (1 << 20))
    emit(type="hello", protocol=2 if mode == "protocol2" else 1, runner="fake", language="python",
         language_version="3", opencv_version="4.6.0",
         opencv_build_hash=build, opencv_build_info="fake", threads=spec["threads"] or 4, pid=os.getpid(),
         backend=spec["backend"], target=spec["target"], available_targets=["cpu"])
    if hasattr(os, "sched_getaffinity"):
        print(f"affinity {sorted(os.sched_getaffinity(0))}", file=sys.stderr)
    if mode == "unavailable":
        emit(type="error", code="backend_unavailable", message="no cuda target", fatal=True)
        return 1
    if mode == "fallback":
        print("[ WARN:0@0.1] global net.cpp DNN module was not built with CUDA backend; switching to CPU",
              file=sys.stderr)
    if mode == "error":
        emit(type="error", code="model_load", message="cannot read model", fatal=True)
        return 1
    if mode == "hang":
        time.sleep(3600)
    emit(type="load", model=spec["model"]["name"], load_ns=1000000)
    images = spec["images"]
    total = spec["warmup"] + spec["iterations"]
    for i in range(total):
        if mode == "crash" and i == 2:
            print("fatal: simulated crash", file=sys.stderr)
            return 3
        if mode == "garbage" and i == 2:
            print("this is not json", flush=True)
        if mode == "kill" and i == 2:
            os.kill(os.getpid(), 9)
        if mode == "huge" and i == 2:
            print("z" * (10 << 20), flush=True)
        time.sleep(SLEEP_S)
        slow = 3 if i == 0 else (2 if 0 <= i - spec["warmup"] < int(os.environ.get("FAKE_WARM", "0")) else 1)
        ns = int(ms * 1e6 * level * rng.lognormvariate(0, 0.03)) * slow
        if mode == "absurd" and i == 3:
            ns = 10**16
        phases = {"decode": ns // 10, "preprocess": ns // 10, "inference": ns - 3 * (ns // 10), "postprocess": ns // 10}
        if mode == "negative" and i == 3:
            phases["inference"] = -3 * 10**9
        emit(type="iteration", index=i, warmup=i < spec["warmup"], image=os.path.basename(images[i % len(images)]),
             phases_ns=phases, total_ns=sum(phases.values()), detections=1)
        if i < len(images):
            shift = float(os.environ.get("FAKE_SHIFT", "0"))
            emit(type="detections", image=os.path.basename(images[i]), width=100, height=100,
                 detections=[{"class_id": 0, "score": 0.9, "box": [10 + shift, 10, 50, 50]}])
    if mode == "no_end":
        return 0
    rss = int(os.environ.get("FAKE_RSS_MB", "50")) * 2**20
    emit(type="end", iterations=spec["iterations"], warmup=spec["warmup"], peak_rss_bytes=rss)
    return 0


sys.exit(main())
