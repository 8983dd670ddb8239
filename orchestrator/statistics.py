"""The statistics of the report, each choice stated where it is made.

The unit of replication is the process, never the iteration. The iterations of one runner process share that
process's level (memory layout, CPU frequency, what the neighbours do): on a 2-core machine one process's median
differs from the next by several per cent, more than the spread inside a process. Tests and intervals that treat
pooled iterations as independent samples call identical programs different: 41 % of the time at 3 processes x
15 iterations in a simulation with 3 % process spread, 68 % at 3 x 60 (tests/test_verdicts.py keeps the
simulation). So:

- Each process is summarised first: the median of its measured iterations (per phase too). Everything that
  compares cells works on those summaries.
- Two runners are compared by the paired log-ratio of their process medians, one pair per round (the schedule
  runs every cell's k-th process in round k): d_k = log(a_k / b_k). Pairing cancels what the two processes of a
  round share (drift of the machine over the run). The test is the one-sample t test of mean(d) = 0 and the CI
  its t interval (scipy.stats.ttest_1samp), back-transformed to a ratio of geometric means. Logs make the ratio
  symmetric (a/b and b/a get mirrored intervals) and process effects multiplicative. The t test keeps its nominal
  5 % rate in the seeded simulation with normal and with heavy-tailed (t with 4 df) process effects. p-values
  are Holm-corrected within each metric over the comparisons of a run that can get a verdict; the equivalence
  test (orchestrator/verdicts.py) is per comparison.
  An exact Wilcoxon signed-rank test was the alternative; it has no interval of the ratio that we could show
  next to the verdict, and its smallest p at 6 rounds is 0.031, so it would need more rounds for the same power.
- A cell's own figure is the geometric mean of its process medians with a t interval over processes, and the
  between-process spread (the standard deviation of the log medians, about a coefficient of variation) is shown
  next to it, so a reader sees how much processes differ.
- Two runs (orchestrator diff) have no rounds in common: Welch's t test on the log process medians.
- Tail percentiles (p99) cannot be estimated per process from a handful of iterations, so they are taken over the
  pooled iterations of a cell with a distribution-free order-statistic interval (binomial ranks), and withheld
  ("n too small") when n cannot support one: for p99 at 95 % that needs 368 values or more. A bootstrap interval
  of p99 cannot reach past the sample maximum (coverage 0.42 at n = 45), which is why it is not used.
- Percentiles of a sample use linear interpolation (numpy's default, Hyndman-Fan type 7).
- Outliers are flagged by the MAD-based modified Z-score (Iglewicz and Hoaglin, |z| > 3.5), like hyperfine;
  they are reported, never removed.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from scipy import stats

OUTLIER_Z = 3.5
LEVEL = 0.95


def describe(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p95, p99, mean, std (ddof = 1), min and max of a non-empty sample."""
    a = np.asarray(values, dtype=float)
    p50, p90, p95, p99 = np.percentile(a, [50, 90, 95, 99])
    return {
        "p50": float(p50), "p90": float(p90), "p95": float(p95), "p99": float(p99),
        "mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "min": float(a.min()), "max": float(a.max()),
    }


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=float)))


@dataclass(frozen=True)
class Level:
    """A cell's figure over its processes: geometric mean of the process values, t interval, spread."""

    center: float
    ci95: list[float] | None  # None with one process
    spread: float | None  # standard deviation of the log values: about the coefficient of variation
    n: int  # processes

    def as_dict(self) -> dict[str, object]:
        return {"center": self.center, "ci95": self.ci95, "spread": self.spread, "processes": self.n}


def process_level(values: Sequence[float]) -> Level | None:
    """The geometric mean of per-process values with a t interval over processes (logs), or None when empty."""
    logs = _logs(values)
    if logs is None:
        return None
    center = float(math.exp(logs.mean()))
    if len(logs) < 2:
        return Level(center, None, None, len(logs))
    sd = float(logs.std(ddof=1))
    half = stats.t.ppf(0.5 + LEVEL / 2, len(logs) - 1) * sd / math.sqrt(len(logs))
    return Level(center, [float(math.exp(logs.mean() - half)), float(math.exp(logs.mean() + half))], sd, len(logs))


@dataclass(frozen=True)
class Paired:
    """The paired log-ratio of two runners' process values over the rounds they share."""

    n: int  # rounds paired
    ratio: float  # exp(mean(log a - log b)): the ratio of geometric means
    ci95: list[float] | None
    ci90: list[float] | None  # the TOST interval: equivalence at the 5 % level
    p_value: float | None  # two-sided one-sample t test of mean(log ratio) = 0
    sd_log: float | None  # standard deviation of the per-round log ratios


def paired_log_ratio(a: Sequence[float], b: Sequence[float]) -> Paired | None:
    """a[k] and b[k] come from the same round k. None when a value is not positive or nothing is paired."""
    la, lb = _logs(a), _logs(b)
    if la is None or lb is None or len(la) != len(lb):
        return None
    d = la - lb
    ratio = float(math.exp(d.mean()))
    if len(d) < 2:
        return Paired(len(d), ratio, None, None, None, None)
    sd = float(d.std(ddof=1))
    if sd == 0:  # identical values in every round: no spread to test against
        return Paired(len(d), ratio, [ratio, ratio], [ratio, ratio], 1.0 if d.mean() == 0 else 0.0, 0.0)
    with _quiet():
        test = stats.ttest_1samp(d, 0.0)
    return Paired(len(d), ratio, _exp(test.confidence_interval(LEVEL)), _exp(test.confidence_interval(0.90)),
                  float(test.pvalue), sd)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, object] | None:
    """Mean of a[k] - b[k] over rounds with its t interval: for absolute differences (milliseconds of work)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) < 2:
        return None
    if d.std(ddof=1) == 0:
        return {"n": len(d), "mean": float(d.mean()), "ci95": [float(d.mean())] * 2}
    with _quiet():
        ci = stats.ttest_1samp(d, 0.0).confidence_interval(LEVEL)
    return {"n": len(d), "mean": float(d.mean()), "ci95": [float(ci.low), float(ci.high)]}


def welch_log_ratio(a: Sequence[float], b: Sequence[float]) -> Paired | None:
    """Unpaired: Welch's t test on the log process values of two runs (no rounds in common)."""
    la, lb = _logs(a), _logs(b)
    if la is None or lb is None or len(la) < 2 or len(lb) < 2:
        return None
    ratio = float(math.exp(la.mean() - lb.mean()))
    if la.std() == 0 and lb.std() == 0:
        return Paired(min(len(la), len(lb)), ratio, [ratio, ratio], [ratio, ratio], 1.0 if ratio == 1 else 0.0, 0.0)
    with _quiet():
        test = stats.ttest_ind(la, lb, equal_var=False)
    return Paired(min(len(la), len(lb)), ratio, _exp(test.confidence_interval(LEVEL)),
                  _exp(test.confidence_interval(0.90)), float(test.pvalue), None)


def quantile_ci(values: Sequence[float], q: float, level: float = LEVEL) -> list[float] | None:
    """Distribution-free CI of the q-quantile (0 < q < 1) from order statistics, or None when n is too small.

    The interval [x_(l), x_(u)] covers the true quantile with probability P(l <= B < u), B ~ Binomial(n, q): the
    ranks are the binomial quantiles, and when u would pass the sample's end no interval exists at this level."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return None
    tail = (1 - level) / 2
    lo = int(stats.binom.ppf(tail, n, q))  # rank l (1-based): P(B < l) <= tail
    hi = int(stats.binom.ppf(1 - tail, n, q)) + 1  # rank u: P(B >= u) <= tail
    if lo < 1 or hi > n:
        return None
    return [float(x[lo - 1]), float(x[hi - 1])]


def quantile_ci_min_n(q: float, level: float = LEVEL) -> int:
    """The smallest n for which quantile_ci gives an interval (368 for p99 at 95 %)."""
    n = 1
    while quantile_ci(range(n), q, level) is None and n < 100000:
        n += 1
    return n


def quantile_ratio_ci(a: Sequence[float], b: Sequence[float], q: float, level: float = LEVEL
                      ) -> list[float] | None:
    """A conservative interval of quantile_q(a) / quantile_q(b): each side's order-statistic interval at
    1 - (1 - level) / 2, so that both hold together at `level` (Bonferroni). None when either n is too small.
    Like quantile_ci it treats the pooled iterations as independent, which the processes they come from make
    only approximately true: an approximate interval, shown as a description, never tested."""
    side = 1 - (1 - level) / 2
    ca, cb = quantile_ci(a, q, side), quantile_ci(b, q, side)
    if ca is None or cb is None or cb[0] <= 0:
        return None
    return [ca[0] / cb[1], ca[1] / cb[0]]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values: the family-wise error of all comparisons of a run stays at alpha.

    Written here because scipy.stats offers only Benjamini-Hochberg (false discovery rate), a weaker promise."""
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
    med = np.median(a)
    mad = np.median(np.abs(a - med))
    if mad == 0:
        return []
    z = 0.6745 * (a - med) / mad
    return [int(i) for i in np.flatnonzero(np.abs(z) > OUTLIER_Z)]


def coefficient_of_variation(values: Sequence[float]) -> float:
    a = np.asarray(values, dtype=float)
    return float(a.std(ddof=1) / a.mean()) if len(a) > 1 and a.mean() > 0 else 0.0


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """scipy warns of precision loss when the values are nearly identical (a deterministic quantity such as peak
    memory): the result is still the right one to report, and a warning on the user's terminal explains nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _logs(values: Sequence[float]) -> np.ndarray | None:
    a = np.asarray(values, dtype=float)
    if len(a) == 0 or not np.all(a > 0):
        return None
    return np.log(a)


def _exp(ci: object) -> list[float]:
    return [float(math.exp(ci.low)), float(math.exp(ci.high))]  # type: ignore[attr-defined]
