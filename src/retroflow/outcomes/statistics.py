"""The statistics behind outcome verdicts, in plain Python (no numpy, no scipy).

* :func:`rate_ratio` — counts: the rate ratio after/before with the exact conditional
  (binomial) test in its mid-p form, and the mid-p confidence interval. Given the total
  ``k_before + k_after``, the after count is binomial with ``p0 = e_after / (e_before +
  e_after)`` when the rates are equal; the interval for that binomial ``p`` maps to the
  rate ratio as ``p / (1 - p) * e_before / e_after``. The two-sided p-value is twice the
  smaller mid-p tail, so it is below ``1 - confidence`` exactly when the interval leaves
  out 1.
* :func:`median_ratio` — durations: the ratio of medians with a seeded percentile
  bootstrap interval (:class:`MedianSampler` draws each resample's median exactly as
  resampling would, without building the resample) and :func:`mann_whitney`.
* :func:`benjamini_hochberg` — q-values over many tests.
* :func:`more_incidents_needed` — how much more data, at the same effect and spread,
  would decide an inconclusive comparison.

``tests/outcomes/test_statistics.py`` checks every number against scipy and statsmodels.
"""

from __future__ import annotations

import bisect
import math
import random
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

import attrs

__all__ = [
    "MedianSampler",
    "RatioResult",
    "benjamini_hochberg",
    "betainc",
    "binomial_cdf",
    "binomial_sf",
    "log_mean_ratio",
    "mann_whitney",
    "median_ratio",
    "midp_interval",
    "more_incidents_needed",
    "quantile",
    "rate_ratio",
]

_NORMAL = statistics.NormalDist()


@attrs.frozen
class RatioResult:
    """An effect as a ratio after/before, its interval and two-sided p-value. ``None``
    where the data cannot give one (no data, a zero denominator); an interval bound is
    ``math.inf`` when the data put no upper limit on it."""

    effect: float | None
    ci: tuple[float, float] | None
    p: float | None


# --- distributions ---------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def binomial_pmf(k: int, n: int, p: float) -> float:
    if k < 0 or k > n:
        return 0.0
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0 if k == n else 0.0
    log = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return math.exp(log + k * math.log(p) + (n - k) * math.log1p(-p))


def binomial_cdf(k: int, n: int, p: float) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, p)``."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return betainc(n - k, k + 1, 1.0 - p)


def binomial_sf(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return betainc(k, n - k + 1, p)


def _midp_lower(k: int, n: int, p: float) -> float:
    """``P(X < k) + P(X = k) / 2``: the mid-p tail below ``k``."""
    return binomial_cdf(k - 1, n, p) + 0.5 * binomial_pmf(k, n, p)


def _midp_upper(k: int, n: int, p: float) -> float:
    """``P(X > k) + P(X = k) / 2``: the mid-p tail above ``k``."""
    return binomial_sf(k + 1, n, p) + 0.5 * binomial_pmf(k, n, p)


def _solve_increasing(f: Callable[[float], float], target: float) -> float:
    """The ``p`` in [0, 1] where the increasing function ``f`` reaches ``target``: regula
    falsi with the Illinois modification (about ten evaluations where bisection needs
    forty), to twelve significant digits however small ``p`` is."""
    lo, hi = 0.0, 1.0
    f_lo, f_hi = f(lo) - target, f(hi) - target
    if f_lo >= 0:
        return lo
    if f_hi <= 0:
        return hi
    kept = 0  # which end stayed put last time (-1: lo, 1: hi)
    for _ in range(300):
        mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not lo < mid < hi:
            mid = (lo + hi) / 2
        f_mid = f(mid) - target
        if f_mid == 0:
            return mid
        if f_mid < 0:
            lo, f_lo = mid, f_mid
            if kept == 1:
                f_hi /= 2  # the far end has not moved twice: pull the next guess towards it
            kept = 1
        else:
            hi, f_hi = mid, f_mid
            if kept == -1:
                f_lo /= 2
            kept = -1
        if hi - lo <= 1e-12 * hi:
            break
    return (lo + hi) / 2


def midp_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The mid-p confidence interval of a binomial proportion ``k / n`` (equal tails)."""
    tail = (1.0 - confidence) / 2
    lower = 0.0 if k == 0 else _solve_increasing(lambda p: _midp_upper(k, n, p), tail)
    upper = 1.0 if k == n else _solve_increasing(lambda p: 1.0 - _midp_lower(k, n, p), 1.0 - tail)
    return lower, upper


# --- counts ----------------------------------------------------------------------------


def rate_ratio(
    k_before: int, e_before: float, k_after: int, e_after: float, *, confidence: float = 0.95, interval: bool = True
) -> RatioResult:
    """The rate ratio ``(k_after / e_after) / (k_before / e_before)`` with the exact
    conditional mid-p test of equal rates and its interval (``interval=False``: none).

    :param k_before: events counted before (incidents, pages, alerts).
    :param e_before: the exposure they were counted over (days, or incidents).
    """
    total = k_before + k_after
    if total == 0 or e_before <= 0 or e_after <= 0:
        return RatioResult(effect=None, ci=None, p=None)
    p0 = e_after / (e_before + e_after)
    p = min(1.0, 2 * min(_midp_lower(k_after, total, p0), _midp_upper(k_after, total, p0)))
    effect = math.inf if k_before == 0 else (k_after / e_after) / (k_before / e_before)
    if not interval:
        return RatioResult(effect=effect, ci=None, p=p)
    scale = e_before / e_after
    low, high = midp_interval(k_after, total, confidence)
    ci = (low / (1 - low) * scale, math.inf if high >= 1.0 else high / (1 - high) * scale)
    return RatioResult(effect=effect, ci=ci, p=p)


# --- durations -------------------------------------------------------------------------


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated linearly between order
    statistics (numpy's default, ``statistics.quantiles(..., method='inclusive')``)."""
    if not ordered:
        raise ValueError("quantile of no values")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class MedianSampler:
    """Draws medians of bootstrap resamples of ``values`` in ``O(log n)`` each.

    A resample's ``k``-th order statistic is ``x_(j)`` (sorted values, 1-based) with
    probability ``F(j) - F(j-1)``, where ``F(j) = P(Binomial(n, j/n) >= k)``: the number
    of resampled values at or below ``x_(j)``. Drawing ``j`` by inverting ``F`` gives the
    median of an odd-sized resample exactly as resampling would. For an even ``n`` the
    median is the mean of order statistics ``k`` and ``k + 1``: given the first is
    ``x_(j)``, the second is ``x_(j)`` too with probability :meth:`_repeat`, else the
    smallest of the ``n - k`` draws above index ``j``, each uniform over the indices above
    ``j``, which has a closed-form inverse.

    Resampling itself costs ``O(n log n)`` per draw; a thousand services with thousands
    of resamples each would take minutes instead of a fraction of a second.
    """

    def __init__(self, values: Sequence[float]) -> None:
        self.xs = sorted(values)
        n = self.n = len(self.xs)
        if n == 0:
            raise ValueError("no values to resample")
        self.k = (n + 1) // 2  # the (lower) median's rank
        # F outside ±8 standard deviations of the rank is 0 or 1 to double precision.
        band = math.ceil(8 * math.sqrt(n)) + 1
        self.first = max(1, self.k - band)
        last = min(n, self.k + band)
        self.cdf = [_order_cdf(self.k, n, j) for j in range(self.first, last + 1)]
        # j can be one past the band (see draws): its repeat probability too.
        self.repeats = [self._repeat(j) for j in range(self.first, min(n, last + 1) + 1)] if n % 2 == 0 else []

    def _order_cdf(self, j: int) -> float:
        if j < self.first:
            return 0.0
        index = j - self.first
        return self.cdf[index] if index < len(self.cdf) else 1.0

    def _repeat(self, j: int) -> float:
        """``P(X*_(k+1) = x_(j) | X*_(k) = x_(j))``: more than ``k`` resampled values at
        or below ``x_(j)``, given that the ``k``-th is ``x_(j)``."""
        n, k = self.n, self.k
        mass = self._order_cdf(j) - self._order_cdf(j - 1)
        exactly_k = binomial_pmf(k, n, j / n) - binomial_pmf(k, n, (j - 1) / n) * (1 - 1 / (n - j + 1)) ** (n - k)
        return 1.0 if mass <= 0 else min(1.0, max(0.0, 1.0 - exactly_k / mass))

    def draws(self, rng: random.Random, count: int) -> list[float]:
        """``count`` bootstrap medians (list comprehensions: this is the hot path of a report)."""
        xs, n, first, cdf = self.xs, self.n, self.first, self.cdf
        random_ = rng.random
        found = bisect.bisect_right
        # cdf ends at 1 when the band reaches n, else j may be one past it: still <= n.
        lows = [first + found(cdf, random_()) for _ in range(count)]
        if n % 2:
            return [xs[j - 1] for j in lows]
        power, repeats, ceil = 1.0 / (n - self.k), self.repeats, math.ceil
        # The upper middle value is x_(j) again with probability repeats[j], else the
        # smallest of the n - k draws above index j: P(index >= m) = ((n-m+1)/(n-j))**(n-k).
        return [
            xs[j - 1]
            if j == n or u < repeats[j - first]
            else (xs[j - 1] + xs[min(n, max(j + 1, ceil(n + 1 - (n - j) * v**power) - 1)) - 1]) / 2
            for j, u, v in [(j, random_(), random_()) for j in lows]
        ]


def _order_cdf(k: int, n: int, j: int) -> float:
    """``P(Binomial(n, j/n) >= k)``: for small ``n`` a sum of the upper terms by their
    ratio (a few multiplications each), else the incomplete beta function."""
    if n > 400 or j in (0, n):
        return binomial_sf(k, n, j / n)
    p = j / n
    odds = p / (1 - p)
    total = 0.0
    if n * p >= k:  # the terms fall away below k: one minus the lower tail
        term = binomial_pmf(k - 1, n, p)
        for i in range(k - 1, -1, -1):
            total += term
            term *= i / (n - i + 1) / odds
        return max(0.0, 1.0 - total)
    term = binomial_pmf(k, n, p)  # the terms fall away above k
    for i in range(k, n + 1):
        total += term
        term *= (n - i) / (i + 1) * odds
    return min(1.0, total)


def _percentile_interval(draws: list[float], confidence: float) -> tuple[float, float]:
    draws.sort()
    tail = (1.0 - confidence) / 2
    return quantile(draws, tail), quantile(draws, 1.0 - tail)


def median_ratio(
    before: Sequence[float],
    after: Sequence[float],
    *,
    resamples: int = 2000,
    seed: int | str = 0,
    confidence: float = 0.95,
) -> RatioResult:
    """The ratio of medians after/before, its percentile bootstrap interval (``resamples``
    draws from a ``random.Random(seed)``: the same data and seed give the same interval)
    and the two-sided Mann–Whitney p-value."""
    if not before or not after:
        return RatioResult(effect=None, ci=None, p=None)
    base = statistics.median(before)
    effect = None if base == 0 else statistics.median(after) / base
    p = mann_whitney(after, before)
    rng = random.Random(str(seed))
    denominators = MedianSampler(before).draws(rng, resamples)
    numerators = MedianSampler(after).draws(rng, resamples)
    ratios = [a / b if b else math.inf for a, b in zip(numerators, denominators, strict=True)]
    return RatioResult(effect=effect, ci=_percentile_interval(ratios, confidence), p=p)


def _rank_sum(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """The sum of the average ranks (1-based) of ``x`` among ``x`` and ``y`` together, and
    the tie term ``sum(t**3 - t)`` over groups of equal values."""
    together = sorted([*x, *y])
    left, right = bisect.bisect_left, bisect.bisect_right
    # A value's average rank is (values below it + values up to it + 1) / 2.
    rank_sum = (sum([left(together, v) + right(together, v) for v in x]) + len(x)) / 2
    ties = 0.0
    if len(set(together)) < len(together):
        ties = float(sum(t**3 - t for t in Counter(together).values() if t > 1))
    return rank_sum, ties


@lru_cache(maxsize=256)
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many arrangements of ``m`` and ``n`` distinct values give each U (0..m*n)."""
    if m == 0 or n == 0:
        return (1,)
    # c(u; m, n) = c(u - n; m - 1, n) + c(u; m, n - 1)
    shorter, fewer = _u_counts(m - 1, n), _u_counts(m, n - 1)
    counts = [0] * (m * n + 1)
    for u, ways in enumerate(fewer):
        counts[u] += ways
    for u, ways in enumerate(shorter):
        counts[u + n] += ways
    return tuple(counts)


#: Both samples at most this large and no ties: the exact distribution of U.
EXACT_MANN_WHITNEY = 20


def mann_whitney(x: Sequence[float], y: Sequence[float], *, method: str = "auto") -> float:
    """The two-sided p-value of the Mann–Whitney U test of ``x`` against ``y``.

    ``method``: ``exact`` (the distribution of U; only without ties), ``asymptotic`` (the
    normal approximation with tie correction and continuity correction, as
    ``scipy.stats.mannwhitneyu`` computes it) or ``auto`` (exact when both samples have at
    most :data:`EXACT_MANN_WHITNEY` values and there are no ties).
    """
    m, n = len(x), len(y)
    if not m or not n:
        raise ValueError("Mann–Whitney needs values on both sides")
    rank_sum, ties = _rank_sum(x, y)
    u1 = rank_sum - m * (m + 1) / 2
    u = max(u1, m * n - u1)
    if method == "auto":
        method = "exact" if not ties and max(m, n) <= EXACT_MANN_WHITNEY else "asymptotic"
    if method == "exact":
        if ties:
            raise ValueError("the exact Mann–Whitney distribution needs values without ties")
        counts = _u_counts(min(m, n), max(m, n))
        at_least = sum(counts[math.ceil(u) :])
        return min(1.0, 2 * at_least / math.comb(m + n, m))
    total = m + n
    variance = m * n / 12 * ((total + 1) - ties / (total * (total - 1)))
    if variance <= 0:
        return 1.0
    z = (u - m * n / 2 - 0.5) / math.sqrt(variance)
    return min(1.0, 2 * (1.0 - _NORMAL.cdf(z)))


def log_mean_ratio(before: tuple[int, float, float], after: tuple[int, float, float]) -> RatioResult:
    """The ratio of geometric means after/before and the two-sided p-value of Welch's z
    test on the logs, from ``(n, sum of logs, sum of squared logs)`` per side: what running
    sums give in constant time (large samples only: the z test needs them)."""
    (n1, s1, q1), (n2, s2, q2) = before, after
    if n1 < 2 or n2 < 2:
        return RatioResult(effect=None, ci=None, p=None)
    m1, m2 = s1 / n1, s2 / n2
    v1, v2 = max(0.0, (q1 - n1 * m1 * m1) / (n1 - 1)), max(0.0, (q2 - n2 * m2 * m2) / (n2 - 1))
    se = math.sqrt(v1 / n1 + v2 / n2)
    if se == 0:
        return RatioResult(effect=math.exp(m2 - m1), ci=None, p=1.0 if m1 == m2 else 0.0)
    z = (m2 - m1) / se
    return RatioResult(effect=math.exp(m2 - m1), ci=None, p=min(1.0, 2 * (1.0 - _NORMAL.cdf(abs(z)))))


# --- many tests, more data -------------------------------------------------------------


def benjamini_hochberg(ps: Sequence[float | None]) -> list[float | None]:
    """Benjamini–Hochberg q-values (adjusted p-values), in the order given; ``None`` stays
    ``None`` and does not count as a test."""
    tested = sorted((p, i) for i, p in enumerate(ps) if p is not None)
    m = len(tested)
    qs: list[float | None] = [None] * len(ps)
    running = 1.0
    for rank in range(m, 0, -1):
        p, i = tested[rank - 1]
        running = min(running, p * m / rank)
        qs[i] = running
    return qs


def more_incidents_needed(
    effect: float | None,
    se: float | None,
    incidents: int,
    *,
    band: float,
    confidence: float = 0.95,
) -> int | None:
    """Roughly how many more incidents (over both windows, split as now) would decide an
    inconclusive comparison, if the effect and the spread stayed as they are.

    The interval's half-width on the log scale, ``z * se``, shrinks with the square root of
    the data. The comparison is decided when it leaves out 1 (``|log effect| > z * se``) or
    fits inside the equivalence band ``[1 - band, 1 + band]``; whichever needs less data
    counts. ``None`` when nothing would decide it (the effect sits on the band's edge) or
    when the spread is unknown.
    """
    if effect is None or se is None or effect <= 0 or math.isinf(effect) or se <= 0 or incidents <= 0:
        return None
    z = _NORMAL.inv_cdf(1 - (1 - confidence) / 2)
    d = math.log(effect)
    margin = max(abs(d), min(d - math.log(1 - band), math.log(1 + band) - d))
    if margin <= 0:
        return None
    scale = (z * se / margin) ** 2
    if scale <= 1:
        return 0
    return math.ceil((scale - 1) * incidents)


def log_se_of_counts(k_before: int, k_after: int) -> float:
    """The standard error of a log rate ratio (0.5 added to empty counts)."""
    return math.sqrt(1 / max(k_before, 0.5) + 1 / max(k_after, 0.5))


def log_se_of_interval(ci: tuple[float, float] | None, confidence: float = 0.95) -> float | None:
    """The standard error a log-scale interval implies (``None`` if it is unbounded)."""
    if ci is None or ci[0] <= 0 or math.isinf(ci[1]):
        return None
    z = _NORMAL.inv_cdf(1 - (1 - confidence) / 2)
    return (math.log(ci[1]) - math.log(ci[0])) / (2 * z)
