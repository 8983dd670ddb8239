from __future__ import annotations

from pathlib import Path

from test_config import GOOD, folder, write  # noqa: F401 - the fixture is reused

from orchestrator import config, matrix

__all__ = ["folder"]


def test_expand_applies_exclude_and_schedule_interleaves(folder: Path) -> None:  # noqa: F811
    c = config.load(write(folder, GOOD))
    cells = matrix.expand(c)
    assert [(x.runner.name, x.threads) for x in cells] == [("go", 1), ("go", 2), ("py", 1)]
    assert len({x.id for x in cells}) == 3
    order = matrix.schedule(cells, 2)
    assert [(x.runner.name, x.threads, r) for x, r in order] == [
        ("go", 1, 0), ("go", 2, 0), ("py", 1, 0), ("go", 1, 1), ("go", 2, 1), ("py", 1, 1)]


def test_spec_carries_the_cell(folder: Path) -> None:  # noqa: F811
    c = config.load(write(folder, GOOD))
    cell = matrix.expand(c)[1]
    spec = matrix.spec(c, cell)
    assert spec["threads"] == 2 and spec["model"]["input_size"] == 320 and spec["protocol"] == 1
    assert spec["images"] == [str(folder / "imgs" / "a.jpg")]


def test_cell_ids_are_file_safe(folder: Path) -> None:  # noqa: F811
    text = GOOD.replace("name: go", "name: '<script>/go'").replace("[go, py]", "['<script>/go', py]")
    c = config.load(write(folder, text))
    assert all("/" not in x.id and "<" not in x.id for x in matrix.expand(c))
