"""The http scenario's web application: FastAPI on uvicorn (uvloop, httptools), as Python serves in production.

Imported only by the http scenario, after the spec's http.python_path is put first on sys.path: every other
scenario runs with the standard library + numpy + cv2 alone. The same application serves both modes: one process
with K networks behind a pool of K threads (mode threads), or one network per pre-forked process (mode
processes). Handlers run on the event loop; the inference runs on the pool's threads (run_in_executor), so that
the loop keeps accepting, reading bodies and refusing while the networks work.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import httptools  # noqa: F401 - imported here so that a missing one fails at start-up, not in uvicorn's config
import numpy as np
import uvicorn
import uvloop  # noqa: F401 - as httptools
from fastapi import FastAPI, Request
from fastapi.responses import Response
from records import detections_record, encode, iteration_record
from spec import Spec
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from worker import Worker, clock

MEDIA_TYPES = ("image/jpeg", "image/png", "application/octet-stream")
DEFAULT_NAME = "request"
# Connections waiting to be accepted: above the 1000+ keep-alive clients a load test opens at once (the kernel
# caps it at net.core.somaxconn).
BACKLOG = 4096
# Idle keep-alive connections stay open this long (uvicorn's default is 5 s): a load generator holds its
# connections between requests, and a reconnect would add a handshake to a measured latency.
KEEP_ALIVE_S = 120

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class Answer:
    body: bytes
    record: dict[str, Any]  # the iteration record, its index left to the writer (completion order)


class Service:
    """The networks behind the handlers, the bounded admission, and the counts of the result record.

    `capacity` is how many requests may be admitted at once (in service + waiting for a network); the next one is
    refused with 503 at once. The counters are touched on the event loop only (no lock)."""

    def __init__(self, spec: Spec, networks: list[tuple[int, Worker]], capacity: int, emit: Emit) -> None:
        self.spec = spec
        self.free: queue.SimpleQueue[tuple[int, Worker]] = queue.SimpleQueue()
        for network in networks:
            self.free.put(network)
        self.executor = ThreadPoolExecutor(len(networks), thread_name_prefix="network")
        self.capacity = capacity
        self.emit = emit
        self.admitted = self.served = self.rejected = 0

    def detect(self, body: bytes, name: str, entered: int, read: int) -> Answer | Refusal:
        """On a pool thread: a free network runs the algorithm on the body (decode = imdecode) and the response is
        encoded; clock reads only around the work, the record is built after them."""
        w, worker = self.free.get()  # as many networks as threads: never waits
        try:
            t0 = clock()
            image = _decode(body)
            t1 = clock()
            if image is None:
                return Refusal(400, "bad_image", "the body does not decode as an image: send the bytes of a JPEG or "
                               "PNG file")
            phases, image, dets = worker.finish(image, t0, t1)
            answer = detections_record(name, int(image.shape[1]), int(image.shape[0]), dets.class_ids, dets.scores,
                                       dets.boxes)
            del answer["type"]  # the response is the detections record without its type
            content = encode(answer).encode()
            done = clock()
        finally:
            self.free.put((w, worker))
        record = iteration_record(None, False, name, phases, len(dets.scores), worker=w, queue_ns=t0 - read,
                                  handler_ns=done - entered)
        return Answer(content, record)

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def _decode(body: bytes) -> np.ndarray | None:
    if not body:
        return None
    try:
        return cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return None


def refuse(service: Service, refusal: Refusal, close: bool = False) -> Response:
    """A refusal's JSON body. `close` ends the connection after it: only a body declared larger than the limit,
    which must not be read. Any other refused body (at most the limit) is read and discarded by uvicorn, so that
    the connection stays usable and the client gets its answer (closing a socket with unread data in it sends a
    reset, which can destroy the answer before the client reads it)."""
    service.rejected += 1
    headers = {"Connection": "close"} if close else None
    return Response(encode({"error": refusal.code, "message": refusal.message}).encode(), refusal.status,
                    headers=headers, media_type="application/json")


def declared_too_large(request: Request, limit: int) -> bool:
    """Content-Length above the limit: refused before a byte of the body is read."""
    length = request.headers.get("content-length")
    return length is not None and length.isdigit() and int(length) > limit


def media_refusal(request: Request) -> Refusal | None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in MEDIA_TYPES:
        return None
    return Refusal(415, "unsupported_media_type", f"Content-Type {media or 'none'} is not accepted: send the image "
                   f"file's bytes as {', '.join(MEDIA_TYPES)}")


def too_large(limit: int) -> Refusal:
    return Refusal(413, "too_large", f"the body is larger than {limit} bytes (http.max_body_bytes): send a smaller "
                   "image")


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes (a body sent without Content-Length)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def build(service: Service) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    healthz = encode({"status": "ready", "workers": service.spec.workers}).encode()
    limit = service.spec.http_max_body_bytes

    @app.get("/healthz")
    async def health() -> Response:
        return Response(healthz, media_type="application/json")

    @app.post("/v1/detect")
    async def detect(request: Request) -> Response:
        entered = clock()
        if declared_too_large(request, limit):
            return refuse(service, too_large(limit), close=True)
        refusal = media_refusal(request)
        if refusal:
            return refuse(service, refusal)
        try:
            body = await read_body(request, limit)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to answer: neither served nor refused
        if body is None:  # uvicorn discards the rest of it as it comes
            return refuse(service, too_large(limit))
        read = clock()
        if service.admitted >= service.capacity:
            return refuse(service, Refusal(503, "overloaded", f"{service.capacity} requests are already in service "
                                           "or waiting for a network: retry later, or send fewer at once"))
        return await _serve(service, request, body, entered, read)

    @app.exception_handler(HTTPException)
    async def other(request: Request, exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return refuse(service, Refusal(exc.status_code, code, f"{request.method} {request.url.path}: "
                                       f"{exc.detail}; the server answers GET /healthz and POST /v1/detect"))

    return app


async def _serve(service: Service, request: Request, body: bytes, entered: int, read: int) -> Response:
    """An admitted request: wait for a network on the pool, then answer; its record is written once the response
    has been handed to the server (a background task runs after the body is sent)."""
    name = request.headers.get("x-image-name") or DEFAULT_NAME
    service.admitted += 1
    try:
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(service.executor, service.detect, body, name, entered, read)
    except Exception as exc:  # noqa: BLE001 - one failed request never stops the server
        traceback.print_exc(file=sys.stderr)
        outcome = Refusal(500, "internal", f"{type(exc).__name__}: {exc}")
    finally:
        service.admitted -= 1
    if isinstance(outcome, Refusal):
        return refuse(service, outcome)

    async def written() -> None:
        service.served += 1
        service.emit(outcome.record)

    return Response(outcome.body, media_type="application/json", background=BackgroundTask(written))


class Server(uvicorn.Server):
    """uvicorn's server on a socket bound by the runner; `on_started` runs once it accepts connections.

    The protocol stops the server on stdin's end of file (should_exit); signals keep their default meaning
    (uvicorn would catch SIGTERM and SIGINT, then raise them again after its shutdown, before the end record)."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.on_started()


def server(service: Service, on_started: Callable[[], None]) -> Server:
    config = uvicorn.Config(build(service), loop="uvloop", http="httptools", ws="none", lifespan="off",
                            interface="asgi3", access_log=False, log_level="warning", backlog=BACKLOG,
                            timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=None)
    return Server(config, on_started)
