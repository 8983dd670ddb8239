from __future__ import annotations

import numpy as np

from orchestrator import claims, warmup


def test_steady_start_finds_the_end_of_a_slow_start() -> None:
    rng = np.random.default_rng(0)
    values = list(rng.normal(100, 2, 40))
    assert warmup.steady_start(values) == 0
    assert warmup.steady_start([300, 200, 150] + values) == 3


def test_steady_start_gives_up_on_a_drifting_stream() -> None:
    assert warmup.steady_start([100 + 10 * i for i in range(30)]) is None
    assert warmup.steady_start([1, 2, 3]) is None  # too short to tell


def test_claim_verdicts() -> None:
    assert claims._verdict(0.9, 0.85, 0.95)[0] == "consistent"
    assert claims._verdict(0.9, 0.5, 0.6)[0] == "same direction, different size"
    assert claims._verdict(0.9, 0.95, 1.05)[0] == "not confirmed"
    assert claims._verdict(0.9, 1.1, 1.2)[0] == "contradicted"
    assert claims._verdict(None, 1.1, 1.2)[0] == "not comparable"
