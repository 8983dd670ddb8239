"""From a paired comparison to one of three outcomes, with a practical threshold.

A verdict says one of:
- "A faster by X % [CI]": the Holm-corrected p of the paired t test is below 0.05 *and* the estimated ratio is
  beyond the practical threshold delta (`min_effect`): a 0.3 % difference that happens to be significant is no
  headline.
- "equivalent within +-delta": two one-sided tests (TOST) at 5 %, i.e. the 90 % CI of the ratio lies inside
  [1 / (1 + delta), 1 + delta].
- "inconclusive: need about N more rounds": neither, with the rounds that the observed spread of the per-round
  log-ratios says would settle it (the CI half-width that would exclude 1 beyond delta, or fit inside the band).
Fewer than MIN_ROUNDS paired rounds give no verdict at all (benchstat refuses under 6 samples too).

The default delta (DEFAULT_MIN_EFFECT, 3 %) is the spread between two processes of the same program measured on
the project's 2-core machines (docs/methodology.md): a difference smaller than what one process shows against
the next is a property of the machine, not of the language.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from .messages import Message, msg
from .statistics import Paired

MIN_ROUNDS = 6
DEFAULT_MIN_EFFECT = 0.03
ALPHA = 0.05
MAX_ROUNDS_HINT = 1000


@dataclass(frozen=True)
class Verdict:
    outcome: str  # faster | equivalent | inconclusive | too_few_rounds
    winner: str | None  # the faster (smaller) side when outcome is faster
    message: Message
    rounds_needed: int | None  # more rounds suggested when inconclusive or too few

    @property
    def text(self) -> str:
        return self.message.text()


def decide(p: Paired, p_holm: float | None, min_effect: float, a: str, b: str, word: str = "faster") -> Verdict:
    """The outcome for ratio a / b (below 1: a is faster, or smaller with word="smaller", or has the lower
    throughput with word="lower_throughput"); `word` is the message code of a difference shown."""
    band = math.log1p(min_effect)
    if p.n < MIN_ROUNDS or p.ci95 is None or p_holm is None or p.ci90 is None:
        more = MIN_ROUNDS - p.n
        return Verdict("too_few_rounds", None, msg("too_few_rounds", n=p.n, min=MIN_ROUNDS), max(more, 1))
    effect = math.log(p.ratio)
    interval = {"ratio": p.ratio, "lo": p.ci95[0], "hi": p.ci95[1], "band": min_effect * 100}
    if -band <= math.log(p.ci90[0]) and math.log(p.ci90[1]) <= band:
        return Verdict("equivalent", None, msg("equivalent", **interval), None)
    if p_holm < ALPHA and abs(effect) >= band:
        return Verdict("faster", a if effect < 0 else b, _difference(p, a, b, word), None)
    holm_factor = max(1.0, p_holm / p.p_value) if p.p_value else 1.0
    more = max(_rounds_needed(p, band, holm_factor) - p.n, 1)
    if more <= MAX_ROUNDS_HINT:
        return Verdict("inconclusive", None, msg("inconclusive", more=more, **interval), more)
    return Verdict("inconclusive", None, msg("inconclusive_many", more=MAX_ROUNDS_HINT, **interval), more)


def _difference(p: Paired, a: str, b: str, word: str) -> Message:
    """The smaller side of ratio a / b and by how much, in % of the other, with the CI in the same terms."""
    lo, hi = p.ci95  # type: ignore[misc]
    if p.ratio < 1:
        return msg(word, who=a, pct=(1 - p.ratio) * 100, lo=(1 - hi) * 100, hi=(1 - lo) * 100)
    return msg(word, who=b, pct=(1 - 1 / p.ratio) * 100, lo=(1 - 1 / lo) * 100, hi=(1 - 1 / hi) * 100)


def _rounds_needed(p: Paired, band: float, holm_factor: float = 1.0) -> int:
    """Rounds n at which, with the observed spread, the question would be settled: the test significant at the
    level Holm leaves this comparison (alpha / holm_factor) with the estimate beyond the band, or (estimate
    inside the band) the 90 % CI inside it."""
    effect = abs(math.log(p.ratio))
    sd = p.sd_log or 0.0
    if sd == 0:
        return p.n + 1
    margin, level = (effect, 1 - ALPHA / 2 / holm_factor) if effect >= band else (band - effect, 0.95)
    if margin <= 0:
        return MAX_ROUNDS_HINT * 10
    n = max(p.n, 2)
    while n <= MAX_ROUNDS_HINT * 10:
        if stats.t.ppf(level, n - 1) * sd / math.sqrt(n) < margin:
            return n
        n = n + 1 if n < 200 else int(n * 1.1)
    return n
