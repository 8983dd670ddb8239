"""The Python runner's spawn and http scenarios for real: the runner as a process, the real model and images.

http: the server in both modes (threads on the venv, processes on Debian's python3 when it is there), a detect
answer against the single scenario's detections for the same image (the same floats), every refusal, the bounded
queue, 1000+ keep-alive connections at once, and the stop on stdin's end of file. spawn: 1000 workers x 10 tasks
of 1 ms in both modes. Every stream goes through orchestrator/protocol.py.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import IMAGES, MODEL_320, ROOT, SYSTEM_PYTHON

from orchestrator import protocol

pytestmark = pytest.mark.integration

RUNNER = ROOT / "py_runner" / "runner.py"
WEB_STACK = ROOT / "engines" / "python-http"
BUS = IMAGES / "bus.jpg"
MAX_BODY = 1 << 20
INTERPRETERS = {"venv": sys.executable, "system": SYSTEM_PYTHON}


def base_spec(**keys: Any) -> dict[str, Any]:
    return {"protocol": 1, "scenario": "single",
            "model": {"name": "yolov5s-320", "path": str(MODEL_320), "format": "onnx", "input_size": 320},
            "images": [str(BUS), str(IMAGES / "zidane.jpg")], "conf_threshold": 0.25, "nms_threshold": 0.45,
            "max_detections": 300, "warmup": 1, "iterations": 1, "threads": 1, "backend": "opencv", "target": "cpu",
            **keys}


def http_spec(mode: str, workers: int, queue: int) -> dict[str, Any]:
    return base_spec(scenario="http", workers=workers, mode=mode,
                     http={"queue": queue, "max_body_bytes": MAX_BODY, "port": 0, "python_path": str(WEB_STACK)})


def run_to_end(python: str, spec: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    """A run with its stream validated, complete; its records."""
    path = tmp_path / f"{spec['scenario']}-{Path(python).name}.spec.json"
    path.write_text(json.dumps(spec))
    done = subprocess.run([python, str(RUNNER), "--spec", str(path)], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    lines = done.stdout.splitlines()
    stream = protocol.parse_lines(lines, spec)
    assert done.returncode == 0 and stream.complete, (stream.problems, done.stderr[-2000:])
    return [json.loads(line) for line in lines]


class Served:
    """The runner as an http server: records read as they come, stdin held open until stop()."""

    def __init__(self, python: str, spec: dict[str, Any], tmp_path: Path) -> None:
        self.spec = spec
        path = tmp_path / f"http-{spec['mode']}.spec.json"
        path.write_text(json.dumps(spec))
        self.stderr = (tmp_path / f"http-{spec['mode']}.stderr").open("w+")
        self.proc = subprocess.Popen([python, str(RUNNER), "--spec", str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines: list[str] = []
        self.listening = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.listening.wait(90):
            self.proc.kill()
            pytest.fail(f"no listening record: {self.lines[-3:]} {self._stderr()}")
        self.port = json.loads(self.lines[-1])["port"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if '"type":"listening"' in line or '"type":"error"' in line:
                self.listening.set()
        self.listening.set()

    def _stderr(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-2000:]

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def detect(self, body: bytes, media: str = "image/jpeg", name: str = "bus.jpg") -> tuple[int, dict[str, Any]]:
        return self.request("POST", "/v1/detect", body, {"Content-Type": media, "X-Image-Name": name})

    def stop(self) -> tuple[protocol.Stream, list[dict[str, Any]]]:
        """Close stdin (the orchestrator's stop): the runner finishes, writes result and end, exits 0."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(60) == 0, self._stderr()
        self.reader.join(10)
        stream = protocol.parse_lines(self.lines, self.spec)
        assert stream.complete and not stream.problems, (stream.problems, self._stderr())
        return stream, [json.loads(line) for line in self.lines]


def single_detections(python: str, tmp_path: Path) -> dict[str, Any]:
    """bus.jpg's detections record from the single scenario, on the same interpreter (OpenCV builds differ)."""
    records = run_to_end(python, base_spec(images=[str(BUS)], warmup=0), tmp_path)
    (record,) = [r for r in records if r["type"] == "detections"]
    return {k: v for k, v in record.items() if k != "type"}


def refusals(server: Served) -> Counter[int]:
    """One of each refusal; the statuses the server answered."""
    got: Counter[int] = Counter()
    for status, body in (server.detect(b"not an image"), server.detect(BUS.read_bytes(), media="text/plain"),
                         server.request("GET", "/nowhere"), server.request("GET", "/v1/detect"),
                         too_large_by_length(server.port), too_large_while_streaming(server.port)):
        assert body["error"] and body["message"], body
        got[status] += 1
    assert got == Counter({400: 1, 415: 1, 404: 1, 405: 1, 413: 2})
    return got


def read_response(sock: socket.socket) -> tuple[int, dict[str, Any], dict[bytes, bytes]]:
    """One response from a raw socket: status, JSON body, headers (lower-case names)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or pytest.fail(f"the server closed the connection after {data!r}")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    while len(body) < int(headers[b"content-length"]):
        body += sock.recv(65536) or pytest.fail("the server closed the connection inside a body")
    return int(lines[0].split()[1]), json.loads(body), headers


def too_large_by_length(port: int) -> tuple[int, dict[str, Any]]:
    """A 100 MB Content-Length: refused from the header at once (no byte of the body sent, none waited for), and
    the connection closed so that the body is never read."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /v1/detect HTTP/1.1\r\nHost: test\r\nContent-Type: image/jpeg\r\n"
                     b"Content-Length: 104857600\r\n\r\n")
        status, body, headers = read_response(sock)
        assert headers[b"connection"] == b"close" and sock.recv(1) == b""
    return status, body


def too_large_while_streaming(port: int) -> tuple[int, dict[str, Any]]:
    """A chunked body without Content-Length: refused as soon as it passes max_body_bytes; the rest is discarded
    and the connection serves the next request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /v1/detect HTTP/1.1\r\nHost: test\r\nContent-Type: image/jpeg\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"\x00" * 65536
        for _ in range(MAX_BODY // len(chunk) + 2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
        status, body, _ = read_response(sock)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        assert read_response(sock)[0] == 200
    return status, body


def overload(server: Served, requests: int) -> Counter[int]:
    """Requests sent at once, more than the server admits: some served, the rest refused with 503 at once."""
    body, start = BUS.read_bytes(), threading.Barrier(requests)
    statuses: list[int] = []

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.connect()
        start.wait()
        conn.request("POST", "/v1/detect", body, {"Content-Type": "image/jpeg", "X-Image-Name": "bus.jpg"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == 200 or payload["error"] == "overloaded", payload
        statuses.append(response.status)
        conn.close()

    threads = [threading.Thread(target=one) for _ in range(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = Counter(statuses)
    assert set(got) == {200, 503}, got
    return got


def keep_alive(port: int, connections: int) -> None:
    """`connections` clients at once, each sending two requests on one connection (keep-alive)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < connections + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, connections + 1000), hard))

    async def client() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answered = 0
        for _ in range(2):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(v for k, _, v in (line.partition(b":") for line in head.split(b"\r\n"))
                              if k.lower() == b"content-length"))
            answered += json.loads(await reader.readexactly(length))["status"] == "ready"
        writer.close()
        return answered

    async def main() -> list[int]:
        return await asyncio.gather(*(client() for _ in range(connections)))

    assert sum(asyncio.run(main())) == 2 * connections


def stop_while_serving(server: Served) -> tuple[protocol.Stream, list[dict[str, Any]]]:
    """stdin closed while a request is in service: the server finishes it (200) before its result and end."""
    answers: list[int] = []
    inflight = threading.Thread(target=lambda: answers.append(server.detect(BUS.read_bytes())[0]))
    inflight.start()
    threading.Event().wait(0.1)  # the request is read and in service (an inference takes longer)
    stopped = server.stop()
    inflight.join()
    assert answers == [200]
    return stopped


def check_served(stream: protocol.Stream, records: list[dict[str, Any]], workers: int, served: int,
                 rejected: int) -> None:
    assert stream.result is not None and stream.end is not None
    assert (stream.result["served"], stream.result["rejected"]) == (served, rejected)
    assert stream.end["iterations"] == served and stream.listening is not None
    measured = [r for r in records if r["type"] == "iteration" and not r["warmup"]]
    assert len(measured) == served and all(0 <= r["worker"] < workers for r in measured)
    assert all(r["handler_ns"] >= r["total_ns"] > 0 and r["queue_ns"] >= 0 for r in measured)
    assert {r["image"] for r in measured} == {"bus.jpg"}


@pytest.fixture(scope="module")
def stack() -> None:
    if not (WEB_STACK / "fastapi").is_dir():
        pytest.fail(f"no web stack in {WEB_STACK}: run `make serving` first")


def test_http_threads(tmp_path: Path, real_assets: None, stack: None) -> None:
    want = single_detections(sys.executable, tmp_path)
    server = Served(sys.executable, http_spec("threads", workers=1, queue=0), tmp_path)
    assert server.request("GET", "/healthz") == (200, {"status": "ready", "workers": 1})
    assert server.detect(BUS.read_bytes()) == (200, want)  # the same floats as the single scenario's
    refused = refusals(server)
    keep_alive(server.port, 1100)
    loaded = overload(server, 6)
    stream, records = stop_while_serving(server)
    check_served(stream, records, 1, 2 + loaded[200], sum(refused.values()) + loaded[503])


def test_http_processes(tmp_path: Path, real_assets: None, stack: None) -> None:
    python = SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable
    want = single_detections(python, tmp_path)
    server = Served(python, http_spec("processes", workers=2, queue=0), tmp_path)
    assert server.request("GET", "/healthz") == (200, {"status": "ready", "workers": 2})
    assert server.detect(BUS.read_bytes()) == (200, want)
    refused = refusals(server)
    loaded = overload(server, 8)  # each worker admits one (its share of a queue of 0)
    stream, records = stop_while_serving(server)
    check_served(stream, records, 2, 2 + loaded[200], sum(refused.values()) + loaded[503])
    assert len(stream.loads) == 2 and stream.end["pss_bytes"] == 0


@pytest.mark.parametrize("mode", ["threads", "asyncio"])
def test_spawn(mode: str, tmp_path: Path) -> None:
    workers, tasks, sleep_ns = 1000, 10_000, 1_000_000
    spec = base_spec(scenario="spawn", images=[], model={**base_spec()["model"], "path": "absent.onnx"}, warmup=0,
                     iterations=1, workers=workers, mode=mode, tasks=tasks, task_sleep_ns=sleep_ns, print=False)
    records = run_to_end(sys.executable, spec, tmp_path)
    (sample,) = [r for r in records if r["type"] == "spawn_sample"]
    assert (sample["index"], sample["warmup"], sample["workers"], sample["tasks"]) == (0, False, workers, tasks)
    assert sample["tasks_ns"] >= tasks // workers * sleep_ns  # each worker slept its share, one task at a time
    assert sample["startup_ns"] > 0 and sample["rss_bytes"] > 0 and sample["rss_before_bytes"] > 0
    assert not [r for r in records if r["type"] in ("load", "iteration", "detections", "result")]
