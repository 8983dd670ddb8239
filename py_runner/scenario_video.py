"""video: frames from cv2.VideoCapture; optionally played at the stream's own rate, dropping late frames."""

from __future__ import annotations

import time

import cv2
from records import RecordWriter, RunnerError, iteration_record
from spec import Spec
from worker import Worker, clock, detections_record


def should_drop(now_ns: int, start_ns: int, frame: int, fps: float) -> bool:
    """Real-time rule: a frame is stale, and dropped, once the next frame has already arrived."""
    return now_ns >= start_ns + round((frame + 1) * 1e9 / fps)


def run(spec: Spec, out: RecordWriter) -> tuple[int, int]:
    """Returns the (measured, warm-up) frames processed: the video may end before the spec's counts."""
    worker = Worker(spec)
    out.write_record(worker.load_record())
    cap = cv2.VideoCapture(spec.video_path)
    if not cap.isOpened():
        raise RunnerError("image_read", f"cannot open video {spec.video_path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    if spec.realtime and fps <= 0:
        raise RunnerError("image_read", f"video {spec.video_path} reports no frame rate; realtime needs one")
    wanted = spec.warmup + spec.iterations
    frames_read = processed = dropped = 0
    start = first_measured = last_end = 0
    while processed < wanted:
        if spec.realtime and frames_read:
            _sleep_until(start + round(frames_read * 1e9 / fps))  # a frame cannot be read before it arrives
        t0 = clock()
        ok, frame = cap.read()
        t1 = clock()
        if not ok:
            break
        if frames_read == 0:
            start = t0
        frames_read += 1
        if spec.realtime and should_drop(t1, start, frames_read - 1, fps):
            dropped += 1
            continue
        phases, image, dets = worker.finish(frame, t0, t1)
        if processed == spec.warmup:
            first_measured = t0
        last_end = t0 + sum(phases.values())
        name = f"frame-{frames_read - 1:06d}"
        out.write_record(iteration_record(processed, processed < spec.warmup, name, phases, len(dets.scores),
                                          frame=frames_read - 1))
        out.write_record(detections_record(name, image, dets))
        processed += 1
    cap.release()
    if frames_read == 0:
        raise RunnerError("image_read", f"cannot read any frame of {spec.video_path}")
    out.write("result", scenario="video", frames_read=frames_read, processed=processed, dropped=dropped,
              source_fps=fps, measured_wall_ns=max(0, last_end - first_measured) if processed > spec.warmup else 0)
    out.note_memory()
    warm = min(processed, spec.warmup)
    return processed - warm, warm


def _sleep_until(deadline_ns: int) -> None:
    remaining = deadline_ns - clock()
    if remaining > 0:
        time.sleep(remaining / 1e9)
