"""The columnar tables: iterations (records in, the same records and columns out, bad rows refused or flagged)
and memory samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import FIXTURES

from orchestrator.columns import ABSENT, IterationTable


def records(scenario: str) -> list[dict]:
    lines = (FIXTURES / "protocol" / f"stream-{scenario}.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "iteration"]


def table(rows: list[dict]) -> IterationTable:
    t = IterationTable()
    assert all(t.append(r) for r in rows)
    return t.freeze()


def test_every_scenario_round_trips_record_for_record() -> None:
    for scenario in ("single", "video", "concurrency", "server", "batch"):
        rows = records(scenario)
        t = table(rows)
        assert list(t) == rows and t[0] == rows[0] and len(t) == len(rows)
        assert t.measured().column("index").tolist() == [r["index"] for r in rows if not r["warmup"]]


def test_latency_is_arrival_to_result_where_there_is_one() -> None:
    rows = records("server")
    want = [r.get("latency_ns", r["total_ns"]) for r in rows]
    assert table(rows).latency_ns().tolist() == want
    assert table(rows).measured().has("latency_ns") and not table(rows).has("latency_ns")  # warm-ups have none


def test_a_row_that_does_not_fit_adds_nothing() -> None:
    good = records("single")[0]
    t = IterationTable()
    for bad in ({**good, "total_ns": 1.5}, {**good, "warmup": 1}, {k: v for k, v in good.items() if k != "image"},
                {**good, "phases_ns": {"decode": 1}}, {**good, "worker": "w"}):
        assert not t.append(bad)
    assert len(t) == 0 and t.append(good) and len(t) == 1


def test_values_are_checked_on_whole_columns() -> None:
    good = records("single")
    bad = [dict(good[0]), {**good[1], "total_ns": good[1]["total_ns"] + 1}, {**good[2], "worker": -2}]
    problems = table(bad).problems()
    assert any("record 1" in p and "sum of its phases" in p for p in problems)
    assert any("record 2" in p and "worker" in p for p in problems)
    assert table(good).problems() == []


def test_a_key_no_row_has_is_not_stored_but_reads_as_absent() -> None:
    t = table(records("single"))
    assert "latency_ns" not in t.cols and not t.has("latency_ns")
    assert (t.column("worker") == ABSENT).all() and t.latency_ns().tolist() == t.column("total_ns").tolist()


def test_measured_rows_are_views_when_warm_ups_come_first() -> None:
    t = table(records("single"))
    assert np.shares_memory(t.measured().column("total_ns"), t.column("total_ns"))


def test_samples_read_back_as_columns_are_the_samples_written(tmp_path: Path) -> None:
    from orchestrator import sampling
    from orchestrator.runfolder import read_samples, write_samples

    written = [sampling.Sample(0.0, 10 << 20, 0.0, 1, None), sampling.Sample(0.25, 30 << 20, 99.5, 4, 25 << 20),
               sampling.Sample(0.5, 20 << 20, 180.0, 6, None)]
    path = tmp_path / "p.samples.csv"
    write_samples(path, written)
    table = read_samples(path)
    assert isinstance(table, sampling.SampleTable) and len(table) == 3
    assert list(table) == written and list(table[1:]) == written[1:]
    assert sampling.peak_rss(table) == sampling.peak_rss(written) == 30 << 20
    assert sampling.peak_pss(table) == sampling.peak_pss(written) == 25 << 20
    assert len(read_samples(tmp_path / "missing.csv")) == 0 and sampling.peak_pss(written[:1]) is None
