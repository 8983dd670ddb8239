"""Driving one HTTP server process (the http scenario): wait for it, check its answers, load it, stop it.

The runner loads its networks, warms them up and writes a `listening` record with its port (docs/protocol.md,
"http"). Then, in this order:
1. `GET /healthz` until it answers 200 (bounded: READY_S);
2. the parity pass: each image of the spec once, one request at a time; the answers are kept in the run folder
   (`.http-detections.json`) and are what parity compares, runner against runner and against the same runner's
   single scenario, and what every answer under load must equal;
3. the load: vegeta (orchestrator/load.py) for the cell's plan, its results encoded to CSV in the run folder;
4. the runner's stdin is closed: it finishes what it admitted, writes `result` and `end`, and exits.
Every step is bounded in time, and nothing but 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import load
from .runfolder import ProcessFiles

READY_S = 30.0  # healthz must answer within this after `listening`
VEGETA_GRACE_S = 30.0  # beyond duration + request timeout, vegeta is stopped


@dataclass
class Listening:
    """Set by the stdout reader when the runner's `listening` record arrives."""

    event: threading.Event = field(default_factory=threading.Event)
    port: int | None = None
    closed: bool = False  # the runner closed its stdout (it ended) before any listening record

    def ended(self) -> None:
        if not self.event.is_set():
            self.closed = True
            self.event.set()

    def seen(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        port = record.get("port") if isinstance(record, dict) else None
        if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
            self.port = port
        self.event.set()


@dataclass
class Outcome:
    """What the orchestrator did to the server, for the process's meta line."""

    plan: dict[str, Any]
    window_s: tuple[float, float] | None = None  # the attack, in seconds since the process started
    parity_images: int = 0
    requests: int = 0
    error: str | None = None  # why the load could not be run (the cell then fails)

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "window_s": [round(t, 4) for t in self.window_s] if self.window_s else None,
                "parity_images": self.parity_images, "requests": self.requests, "error": self.error}


def drive(proc: subprocess.Popen, listening: Listening, spec: dict[str, Any], files: ProcessFiles, plan: load.Plan,
          start: float, deadline: float) -> Outcome:
    """Runs steps 1-4 against a started runner; always closes its stdin at the end."""
    out = Outcome(plan.as_dict())
    try:
        port = _wait_listening(proc, listening, deadline)
        _wait_ready(port, min(deadline, time.perf_counter() + READY_S))
        answers = parity_pass(port, spec["images"], plan.timeout_s)
        files.http_detections.write_text(json.dumps(answers, indent=1), encoding="utf-8")
        out.parity_images = len(answers)
        out.window_s = _attack(port, spec["images"], files, plan, start, deadline)
        out.requests = _count_lines(files.requests)
    except ServingError as exc:
        out.error = str(exc)
    finally:
        _close_stdin(proc)
    return out


class ServingError(Exception):
    pass


def _wait_listening(proc: subprocess.Popen, listening: Listening, deadline: float) -> int:
    while not listening.event.wait(0.05):
        if proc.poll() is not None:
            raise ServingError("the server exited before it listened")
        if time.perf_counter() > deadline:
            raise ServingError("the server did not listen before the process timeout")
    if listening.closed:
        raise ServingError("the server ended before it listened")
    if listening.port is None:
        raise ServingError("the listening record carries no valid port")
    return listening.port


def _request(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(load.HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_ready(port: int, until: float) -> None:
    last = "no answer"
    while time.perf_counter() < until:
        try:
            status, _ = _request(port, "GET", "/healthz", timeout=2.0)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.05)
    raise ServingError(f"GET /healthz did not answer 200 within {READY_S:g} s ({last})")


def parity_pass(port: int, images: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    """Each image once: image name -> the answer, as a `detections` record (what parity compares)."""
    answers = {}
    for path in images:
        name = Path(path).name
        kind = load.CONTENT_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")
        try:
            status, body = _request(port, "POST", "/v1/detect", Path(path).read_bytes(),
                                    {"Content-Type": kind, "X-Image-Name": name}, timeout_s)
        except OSError as exc:
            raise ServingError(f"the parity request for {name} failed: {exc}") from exc
        answer = load.decode_answer_bytes(body) if status == 200 else None
        if answer is None:
            raise ServingError(f"the parity request for {name} got HTTP {status}, not detections: {body[:200]!r}")
        answers[name] = {"type": "detections", **answer}
    return answers


def _attack(port: int, images: list[str], files: ProcessFiles, plan: load.Plan, start: float,
            deadline: float) -> tuple[float, float]:
    files.targets.write_text(load.targets(images, port), encoding="utf-8")
    results = files.requests.with_suffix(".bin")
    budget = min(plan.duration_s + plan.timeout_s + VEGETA_GRACE_S, max(1.0, deadline - time.perf_counter()))
    t0 = time.perf_counter() - start
    _vegeta(load.attack_argv(plan, files.targets, results), budget, files)
    t1 = time.perf_counter() - start
    _vegeta(load.encode_argv(results, files.requests), 120.0, files)
    results.unlink(missing_ok=True)  # the CSV holds every field of it
    return t0, t1


def _vegeta(argv: list[str], timeout_s: float, files: ProcessFiles) -> None:
    with open(files.vegeta_log, "ab") as log:
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=timeout_s,
                                  check=False)
        except FileNotFoundError as exc:
            raise ServingError(f"vegeta is not installed ({load.VEGETA}); run `make serving`") from exc
        except subprocess.TimeoutExpired as exc:
            raise ServingError(f"vegeta did not finish within {timeout_s:g} s and was stopped") from exc
    if done.returncode != 0:
        raise ServingError(f"vegeta {argv[1]} exited with {done.returncode}; see {files.vegeta_log.name}")


def _count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def _close_stdin(proc: subprocess.Popen) -> None:
    try:
        if proc.stdin:
            proc.stdin.close()
    except OSError:
        pass  # the server is gone already
