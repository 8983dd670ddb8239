"""How `orchestrator report` scales: generate a run folder of N measured iterations, render it, print the figures.

    .venv/bin/python scripts/bench_report.py --iterations 1000000 [--out DIR] [--keep]

The folder has 8 cells (2 runners x 2 models x 2 thread counts, single scenario, 10 rounds each), real record
shapes (hello, load, iteration, detections, end; samples at 4 Hz) and lognormal timings. It goes through the
orchestrator's own config, matrix and run-folder code, so it is a valid run folder. The report then runs in a
child process, whose wall time and peak RSS are printed (docs/report.md, "Scaling", quotes them). Not a test:
the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator import config as config_mod  # noqa: E402
from orchestrator import environment, matrix, run  # noqa: E402
from orchestrator.runfolder import RunFolder  # noqa: E402

ROUNDS = 10
HELLO = {"type": "hello", "protocol": 1, "language_version": "x", "opencv_version": "4.6.0",
         "opencv_build_hash": "b" * 64, "opencv_build_info": "bench", "threads": 1, "pid": 1, "backend": "opencv",
         "target": "cpu", "available_targets": ["cpu"]}


def make_config(tmp: Path, small: bool, iterations: int) -> Path:
    """8 cells (2 runners x 2 models x 2 thread counts), or 2 with `small` (one model, one thread count)."""
    for name in ("m320.onnx", "m640.onnx", "a.jpg", "b.jpg"):
        (tmp / name).write_bytes(b"x")
    models = "" if small else "\n          - {name: m640, path: m640.onnx, input_size: 640}"
    text = textwrap.dedent(f"""\
        name: bench
        models:
          - {{name: m320, path: m320.onnx, input_size: 320}}{models}
        images: [a.jpg, b.jpg]
        scenario: {{warmup: 2, iterations: {iterations}, repeats: {ROUNDS}}}
        threads: {1 if small else [1, 2]}
        seed: 1
        compare: [[go, python]]
        runners:
          - {{name: go, kind: go}}
          - {{name: python, kind: python}}
        """)
    path = tmp / "bench.yaml"
    path.write_text(text)
    return path


def write_process(folder: RunFolder, cell: matrix.Cell, spec: dict, repeat: int, order: int,
                  rng: random.Random, python_factor: float) -> None:
    files = folder.process(cell.id, repeat)
    folder.write_spec(files, spec)
    factor = 1.0 if cell.runner.kind == "go" else python_factor
    level = rng.lognormvariate(0, 0.03) * factor * cell.model.input_size / 320
    lines = [json.dumps({**HELLO, "runner": f"{cell.runner.kind}_runner", "language": cell.runner.kind}),
             json.dumps({"type": "load", "model": cell.model_name, "load_ns": 40_000_000})]
    seen = set()
    elapsed_ns = 0
    for i in range(spec["warmup"] + spec["iterations"]):
        inference = int(40e6 * level * rng.lognormvariate(0, 0.05))
        phases = {"decode": 5_000_000, "preprocess": 900_000, "inference": inference, "postprocess": 300_000}
        total = sum(phases.values())
        elapsed_ns += total
        image = Path(spec["images"][i % 2]).name
        lines.append(json.dumps({"type": "iteration", "index": i, "warmup": i < spec["warmup"], "image": image,
                                 "phases_ns": phases, "total_ns": total, "detections": 5}))
        if image not in seen:
            seen.add(image)
            dets = [{"class_id": k, "score": 0.9 - k / 10, "box": [10.5, 20.25, 300.0, 400.75]} for k in range(5)]
            lines.append(json.dumps({"type": "detections", "image": image, "width": 810, "height": 1080,
                                     "detections": dets}))
    lines.append(json.dumps({"type": "end", "iterations": spec["iterations"], "warmup": spec["warmup"],
                             "peak_rss_bytes": 300 << 20, "pss_bytes": 280 << 20}))
    files.jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    files.stderr.write_text("", encoding="utf-8")
    seconds = elapsed_ns / 1e9
    rows = ["t_s,rss_bytes,cpu_percent,threads,pss_bytes"] + [
        f"{k * 0.25:.2f},{(250 + min(k, 20) * 2) << 20},98.0,4," for k in range(int(seconds * 4) + 1)]
    files.samples.write_text("\n".join(rows) + "\n", encoding="utf-8")
    machine = {"other_cores": 0.01, "steal_cores": 0.0, "runner_cores": 1.0, "harness_cores": 0.01,
               "load_before": 0.1, "threshold": 0.25, "busy": False}
    folder.append_process({"cell": cell.id, "repeat": repeat, "order": order, "argv": ["bench"], "exit_code": 0,
                           "wall_s": round(seconds + 1, 3), "startup_ms": 900.0, "status": "ok", "error": None,
                           "machine": machine, "memory_base": {"rss_bytes": 100 << 20, "pss_bytes": 95 << 20},
                           "sampler_cpu_s": 0.01, "sampler_measuring": {"cpu_s": 0.001, "wall_s": seconds}})


def generate(out: Path, iterations: int, small: bool = False, python_factor: float = 1.1,
             portable: bool = False, seed: int = 1) -> None:
    """A run folder of about `iterations` measured iterations; the python runner `python_factor` slower.
    `portable` (the golden tests' inputs): no path or fact of this machine in it."""
    with tempfile.TemporaryDirectory() as tmp:
        per_process = max(1, iterations // ((2 if small else 8) * ROUNDS))
        config_path = make_config(Path(tmp), small, per_process)
        config = config_mod.load(config_path)
        cells = matrix.expand(config)
        folder = RunFolder(out)
        folder.write_config(config_mod.resolved(config))
        folder.write_environment(environment.collect([m.path for m in config.models], config.images, config_path))
        folder.write_cells(run.cell_info(cells, {}))
        rng = random.Random(seed)
        for order, (cell, repeat) in enumerate(matrix.schedule(cells, {"single": ROUNDS}, "random", 1)):
            write_process(folder, cell, matrix.spec(config, cell, repeat), repeat, order, rng, python_factor)
        if portable:
            _make_portable(folder, Path(tmp))


def _make_portable(folder: RunFolder, tmp: Path) -> None:
    """Paths of the temporary inputs and of this interpreter become neutral ones; the environment a fixed one."""
    for path in [folder.config, *folder.raw.rglob("*.spec.json")]:
        text = path.read_text(encoding="utf-8").replace(str(tmp), "/inputs").replace(sys.executable, "python3")
        path.write_text(text, encoding="utf-8")
    folder.write_environment({"os": "Linux (a generated run folder)", "cpu_model": "none", "logical_cpus": 2,
                              "ram_gb": 24})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=100_000, help="measured iterations in all (default 1e5)")
    parser.add_argument("--out", type=Path, help="the run folder to write (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary run folder")
    parser.add_argument("--small", action="store_true", help="2 cells instead of 8 (the golden tests' inputs)")
    parser.add_argument("--python-factor", type=float, default=1.1, help="how much slower the python cells are")
    parser.add_argument("--no-report", action="store_true", help="only generate the folder")
    parser.add_argument("--portable", action="store_true", help="no path or fact of this machine in the folder")
    parser.add_argument("--seed", type=int, default=1, help="the seed of the made-up timings")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-report-")) / "run"
    t0 = time.perf_counter()
    generate(out, args.iterations, args.small, args.python_factor, args.portable, args.seed)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"generated {args.iterations} iterations, {size / 2**20:.0f} MiB of raw data in "
          f"{time.perf_counter() - t0:.1f} s: {out}")
    if args.no_report:
        return 0
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator", "report", str(out)], cwd=ROOT, capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    if done.returncode != 0:
        print(done.stdout + done.stderr)
        return 1
    print(f"orchestrator report: {wall:.1f} s, peak RSS {peak:.0f} MiB")
    if not args.out and not args.keep:
        import shutil
        shutil.rmtree(out.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
