"""Statistics against hand-computed cases, scipy's own routines and known distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from orchestrator import statistics as st


def test_describe_hand_computed() -> None:
    d = st.describe([1, 2, 3, 4])
    assert d["p50"] == 2.5 and d["mean"] == 2.5 and d["min"] == 1 and d["max"] == 4
    assert d["p90"] == pytest.approx(3.7)  # linear interpolation: 1 + 0.9 * 3 = 3.7 -> between 3 and 4
    assert d["std"] == pytest.approx(np.sqrt(5 / 3))  # sample std (ddof=1)


def test_paired_log_ratio_is_the_t_test_on_log_ratios() -> None:
    a, b = [10.0, 11.0, 10.5, 10.2], [9.0, 10.1, 9.9, 9.3]
    p = st.paired_log_ratio(a, b)
    d = np.log(a) - np.log(b)
    assert p is not None and p.n == 4
    assert p.ratio == pytest.approx(math.exp(d.mean()))
    assert p.p_value == pytest.approx(stats.ttest_rel(np.log(a), np.log(b)).pvalue)
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert p.ci95 == pytest.approx([math.exp(d.mean() - half), math.exp(d.mean() + half)])
    mirrored = st.paired_log_ratio(b, a)
    assert mirrored.ratio == pytest.approx(1 / p.ratio) and mirrored.ci95[0] == pytest.approx(1 / p.ci95[1])


def test_paired_log_ratio_edge_cases() -> None:
    assert st.paired_log_ratio([], []) is None
    assert st.paired_log_ratio([1.0, -1.0], [1.0, 1.0]) is None  # a log needs positive values
    one = st.paired_log_ratio([2.0], [1.0])
    assert one.ratio == 2.0 and one.ci95 is None and one.p_value is None
    same = st.paired_log_ratio([2.0, 4.0], [1.0, 2.0])  # exactly 2x in every round: no spread
    assert same.ratio == pytest.approx(2.0) and same.sd_log == 0


def test_process_level_is_a_t_interval_of_the_log_values() -> None:
    level = st.process_level([100.0, 103.0, 97.0, 101.0, 99.0])
    logs = np.log([100.0, 103.0, 97.0, 101.0, 99.0])
    assert level.center == pytest.approx(math.exp(logs.mean()))
    assert level.spread == pytest.approx(logs.std(ddof=1))
    assert level.ci95[0] < level.center < level.ci95[1]
    assert st.process_level([5.0]).ci95 is None and st.process_level([]) is None


def test_quantile_ci_is_withheld_where_n_cannot_support_it() -> None:
    assert st.quantile_ci(range(100), 0.99) is None  # 100 values: no order statistic can bound p99 at 95 %
    assert st.quantile_ci_min_n(0.99) == 368  # 1 - 0.99^n >= 0.975
    lo, hi = st.quantile_ci(range(1000), 0.5)
    assert lo < 499.5 < hi


def test_quantile_ci_covers_p99_at_its_nominal_rate() -> None:
    rng = np.random.default_rng(5)
    true = stats.lognorm.ppf(0.99, 0.2)
    hits = [lo <= true <= hi for lo, hi in (st.quantile_ci(rng.lognormal(0, 0.2, 400), 0.99) for _ in range(400))]
    assert 0.93 <= np.mean(hits) <= 1.0


def test_welch_log_ratio_matches_scipy() -> None:
    a, b = [10.0, 10.4, 9.8], [11.0, 11.3, 10.7, 11.1]
    w = st.welch_log_ratio(a, b)
    assert w.p_value == pytest.approx(stats.ttest_ind(np.log(a), np.log(b), equal_var=False).pvalue)
    assert w.ratio == pytest.approx(math.exp(np.log(a).mean() - np.log(b).mean()))


def test_paired_difference_hand_computed() -> None:
    d = st.paired_difference([5.0, 6.0, 7.0], [4.0, 4.0, 4.0])
    assert d["mean"] == pytest.approx(2.0)
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert d["ci95"] == pytest.approx([2 - half, 2 + half])


def test_holm_hand_computed() -> None:
    assert st.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_outliers_flag_without_removing() -> None:
    values = [10, 10.1, 9.9, 10.05, 9.95, 30]
    assert st.outliers(values) == [5]
    assert st.outliers([1, 1, 1]) == []


def test_coefficient_of_variation() -> None:
    assert st.coefficient_of_variation([10, 10, 10]) == 0
    assert st.coefficient_of_variation([9, 11]) == pytest.approx(np.std([9, 11], ddof=1) / 10)
