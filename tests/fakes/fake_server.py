"""A fake http-scenario runner for the orchestrator's tests: a standard-library HTTP server on 127.0.0.1 that
speaks the http scenario of docs/protocol.md with made-up detections, loaded by the real vegeta.

FAKE_SERVER: ok | crash | hang | garbage | no_listen. After FAKE_AFTER answered requests (default 5), `crash`
exits with status 3, `hang` stops answering (each later request waits an hour), `garbage` answers 200 with a
body that is not detections. `no_listen` exits after its loads, before it listens.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = os.environ.get("FAKE_SERVER", "ok")
AFTER = int(os.environ.get("FAKE_AFTER", "5"))
lock = threading.Lock()
arrived = [0]
served = [0]


def emit(**record):
    with lock:
        print(json.dumps(record), flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200 if self.path == "/healthz" else 404, {"status": "ready", "workers": 1})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        name = self.headers.get("X-Image-Name", "request")
        with lock:
            n = arrived[0]
            arrived[0] += 1
        if n >= AFTER and MODE == "crash":
            os._exit(3)
        if n >= AFTER and MODE == "hang":
            time.sleep(3600)
        if n >= AFTER and MODE == "garbage":
            self._send(200, b"<html>oops</html>")
            return
        self._send(200, {"image": name, "width": 100, "height": 100,
                         "detections": [{"class_id": 0, "score": 0.9, "box": [10.0, 10.0, 50.0, 50.0]}]})
        phases = {"decode": 1000, "preprocess": 1000, "inference": 5000, "postprocess": 1000}
        with lock:
            n = served[0]
            served[0] += 1
        emit(type="iteration", index=n, warmup=False, worker=0, image=name, phases_ns=phases, total_ns=8000,
             detections=1, queue_ns=100, handler_ns=9000)


def main():
    spec = json.load(open(sys.argv[sys.argv.index("--spec") + 1]))
    emit(type="hello", protocol=1, runner="fake", language="python", language_version="3", opencv_version="4.6.0",
         opencv_build_hash="b" * 64, opencv_build_info="fake", threads=spec["threads"] or 1, pid=os.getpid(),
         backend=spec["backend"], target=spec["target"], available_targets=["cpu"])
    for w in range(spec["workers"]):
        emit(type="load", model=spec["model"]["name"], load_ns=1000000, worker=w)
    if MODE == "no_listen":
        return 4
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = False  # server_close() then waits for the requests in flight
    threading.Thread(target=server.serve_forever, daemon=True).start()
    emit(type="listening", address="127.0.0.1", port=server.server_address[1], startup_ns=1000000)
    sys.stdin.read()  # until the orchestrator closes it
    server.shutdown()
    server.server_close()
    emit(type="result", scenario="http", workers=spec["workers"], mode=spec["mode"], startup_ns=1000000,
         served=served[0], rejected=0)
    emit(type="end", iterations=served[0], warmup=0, peak_rss_bytes=50 * 2**20)
    return 0


sys.exit(main())
