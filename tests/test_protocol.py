"""The orchestrator's reading of the runner protocol, against the shared fixtures of docs/protocol.md."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from conftest import FIXTURES

from orchestrator import protocol

STREAMS = FIXTURES / "protocol"
SCENARIOS = ("single", "video", "concurrency", "server", "batch", "call_overhead")


def fixture(scenario: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One real stream per scenario (a Go run, its build information shortened) and the spec that started it."""
    records = [json.loads(line) for line in (STREAMS / f"stream-{scenario}.jsonl").read_text().splitlines()]
    return records, json.loads((STREAMS / f"stream-{scenario}.spec.json").read_text())


def parse(records: list[dict[str, Any]], spec: dict[str, Any] | None = None) -> protocol.Stream:
    return protocol.parse_lines([json.dumps(r) for r in records], spec)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_fixture_is_valid_against_its_spec(scenario: str) -> None:
    records, spec = fixture(scenario)
    stream = parse(records, spec)
    assert stream.complete and not stream.problems, stream.problems


def test_single_fixture_parses_completely() -> None:
    stream = protocol.read_file(str(STREAMS / "stream-single.jsonl"), fixture("single")[1])
    assert stream.complete and not stream.problems
    assert stream.hello["opencv_version"] == "4.6.0"
    assert [r["index"] for r in stream.measured()] == [1, 2, 3]
    assert set(stream.detections) == {"bus.jpg", "zidane.jpg", "dog.jpg"}
    assert stream.end["peak_rss_bytes"] > 0


def test_error_fixture_is_an_error_not_a_problem() -> None:
    stream = protocol.read_file(str(STREAMS / "stream-error.jsonl"), fixture("single")[1])
    assert stream.error["code"] == "model_load" and not stream.complete and not stream.problems


def test_garbage_keeps_the_valid_records_before_it() -> None:
    lines = (STREAMS / "stream-single.jsonl").read_text().splitlines()[:3] + ["Segmentation fault (core dumped)"]
    stream = protocol.parse_lines(lines)
    assert len(stream.iterations) == 1 and stream.load is not None
    assert stream.problems == ["stdout line 4 is not JSON: 'Segmentation fault (core dumped)'"]
    assert not stream.complete


def test_each_missing_key_is_reported() -> None:
    for scenario in SCENARIOS:
        for record in fixture(scenario)[0]:
            assert protocol.check_record(record) is None
            for key in protocol.SCHEMA[record["type"]]:
                broken = {k: v for k, v in record.items() if k != key}
                assert key in protocol.check_record(broken)


def test_wrong_types_and_versions() -> None:
    records = fixture("single")[0]
    hello, it = records[0], records[2]
    assert "rebuild the runner" in protocol.check_record({**hello, "protocol": 2})
    assert "threads" in protocol.check_record({**hello, "threads": "2"})
    assert "phases_ns" in protocol.check_record({**it, "phases_ns": {"decode": 1}})
    assert "warmup" in protocol.check_record({**it, "warmup": 0})
    assert "sum of its phases" in protocol.check_record({**it, "total_ns": it["total_ns"] + 1})
    assert "unknown record type" in protocol.check_record({"type": "hola"})


def test_no_hello_is_a_problem() -> None:
    assert protocol.parse_lines([]).problems == ["the runner wrote no hello record"]


def _drop_key(kind: str, key: str, measured_only: bool = False) -> Callable[[list[dict]], None]:
    def change(records: list[dict]) -> None:
        r = next(r for r in records if r["type"] == kind and not (measured_only and r.get("warmup")))
        del r[key]
    return change


def _first(kind: str) -> Callable[[list[dict]], int]:
    return lambda records: next(i for i, r in enumerate(records) if r["type"] == kind)


# Each mutation of a valid stream that docs/protocol.md forbids, and a text of the problem it must cause.
MUTATIONS: list[tuple[str, str, Callable[[list[dict]], Any], str]] = [
    ("server", "no latency_ns", _drop_key("iteration", "latency_ns", measured_only=True), "latency_ns"),
    ("server", "no queue_ns", _drop_key("iteration", "queue_ns", measured_only=True), "queue_ns"),
    ("concurrency", "no worker", _drop_key("iteration", "worker"), "worker"),
    ("concurrency", "a load without worker", _drop_key("load", "worker"), "worker"),
    ("video", "no frame", _drop_key("iteration", "frame"), "frame"),
    ("batch", "no batch", _drop_key("iteration", "batch"), "batch"),
    ("single", "a second detections record",
     lambda rs: rs.insert(-1, next(r for r in rs if r["type"] == "detections")), "second detections"),
    ("single", "a record after end", lambda rs: rs.append(rs[2]), "after the end"),
    ("single", "hello not first", lambda rs: rs.insert(0, rs.pop(1)), "before the hello"),
    ("single", "an iteration before the load", lambda rs: rs.pop(1), "before any load"),
    ("single", "a measured iteration missing", lambda rs: rs.pop(_first("iteration")(rs) + 2), "index"),
    ("single", "an image without detections", lambda rs: rs.pop(_first("detections")(rs)), "missing: bus.jpg"),
    ("single", "end counts", lambda rs: rs[-1].update(iterations=99), "end record says"),
    ("single", "a result in single", lambda rs: rs.insert(-1, {"type": "result", "scenario": "single"}),
     "no result record"),
    ("concurrency", "no result", lambda rs: rs.pop(_first("result")(rs)), "needs a result record"),
    ("concurrency", "completed", lambda rs: rs[_first("result")(rs)].update(completed=1), "completed"),
    ("concurrency", "one load too few", lambda rs: rs.pop([i for i, r in enumerate(rs) if r["type"] == "load"][1]),
     "load records"),
    ("call_overhead", "calls out of order", lambda rs: rs.insert(2, rs.pop(1)), "call_sample records"),
    ("call_overhead", "a sample after the end", lambda rs: rs.append(rs[1]), "after the end"),
    ("single", "an image out of order", lambda rs: rs[_first("iteration")(rs)].update(image="dog.jpg"),
     "processed dog.jpg"),
    ("concurrency", "a warm-up on another image",
     lambda rs: next(r for r in rs if r["type"] == "iteration" and r["warmup"]).update(image="zidane.jpg"),
     "(warm-up) processed zidane.jpg"),
    ("video", "more frames than the end says", lambda rs: rs[-1].update(iterations=rs[-1]["iterations"] - 1),
     "do not match the spec"),
    ("concurrency", "a negative warm-up index",
     lambda rs: next(r for r in rs if r["type"] == "iteration" and r["warmup"]).update(index=-1), "index"),
    ("concurrency", "a result of another scenario", lambda rs: rs[_first("result")(rs)].update(scenario="zzz"),
     "needs a result record"),
    ("batch", "one optional key of the wrong type", lambda rs: rs[_first("iteration")(rs)].update(batch="4"),
     "batch must be a non-negative integer"),
    ("single", "a null optional key", lambda rs: rs[_first("iteration")(rs)].update(worker=None), "worker"),
    ("single", "a value beyond int64", lambda rs: rs[_first("iteration")(rs)].update(detections=2**64),
     "detections"),
    ("single", "a bool as a count", lambda rs: rs[_first("iteration")(rs)].update(detections=True), "detections"),
    ("single", "a bool as a phase",
     lambda rs: rs[_first("iteration")(rs)]["phases_ns"].update(decode=True), "phases_ns"),
]


@pytest.mark.parametrize(("scenario", "name", "change", "problem"), MUTATIONS, ids=[m[1] for m in MUTATIONS])
def test_each_broken_stream_is_caught(scenario: str, name: str, change: Callable, problem: str) -> None:
    records, spec = fixture(scenario)
    change(records)
    problems = parse(records, spec).problems
    assert any(problem in p for p in problems), problems
