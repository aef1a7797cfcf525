"""The outcome statistics, checked against scipy and statsmodels on fixed inputs.

scipy and statsmodels are test-only oracles (the ``stats-test`` extra); retroflow computes
everything in plain Python.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics as pystats
from collections import Counter

import numpy as np
import pytest
from scipy import optimize, special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.rates import test_poisson_2indep as poisson_2indep

from retroflow.outcomes.statistics import (
    MedianSampler,
    benjamini_hochberg,
    betainc,
    binomial_cdf,
    binomial_sf,
    mann_whitney,
    median_ratio,
    midp_interval,
    more_incidents_needed,
    quantile,
    rate_ratio,
)


@pytest.mark.parametrize(
    ("a", "b", "x"), [(3.5, 2.2, 0.3), (1, 1, 0.5), (40, 900, 0.05), (900, 40, 0.97), (0.5, 0.5, 0.01)]
)
def test_incomplete_beta_matches_scipy(a: float, b: float, x: float) -> None:
    assert betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize(("k", "n", "p"), [(7, 40, 0.3), (0, 12, 0.5), (120, 20_000, 0.004), (39, 40, 0.99)])
def test_binomial_tails_match_scipy(k: int, n: int, p: float) -> None:
    assert binomial_cdf(k, n, p) == pytest.approx(stats.binom.cdf(k, n, p), rel=1e-9, abs=1e-15)
    assert binomial_sf(k, n, p) == pytest.approx(stats.binom.sf(k - 1, n, p), rel=1e-9, abs=1e-15)


COUNTS = [
    (30, 180.0, 9, 180.0),  # the planted 0.3x of the benchmark
    (12, 90.0, 10, 120.0),  # unequal exposures
    (5, 90.0, 0, 90.0),  # nothing after
    (0, 90.0, 4, 90.0),  # nothing before
    (200, 30.0, 170, 30.0),  # alert volumes
    (3, 40.0, 2, 35.0),  # too little data
]


@pytest.mark.parametrize(("k1", "e1", "k2", "e2"), COUNTS)
@pytest.mark.filterwarnings("ignore:divide by zero")
def test_rate_ratio_p_value_is_twice_the_smaller_statsmodels_midp_tail(k1: int, e1: float, k2: int, e2: float) -> None:
    result = rate_ratio(k1, e1, k2, e2)
    lower = poisson_2indep(k2, e2, k1, e1, method="cond-midp", alternative="smaller").pvalue
    upper = poisson_2indep(k2, e2, k1, e1, method="cond-midp", alternative="larger").pvalue
    assert result.p == pytest.approx(min(1.0, 2 * min(lower, upper)), rel=1e-9)
    expected = math.inf if k1 == 0 else (k2 / e2) / (k1 / e1)
    assert result.effect == pytest.approx(expected)


def _scipy_midp_interval(k: int, n: int, confidence: float) -> tuple[float, float]:
    """The mid-p interval solved with scipy's binomial distribution and root finder."""
    tail = (1 - confidence) / 2
    upper_tail = lambda p: stats.binom.sf(k, n, p) + 0.5 * stats.binom.pmf(k, n, p) - tail  # noqa: E731
    lower_tail = lambda p: stats.binom.cdf(k - 1, n, p) + 0.5 * stats.binom.pmf(k, n, p) - tail  # noqa: E731
    low = 0.0 if k == 0 else optimize.brentq(upper_tail, 1e-15, 1 - 1e-15, xtol=1e-15)
    high = 1.0 if k == n else optimize.brentq(lower_tail, 1e-15, 1 - 1e-15, xtol=1e-15)
    return low, high


@pytest.mark.parametrize(("k", "n"), [(9, 39), (0, 5), (5, 5), (170, 370), (1, 3)])
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_midp_interval_matches_scipy(k: int, n: int, confidence: float) -> None:
    low, high = midp_interval(k, n, confidence)
    expected_low, expected_high = _scipy_midp_interval(k, n, confidence)
    assert low == pytest.approx(expected_low, rel=1e-8, abs=1e-14)
    assert high == pytest.approx(expected_high, rel=1e-8, abs=1e-14)


@pytest.mark.parametrize(("k1", "e1", "k2", "e2"), COUNTS)
def test_rate_ratio_interval_leaves_out_one_exactly_when_p_is_below_alpha(
    k1: int, e1: float, k2: int, e2: float
) -> None:
    result = rate_ratio(k1, e1, k2, e2)
    assert result.ci is not None and result.p is not None
    low, high = result.ci
    assert low <= result.effect <= high  # type: ignore[operator]
    assert (high < 1 or low > 1) == (result.p < 0.05)


def test_rate_ratio_interval_maps_the_binomial_interval() -> None:
    result = rate_ratio(30, 180.0, 9, 120.0)
    p_low, p_high = _scipy_midp_interval(9, 39, 0.95)
    scale = 180 / 120
    assert result.ci == pytest.approx((p_low / (1 - p_low) * scale, p_high / (1 - p_high) * scale), rel=1e-8)


def test_rate_ratio_without_data_gives_nothing() -> None:
    assert rate_ratio(0, 90.0, 0, 90.0).effect is None
    assert rate_ratio(3, 0.0, 2, 90.0).p is None


MW_CASES = [
    ([1.0, 5, 3, 8, 2, 9], [4.0, 6, 7, 10, 12, 11, 15]),
    ([0.5, 0.9, 1.3], [2.0, 2.5, 3.1, 0.1]),
    (list(np.random.default_rng(1).lognormal(4, 1, 18)), list(np.random.default_rng(2).lognormal(3.5, 1, 20))),
]


@pytest.mark.parametrize(("x", "y"), MW_CASES)
def test_mann_whitney_exact_matches_scipy(x: list[float], y: list[float]) -> None:
    assert mann_whitney(x, y, method="exact") == pytest.approx(stats.mannwhitneyu(x, y, method="exact").pvalue)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        *MW_CASES,
        ([1.0, 5, 3, 8, 2, 9, 3, 3], [4.0, 6, 7, 10, 3, 11, 15]),  # ties
        (list(np.round(np.random.default_rng(3).lognormal(4, 1, 300))), list(np.round(np.random.default_rng(4).lognormal(4.2, 1, 250)))),
    ],
)  # fmt: skip
def test_mann_whitney_asymptotic_with_tie_correction_matches_scipy(x: list[float], y: list[float]) -> None:
    expected = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True).pvalue
    assert mann_whitney(x, y, method="asymptotic") == pytest.approx(expected, rel=1e-9)


def test_mann_whitney_auto_is_exact_only_for_small_samples_without_ties() -> None:
    x, y = MW_CASES[0]
    assert mann_whitney(x, y) == mann_whitney(x, y, method="exact")
    tied = [*x, x[0]]
    assert mann_whitney(tied, y) == mann_whitney(tied, y, method="asymptotic")
    with pytest.raises(ValueError, match="ties"):
        mann_whitney(tied, y, method="exact")


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0, 7.0], [1.0, 2, 3, 4, 9], [1.0, 1, 2, 5], [3.0, 1, 4, 1, 5, 9]])
def test_median_sampler_draws_the_exact_bootstrap_distribution_of_the_median(values: list[float]) -> None:
    """Every resample of a small sample, enumerated, against 200,000 draws."""
    n = len(values)
    exact = Counter(pystats.median([values[i] for i in combo]) for combo in itertools.product(range(n), repeat=n))
    draws = Counter(MedianSampler(values).draws(random.Random(7), 200_000))
    for median in set(exact) | set(draws):
        assert draws[median] / 200_000 == pytest.approx(exact[median] / n**n, abs=0.004)


def test_median_ratio_interval_matches_scipy_bootstrap() -> None:
    rng = np.random.default_rng(3)
    before = list(rng.lognormal(4, 1, 30))
    after = list(rng.lognormal(4, 1, 24) * 0.5)
    result = median_ratio(before, after, resamples=40_000, seed=1)
    oracle = stats.bootstrap(
        (np.array(after), np.array(before)),
        lambda a, b, axis=-1: np.median(a, axis=axis) / np.median(b, axis=axis),
        n_resamples=40_000,
        method="percentile",
        random_state=1,
        vectorized=True,
    ).confidence_interval
    assert result.effect == pytest.approx(np.median(after) / np.median(before))
    assert result.ci == pytest.approx((oracle.low, oracle.high), rel=0.03)
    assert result.p == pytest.approx(stats.mannwhitneyu(after, before).pvalue)


def test_median_ratio_is_the_same_for_the_same_seed() -> None:
    before, after = [10.0, 20, 30, 40, 50, 60], [5.0, 7, 9, 30, 31]
    first = median_ratio(before, after, resamples=500, seed="a")
    assert median_ratio(before, after, resamples=500, seed="a") == first
    assert median_ratio(before, after, resamples=500, seed="b").ci != first.ci


def test_quantile_is_numpys_linear_percentile() -> None:
    values = sorted(np.random.default_rng(5).lognormal(4, 1, 37))
    for q in (0.0, 0.5, 0.9, 1.0):
        assert quantile(values, q) == pytest.approx(np.percentile(values, q * 100))


def test_benjamini_hochberg_matches_statsmodels() -> None:
    ps = [0.01, 0.04, 0.03, 0.2, 0.5, 0.001, 0.04]
    expected = multipletests(ps, method="fdr_bh")[1]
    assert benjamini_hochberg(ps) == pytest.approx(list(expected))
    assert benjamini_hochberg([None, 0.02, None]) == [None, 0.02, None]


def test_more_incidents_needed_is_the_least_data_that_leaves_out_one() -> None:
    # 22 vs 18 incidents, effect 0.82: the interval shrinks with the square root of the data
    # until it leaves out 1 (|log 0.82| > z * se); inside the ±20 % band it cannot fit.
    se = math.sqrt(1 / 22 + 1 / 18)
    z = stats.norm.ppf(0.975)
    needed = more_incidents_needed(0.82, se, 40, band=0.2)
    assert needed is not None

    def half_width(extra: int) -> float:
        return float(z * se * math.sqrt(40 / (40 + extra)))

    assert half_width(needed) <= abs(math.log(0.82)) < half_width(needed - 1)
    assert more_incidents_needed(0.82, se * 0.01, 40, band=0.2) == 0
    assert more_incidents_needed(None, se, 40, band=0.2) is None


def test_more_incidents_needed_near_no_effect_counts_the_equivalence_band() -> None:
    se = 0.3
    z = stats.norm.ppf(0.975)
    needed = more_incidents_needed(1.02, se, 50, band=0.2)
    assert needed is not None
    shrunk = z * se * math.sqrt(50 / (50 + needed))
    assert math.log(1.02) + shrunk <= math.log(1.2) + 1e-12


@pytest.mark.parametrize(("n", "k"), [(4, 2), (9, 5), (60, 30), (399, 200), (400, 200)])
def test_the_order_statistic_distribution_of_a_resample_matches_scipy(n: int, k: int) -> None:
    from retroflow.outcomes.statistics import _order_cdf

    for j in sorted({1, 2, n // 3, k - 1, k, k + 1, n - 2, n - 1, n}):
        assert _order_cdf(k, n, j) == pytest.approx(stats.binom.sf(k - 1, n, j / n), rel=1e-9, abs=1e-14), j


def test_log_mean_ratio_is_welchs_z_test_on_the_logs() -> None:
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    from retroflow.outcomes.statistics import log_mean_ratio

    rng = np.random.default_rng(9)
    before, after = rng.lognormal(4, 1, 400), rng.lognormal(3.8, 1.2, 350)

    def moments(values: np.ndarray) -> tuple[int, float, float]:
        logs = np.log(values)
        return len(values), float(logs.sum()), float((logs**2).sum())

    result = log_mean_ratio(moments(before), moments(after))
    _, p = CompareMeans(DescrStatsW(np.log(after)), DescrStatsW(np.log(before))).ztest_ind(usevar="unequal")
    assert result.p == pytest.approx(p, rel=1e-6)
    assert result.effect == pytest.approx(np.exp(np.log(after).mean() - np.log(before).mean()))
    assert log_mean_ratio((1, 0.0, 0.0), moments(after)).effect is None
