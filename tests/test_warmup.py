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


def test_steady_start_never_drops_a_fast_start() -> None:
    """A fast start followed by a slower machine is not warm-up: dropping it would flatter nothing but the
    figure's stability, and hide the slowdown."""
    rng = np.random.default_rng(1)
    fast_then_slow = list(rng.normal(80, 1, 4)) + list(rng.normal(100, 1, 30))
    assert warmup.steady_start(fast_then_slow) == 0


def test_claim_verdicts() -> None:
    def verdict(claimed: float | None, lo: float, hi: float, null: float = 1.0) -> str:
        return claims._verdict(claimed, lo, hi, null, "claim_ratio_ci")[0]
    assert verdict(0.9, 0.85, 0.95) == "consistent"
    assert verdict(0.9, 0.5, 0.6) == "same direction, different size"
    assert verdict(0.9, 0.95, 1.05) == "not confirmed"
    assert verdict(1.0, 0.95, 1.05) == "not confirmed"  # a CI containing 1 confirms nothing, even a claim of 1
    assert verdict(0.9, 1.1, 1.2) == "contradicted"
    assert verdict(None, 1.1, 1.2) == "not comparable"
    assert verdict(-5.5, -6.0, -5.0, null=0.0) == "consistent"  # a difference: 0 is the null
    assert verdict(-5.5, -0.5, 0.3, null=0.0) == "not confirmed"
