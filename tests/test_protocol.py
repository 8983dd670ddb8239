"""The orchestrator's reading of the runner protocol, against the shared fixtures of docs/protocol.md."""

from __future__ import annotations

import json

from conftest import FIXTURES

from orchestrator import protocol

STREAMS = FIXTURES / "protocol"


def test_ok_fixture_parses_completely() -> None:
    stream = protocol.read_file(str(STREAMS / "stream-ok.jsonl"))
    assert stream.complete and not stream.problems
    assert stream.hello["opencv_version"] == "4.6.0"
    assert [r["index"] for r in stream.measured()] == [1, 2, 3]
    assert set(stream.detections) == {"bus.jpg", "zidane.jpg"}
    assert stream.end["peak_rss_bytes"] == 312475648


def test_error_fixture_is_an_error_not_a_problem() -> None:
    stream = protocol.read_file(str(STREAMS / "stream-error.jsonl"))
    assert stream.error["code"] == "model_load" and not stream.complete and not stream.problems


def test_garbage_keeps_the_valid_records_before_it() -> None:
    lines = (STREAMS / "stream-ok.jsonl").read_text().splitlines()[:3] + ["Segmentation fault (core dumped)"]
    stream = protocol.parse_lines(lines)
    assert len(stream.iterations) == 1 and stream.load is not None
    assert stream.problems == ["stdout line 4 is not JSON: 'Segmentation fault (core dumped)'"]
    assert not stream.complete


def test_each_missing_key_is_reported() -> None:
    for line in (STREAMS / "stream-ok.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert protocol.check_record(record) is None
        for key in protocol.SCHEMA[record["type"]]:
            broken = {k: v for k, v in record.items() if k != key}
            assert key in protocol.check_record(broken)


def test_wrong_types_and_versions() -> None:
    hello = json.loads((STREAMS / "stream-ok.jsonl").read_text().splitlines()[0])
    assert "rebuild the runner" in protocol.check_record({**hello, "protocol": 2})
    assert "threads" in protocol.check_record({**hello, "threads": "2"})
    it = json.loads((STREAMS / "stream-ok.jsonl").read_text().splitlines()[2])
    assert "phases_ns" in protocol.check_record({**it, "phases_ns": {"decode": 1}})
    assert "warmup" in protocol.check_record({**it, "warmup": 0})
    assert "unknown record type" in protocol.check_record({"type": "hola"})


def test_no_hello_is_a_problem() -> None:
    assert protocol.parse_lines([]).problems == ["the runner wrote no hello record"]
