from __future__ import annotations

from pathlib import Path

import pytest
from test_config import GOOD, folder, write  # noqa: F401 - the fixture is reused

from orchestrator import config, matrix

__all__ = ["folder"]


def test_expand_applies_exclude_and_schedule_interleaves(folder: Path) -> None:  # noqa: F811
    c = config.load(write(folder, GOOD))
    cells = matrix.expand(c)
    assert [(x.runner.name, x.threads) for x in cells] == [("go", 1), ("go", 2), ("py", 1)]
    assert len({x.id for x in cells}) == 3
    order = matrix.schedule(cells, {"single": 2}, "round-robin")
    assert [(x.runner.name, x.threads, r) for x, r in order] == [
        ("go", 1, 0), ("go", 2, 0), ("py", 1, 0), ("go", 1, 1), ("go", 2, 1), ("py", 1, 1)]
    shuffled = matrix.schedule(cells, {"single": 3}, "random", seed=7)
    assert shuffled == matrix.schedule(cells, {"single": 3}, "random", seed=7)  # seeded: the same order again
    rounds = [shuffled[i:i + 3] for i in range(0, 9, 3)]
    assert all(sorted(c.id for c, _ in r) == sorted(c.id for c in cells) for r in rounds)  # every cell per round
    assert [[c.id for c, _ in r] for r in rounds] != [[c.id for c in cells]] * 3


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8])
def test_williams_square_balances_positions_and_neighbours(n: int) -> None:
    from collections import Counter

    rows = matrix.williams(n)
    assert len(rows) == (n if n % 2 == 0 else 2 * n) and all(sorted(r) == list(range(n)) for r in rows)
    positions = Counter((x, i) for r in rows for i, x in enumerate(r))
    followers = Counter((r[i], r[i + 1]) for r in rows for i in range(n - 1))
    assert len(set(positions.values())) == 1 and len(positions) == n * n  # each cell in each position equally
    assert len(set(followers.values())) == 1 and len(followers) == n * (n - 1)  # each after each other equally


def test_random_order_puts_every_cell_first_equally_often(folder: Path) -> None:  # noqa: F811
    """The position effect (the first process of a round runs slower here) must average out, not stick to one
    runner: over a full square each cell is first once."""
    cells = matrix.expand(config.load(write(folder, GOOD)))
    for seed in range(5):
        plan = matrix.schedule(cells, {"single": 6}, "random", seed=seed)
        firsts = [plan[i][0].id for i in range(0, len(plan), 3)]
        assert sorted(firsts) == sorted([c.id for c in cells] * 2)


def test_spec_carries_the_cell(folder: Path) -> None:  # noqa: F811
    c = config.load(write(folder, GOOD))
    cell = matrix.expand(c)[1]
    spec = matrix.spec(c, cell)
    assert spec["threads"] == 2 and spec["model"]["input_size"] == 320 and spec["protocol"] == 1
    assert spec["images"] == [str(folder / "imgs" / "a.jpg")]


SCENARIOS = """\
scenarios:
  - {type: single, iterations: 5}
  - {type: concurrency, workers: [1, 2], python_mode: processes, iterations: 6, repeats: 1}
  - {type: server, workers: 2, rates: [2, 4], seed: 9, iterations: 5}
  - {type: call_overhead, calls_per_sample: 100}
  - {type: batch, batch: 4}
"""


def test_scenarios_expand_into_variants_and_specs(folder: Path) -> None:  # noqa: F811
    (folder / "b4.onnx").write_bytes(b"x")
    text = GOOD.replace("matrix:\n  exclude:\n    - {runner: py, threads: 2}\n", "")
    text = text.replace("threads: [1, 2]", "threads: 1").replace(
        "    input_size: 320\n", "    input_size: 320\n  - {name: b4, path: b4.onnx, input_size: 320, batch: 4}\n")
    c = config.load(write(folder, text + SCENARIOS))
    cells = matrix.expand(c)
    labels = sorted({x.label for x in cells})
    assert labels == ["batch", "call_overhead", "concurrency w=1", "concurrency w=2", "server w=2 r=2/s",
                      "server w=2 r=4/s", "single"]
    assert {x.model_name for x in cells if x.label == "batch"} == {"b4"}  # batch runs the batch-4 model only
    assert {x.model_name for x in cells if x.label == "single"} == {"m320"}
    assert {x.model_name for x in cells if x.label == "call_overhead"} == {"-"}
    conc = next(x for x in cells if x.label == "concurrency w=2" and x.runner.name == "go")
    assert matrix.spec(c, conc)["mode"] == "goroutines" and matrix.spec(c, conc)["workers"] == 2
    py = next(x for x in cells if x.label == "concurrency w=2" and x.runner.name == "py")
    assert matrix.spec(c, py)["mode"] == "processes"
    server = [x for x in cells if x.label == "server w=2 r=4/s"]
    specs = [matrix.spec(c, x, repeat=1) for x in server]
    assert specs[0]["arrivals_ns"] == specs[1]["arrivals_ns"]  # every runner serves the same schedule
    assert len(specs[0]["arrivals_ns"]) == 5 and specs[0]["arrivals_ns"][0] == 0
    assert specs[0]["arrivals_ns"] != matrix.spec(c, server[0], repeat=0)["arrivals_ns"]
    plan = matrix.schedule(cells, {s.name: s.repeats for s in c.scenarios})
    assert sum(1 for x, _ in plan if x.scenario.type == "concurrency") == 4  # 2 variants x 2 runners x 1 repeat


def test_poisson_arrivals_have_the_asked_rate() -> None:
    arrivals = matrix.arrivals_ns(rate=50.0, count=5000, seed=3)
    assert arrivals == sorted(arrivals)
    assert 5000 / (arrivals[-1] / 1e9) == pytest.approx(50, rel=0.05)


def test_cell_ids_are_file_safe(folder: Path) -> None:  # noqa: F811
    text = GOOD.replace("name: go", "name: '<script>/go'").replace("[go, py]", "['<script>/go', py]")
    c = config.load(write(folder, text))
    assert all("/" not in x.id and "<" not in x.id for x in matrix.expand(c))
