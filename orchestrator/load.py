"""Load from vegeta, the established HTTP load generator (github.com/tsenart/vegeta), and its per-request results.

We write no load generator: vegeta sends the requests, at a constant rate (open loop: a request leaves on
schedule whether or not the earlier ones were answered, so a slow server cannot slow its own load, and queueing
shows in the latencies) or from C workers that each wait for their answer before sending again (closed loop: C
concurrent clients). Every attack is bounded: in duration, in per-request timeout, in workers (the open loop
never holds more than MAX_OPEN_WORKERS requests in flight) and in rate and clients (orchestrator/scenarios.py);
targets are only ever built for 127.0.0.1.

vegeta's results are kept in the run folder as it encodes them (`vegeta encode -to csv`: one line per request
with its start time, status code, latency, bytes, error text and the response body in base64), and read back
here into columns (`Requests`), each request classified: answered (200 with the detections of the image it
sent), or an error of a kind (`ERROR_KINDS`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import hostos
from .engines import ROOT

VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.13.0"  # scripts/fetch_serving.sh installs the same
VEGETA = ROOT / "engines" / "bin" / hostos.exe("vegeta")  # GOBIN of `make serving`; go install adds .exe on Windows
PYTHON_WEB_STACK = ROOT / "engines" / "python-http"  # the Python runner's FastAPI and uvicorn
HOST = "127.0.0.1"  # the only address any load is ever sent to
MAX_OPEN_WORKERS = 1024  # open loop: requests in flight at most (then vegeta waits: the server is far past capacity)
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
# How a request can fail, as the report counts them.
ERROR_KINDS = ("timeout", "connection", "overloaded", "refused_4xx", "server_5xx", "bad_body", "wrong_answer")
csv.field_size_limit(2**31 - 1)  # a response body can be larger than csv's default field limit


@dataclass(frozen=True)
class Plan:
    """One cell's load: open loop at `rate` requests per second, or closed loop with `clients` clients."""

    duration_s: float
    timeout_s: float
    rate: float | None = None
    clients: int | None = None

    @property
    def name(self) -> str:
        return f"r={self.rate:g}/s" if self.rate is not None else f"c={self.clients}"

    def as_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "clients": self.clients, "duration_s": self.duration_s, "timeout_s": self.timeout_s}


def plan_of(variant: dict[str, Any], duration_s: float, timeout_s: float) -> Plan:
    return Plan(duration_s, timeout_s, variant.get("rate"), variant.get("clients"))


def targets(images: list[str], port: int) -> str:
    """vegeta's http target format: one POST per image, its bytes as the body, its name in X-Image-Name; vegeta
    sends them round-robin. The port is the one the runner reported; the host is always 127.0.0.1."""
    if type(port) is not int or not 0 < port < 65536:
        raise ValueError(f"not a TCP port: {port!r}")
    blocks = []
    for path in images:
        name = Path(path).name
        kind = CONTENT_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")
        blocks.append(f"POST http://{HOST}:{port}/v1/detect\nContent-Type: {kind}\nX-Image-Name: {name}\n"
                      f"@{Path(path).resolve()}\n")
    return "\n".join(blocks)


def attack_argv(plan: Plan, targets_file: Path, output: Path) -> list[str]:
    """vegeta attack for the plan, bounded in time (duration, per-request timeout) and in requests in flight."""
    argv = [str(VEGETA), "attack", "-format=http", f"-targets={targets_file}", f"-output={output}",
            f"-duration={plan.duration_s:g}s", f"-timeout={plan.timeout_s:g}s", "-keepalive=true", "-http2=false",
            "-redirects=-1"]
    if plan.rate is not None:
        return argv + [f"-rate={plan.rate:g}/1s", f"-max-workers={MAX_OPEN_WORKERS}"]
    assert plan.clients is not None
    clients = plan.clients
    return argv + ["-rate=0", f"-workers={clients}", f"-max-workers={clients}", f"-connections={clients}"]


def encode_argv(results: Path, output: Path) -> list[str]:
    return [str(VEGETA), "encode", "-to=csv", f"-output={output}", str(results)]


@dataclass
class Requests:
    """Every request of one process's load, as columns in the order vegeta wrote them."""

    start_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # since the first request left
    latency_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    kind: list[str] = field(default_factory=list)  # "ok" or one of ERROR_KINDS
    problems: list[str] = field(default_factory=list)  # lines that are not vegeta's CSV

    def __len__(self) -> int:
        return len(self.latency_ns)

    @property
    def ok(self) -> np.ndarray:
        return np.array([k == "ok" for k in self.kind], dtype=bool)

    def ok_latency_ns(self) -> np.ndarray:
        return self.latency_ns[self.ok]

    def errors(self) -> dict[str, int]:
        return {k: self.kind.count(k) for k in ERROR_KINDS if k in self.kind}

    def wall_s(self) -> float:
        """First request sent to last answer received."""
        if not len(self):
            return 0.0
        return float((self.start_ns + self.latency_ns).max() - self.start_ns.min()) / 1e9

    def achieved_rps(self) -> float | None:
        """Answered requests per second over the attack's wall time (vegeta's `throughput`)."""
        wall = self.wall_s()
        return int(self.ok.sum()) / wall if wall > 0 else None

    def offered_rps(self) -> float | None:
        """Requests sent per second, from the first to the last one sent."""
        span = float(self.start_ns.max() - self.start_ns.min()) / 1e9 if len(self) > 1 else 0.0
        return (len(self) - 1) / span if span > 0 else None


def read_requests(path: Path, expected: dict[str, Any] | None) -> Requests:
    """vegeta's CSV of one attack; `expected` maps an image name to the detections the parity pass got for it
    (None: a 200's body is only checked for being detections)."""
    out = Requests()
    if not path.is_file():
        return out
    start, latency, code = [], [], []
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for number, row in enumerate(csv.reader(f), 1):
            try:
                t, status, lat, body, error = int(row[0]), int(row[1]), int(row[2]), row[6], row[5]
            except (IndexError, ValueError):
                out.problems.append(f"{path.name} line {number} is not a vegeta result")
                continue
            start.append(t)
            latency.append(lat)
            code.append(status)
            out.kind.append(classify(status, error, body, expected))
    if start:
        t0 = min(start)
        out.start_ns = np.array(start, np.int64) - t0
        out.latency_ns, out.code = np.array(latency, np.int64), np.array(code, np.int64)
    return out


def classify(status: int, error: str, body_b64: str, expected: dict[str, Any] | None) -> str:
    """A request's outcome: ok, or the kind of its failure."""
    if status == 0:
        text = error.lower()
        return "timeout" if "timeout" in text or "deadline" in text else "connection"
    if status == 503:
        return "overloaded"
    if 400 <= status < 500:
        return "refused_4xx"
    if status != 200:
        return "server_5xx"
    answer = decode_answer(body_b64)
    if answer is None:
        return "bad_body"
    if expected is not None:
        want = expected.get(answer["image"])
        if want is None or want["detections"] != answer["detections"]:
            return "wrong_answer"
    return "ok"


def decode_answer(body_b64: str) -> dict[str, Any] | None:
    """A 200's body, as vegeta encodes it, as the server's detections; None when it is not the protocol's answer."""
    try:
        return decode_answer_bytes(base64.b64decode(body_b64, validate=True))
    except binascii.Error:
        return None


def decode_answer_bytes(body: bytes) -> dict[str, Any] | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    ok = isinstance(answer, dict) and isinstance(answer.get("image"), str) and \
        isinstance(answer.get("detections"), list) and isinstance(answer.get("width"), int)
    return answer if ok else None
