"""The statistics of the report, each choice stated where it is made.

- Percentiles use linear interpolation between order statistics (numpy's default, Hyndman-Fan type 7), the
  same definition as most tools, so p50 of an even sample is the mean of the two middle values.
- `std` is the sample standard deviation (ddof=1): the samples estimate a population of possible runs.
- Confidence intervals are percentile bootstraps (2000 resamples, fixed seed so a report re-renders to the same
  numbers): latency distributions are skewed and heavy-tailed, so no normal approximation is assumed.
- Two samples are compared with the Mann-Whitney U test (two-sided, normal approximation with tie correction),
  like benchstat: it assumes no distribution shape and is robust to the outliers that benchmarks have.
- Outliers are flagged by the MAD-based modified Z-score (Iglewicz and Hoaglin, |z| > 3.5), like hyperfine;
  they are reported, never removed.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261125
OUTLIER_Z = 3.5


def describe(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99, mean, std, min and max of a non-empty sample."""
    a = np.asarray(values, dtype=float)
    p50, p90, p95, p99 = np.percentile(a, [50, 90, 95, 99])
    return {
        "p50": float(p50), "p90": float(p90), "p95": float(p95), "p99": float(p99),
        "mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "min": float(a.min()), "max": float(a.max()),
    }


def bootstrap_ci(values: Sequence[float], q: float = 50, level: float = 0.95) -> list[float]:
    """Percentile-bootstrap CI of the q-th percentile."""
    a = np.asarray(values, dtype=float)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    resamples = rng.choice(a, size=(BOOTSTRAP_RESAMPLES, len(a)), replace=True)
    stats = np.percentile(resamples, q, axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(stats, [tail, 100 - tail])
    return [float(lo), float(hi)]


def ratio_ci(a: Sequence[float], b: Sequence[float], q: float = 50, level: float = 0.95) -> list[float]:
    """Bootstrap CI of percentile_q(a) / percentile_q(b), resampling both samples independently."""
    return _bootstrap_ratio(a, b, lambda m: np.percentile(m, q, axis=1), level)


def ratio_ci_mean(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> list[float]:
    """Bootstrap CI of mean(a) / mean(b), resampling both samples independently."""
    return _bootstrap_ratio(a, b, lambda m: m.mean(axis=1), level)


def _bootstrap_ratio(a: Sequence[float], b: Sequence[float], statistic: Callable[[np.ndarray], np.ndarray],
                     level: float) -> list[float]:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    sx = statistic(rng.choice(x, size=(BOOTSTRAP_RESAMPLES, len(x))))
    sy = statistic(rng.choice(y, size=(BOOTSTRAP_RESAMPLES, len(y))))
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(sx / sy, [tail, 100 - tail])
    return [float(lo), float(hi)]


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value (normal approximation, tie-corrected, with continuity correction)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return 1.0
    both = np.concatenate([x, y])
    ranks = _ranks(both)
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    mu = n1 * n2 / 2
    _, counts = np.unique(both, return_counts=True)
    n = n1 + n2
    tie = (counts**3 - counts).sum() / (n * (n - 1)) if n > 1 else 0.0
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie))
    if sigma == 0:
        return 1.0
    z = (abs(u1 - mu) - 0.5) / sigma
    return float(min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2))))


def _ranks(a: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank."""
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(len(a), dtype=float)
    sorted_a = a[order]
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and sorted_a[j + 1] == sorted_a[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values: controls the family-wise error when many cells are compared at once."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def outliers(values: Sequence[float]) -> list[int]:
    """Indices whose modified Z-score 0.6745 * (x - median) / MAD exceeds 3.5 in absolute value."""
    a = np.asarray(values, dtype=float)
    if len(a) < 3:
        return []
    median = np.median(a)
    mad = np.median(np.abs(a - median))
    if mad == 0:
        return []
    z = 0.6745 * (a - median) / mad
    return [int(i) for i in np.flatnonzero(np.abs(z) > OUTLIER_Z)]


def coefficient_of_variation(values: Sequence[float]) -> float:
    a = np.asarray(values, dtype=float)
    return float(a.std(ddof=1) / a.mean()) if len(a) > 1 and a.mean() > 0 else 0.0
