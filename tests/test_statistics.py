"""Statistics against hand-computed cases and known distributions."""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator import statistics as st


def test_describe_hand_computed() -> None:
    d = st.describe([1, 2, 3, 4])
    assert d["p50"] == 2.5 and d["mean"] == 2.5 and d["min"] == 1 and d["max"] == 4
    assert d["p90"] == pytest.approx(3.7)  # linear interpolation: 1 + 0.9 * 3 = 3.7 -> between 3 and 4
    assert d["std"] == pytest.approx(np.sqrt(5 / 3))  # sample std (ddof=1)


def test_bootstrap_ci_covers_the_true_median() -> None:
    rng = np.random.default_rng(1)
    sample = rng.normal(100, 10, 400)
    lo, hi = st.bootstrap_ci(sample)
    assert lo < 100 < hi and hi - lo < 5
    assert st.bootstrap_ci(sample) == [lo, hi]  # seeded: re-rendering gives the same numbers


def test_mann_whitney_hand_computed() -> None:
    # x = [1, 2, 3], y = [4, 5, 6]: U = 0, mu = 4.5, sigma = sqrt(9 * 7 / 12); z = (4.5 - 0.5) / sigma
    z = 4.0 / np.sqrt(9 * 7 / 12)
    from math import erfc, sqrt
    assert st.mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(erfc(z / sqrt(2)))
    assert st.mann_whitney_p([1, 2, 3], [1, 2, 3]) == 1.0


def test_mann_whitney_detects_a_shift_and_not_noise() -> None:
    rng = np.random.default_rng(2)
    a = rng.lognormal(3, 0.1, 60)
    assert st.mann_whitney_p(a, rng.lognormal(3, 0.1, 60)) > 0.01
    assert st.mann_whitney_p(a, a * 1.2) < 1e-6


def test_ratio_ci_excludes_one_for_a_20_percent_slowdown() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(50, 2, 90)
    lo, hi = st.ratio_ci(a * 1.2, a)
    assert 1.15 < lo < 1.2 < hi < 1.25


def test_holm_hand_computed() -> None:
    assert st.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_outliers_flag_without_removing() -> None:
    values = [10, 10.1, 9.9, 10.05, 9.95, 30]
    assert st.outliers(values) == [5]
    assert st.outliers([1, 1, 1]) == []


def test_coefficient_of_variation() -> None:
    assert st.coefficient_of_variation([10, 10, 10]) == 0
    assert st.coefficient_of_variation([9, 11]) == pytest.approx(np.std([9, 11], ddof=1) / 10)
