"""The engine against an independent, count-based oracle of its Markov part (tests/oracle.py).

World: 100,000 plans spread over every academic age 0-25, every placement and two needs, with
age-dependent monthly moves, need-dependent phase transfers, uncapped annual reviews (cease,
change, new placement), step-downs from independent to special, and Poisson arrivals by age;
places unlimited (capacity off), no assessment pipeline. March 2024 to March 2025, so the
September roll-over (phase transfers, the age limit) and a full year of reviews are included.

Samples: the engine's stocks over ``ENGINE_RUNS`` runs, the oracle's over ``ORACLE_RUNS`` runs
(its own random numbers, numpy's Generator). Compared: the stock of each placement and of each
age band at three months (before the roll-over, after it, at the end): 42 cells.

Tests, each family at significance level ``ALPHA`` = 0.001 (Bonferroni within the family, so
the chance that a correct engine fails any of the three is at most 0.3%):

- means: Welch's two-sample t-test per cell (p-values from Student's t);
- variances: the two-sample F-test per cell (the stocks are sums of many indicators, close to
  normal);
- distributions: the two-sample Kolmogorov-Smirnov test per placement at the last month.

Power (stated and checked): for each placement and month, the smallest bias the means test
detects with probability 0.9 is ``(z(1 - ALPHA / (2 * 42)) + z(0.9)) * SE`` with
``SE = sqrt(s_engine^2 / ENGINE_RUNS + s_oracle^2 / ORACLE_RUNS)``; the test asserts it is below
1% of the placement's mean, i.e. the runs are enough to detect a 1% bias in any placement's
mean. It is 0.7-0.8% here. A last check plants a 1% bias in the oracle's sample and asserts
the means test rejects it for every placement.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, simulate
from tests import builders
from tests.oracle import CountOracle, age_bands

ALPHA = 0.001
POWER = 0.9
DETECTABLE_BIAS = 0.01
ENGINE_RUNS = 60
ORACLE_RUNS = 120
N_PLANS = 100_000
NEEDS_USED = (codes.NEEDS.index("asd"), codes.NEEDS.index("mld"))
CALENDAR = Calendar(2024, 3, 13)
CHECKED_MONTHS = (5, 7, 12)  # August 2024, October 2024 (after the roll-over), March 2025
P = codes.N_PLACEMENTS


# ---- Distributions (standard library only) ----------------------------------------------------
def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def student_t_two_sided(t: float, df: float) -> float:
    return incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def f_two_sided(ratio: float, df1: float, df2: float) -> float:
    lower = incomplete_beta(df1 / 2.0, df2 / 2.0, df1 * ratio / (df1 * ratio + df2))
    return min(1.0, 2.0 * min(lower, 1.0 - lower))


def kolmogorov_smirnov(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic and its asymptotic p-value (with Stephens' small-sample term)."""
    grid = np.sort(np.concatenate([x, y]))
    d = float(np.max(np.abs(np.searchsorted(np.sort(x), grid, side="right") / x.size
                            - np.searchsorted(np.sort(y), grid, side="right") / y.size)))
    en = math.sqrt(x.size * y.size / (x.size + y.size))
    lam = (en + 0.12 + 0.11 / en) * d
    p = 2.0 * sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * lam * lam) for k in range(1, 101))
    return d, min(1.0, max(0.0, p))


def welch(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Welch's t statistic, its degrees of freedom and the two-sided p-value."""
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    if vx + vy == 0.0:
        return (0.0, math.inf, 1.0) if x.mean() == y.mean() else (math.inf, math.inf, 0.0)
    t = (x.mean() - y.mean()) / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx * vx / (x.size - 1) + vy * vy / (y.size - 1))
    return t, df, student_t_two_sided(t, df)


def test_distribution_helpers_match_known_values():
    # Tabulated: t(10) two-sided 5% at 2.228; F(5, 10) upper 5% at 3.326; normal via t(1e6).
    assert student_t_two_sided(2.228138852, 10) == pytest.approx(0.05, abs=1e-7)
    assert f_two_sided(3.325834530, 5, 10) == pytest.approx(0.10, abs=1e-7)
    assert student_t_two_sided(1.959963985, 1e7) == pytest.approx(0.05, abs=1e-6)
    rng = np.random.default_rng(0)
    assert kolmogorov_smirnov(rng.normal(size=400), rng.normal(size=400))[1] > 0.01
    assert kolmogorov_smirnov(rng.normal(size=400), rng.normal(0.5, size=400))[1] < 1e-6


# ---- The world --------------------------------------------------------------------------------
def _dirichlet(rng: np.random.Generator, shape: tuple[int, ...], concentration: float) -> np.ndarray:
    x = rng.gamma(concentration, size=shape)
    return x / x.sum(axis=-1, keepdims=True)


def _world(seed: int) -> tuple[dict, dict]:
    """Parameters with every Markov rule switched on, and the opening plans."""
    rng = np.random.default_rng(seed)
    values = builders.quiet_parameters()
    move = np.zeros((codes.N_AGES, P, P + 1))
    for a in range(codes.N_AGES):
        rates = rng.random((P, P + 1)) * 0.003 * (1 + a / 25)
        rates[:, P] = 0.003  # moved away
        for p in range(P):
            rates[p, p] = 0.0
            move[a, p] = rates[p]
            move[a, p, p] = 1.0 - rates[p].sum()
    values["move"] = move
    phase = values["phase_transfer"]  # the identity: stay where you are
    for k in NEEDS_USED:  # need-dependent moves, so the need axis matters
        phase[:, k] = 0.7 * phase[:, k] + 0.3 * _dirichlet(rng, phase[:, k].shape, 0.7)
    values["review_capacity"] = np.array(1e6)  # every due review happens
    values["review_cease"] = rng.uniform(0.02, 0.12, codes.N_AGES)
    values["review_cease_ratio"] = rng.uniform(0.5, 3.0, (codes.N_AGES, P))  # ceasing by placement too
    values["review_change"] = rng.uniform(0.05, 0.2, codes.N_AGES)
    values["review_move"] = _dirichlet(rng, values["review_move"].shape, 1.0)
    values["step_down"] = np.array(0.01)
    values["arrival_rate"] = rng.uniform(2.0, 8.0, codes.N_AGES)
    values["arrival_placement"] = _dirichlet(rng, values["arrival_placement"].shape, 2.0)
    share = np.zeros((codes.N_AGES, codes.N_NEEDS))
    share[:, NEEDS_USED[0]], share[:, NEEDS_USED[1]] = 0.6, 0.4
    values["arrival_need_share"] = share
    plans = {"age": rng.integers(0, codes.N_AGES, N_PLANS), "placement": rng.integers(0, P, N_PLANS),
             "need": rng.choice(NEEDS_USED, N_PLANS), "msr": rng.integers(0, 15, N_PLANS)}
    return values, plans


@pytest.fixture(scope="module")
def samples() -> dict[str, np.ndarray]:
    values, plans = _world(2024)
    cohort = builders.cohort([{"age": int(a), "placement": int(p), "need": int(k), "msr": int(m), "key": j}
                              for j, (a, p, k, m) in enumerate(zip(plans["age"], plans["placement"], plans["need"],
                                                                   plans["msr"]))], CALENDAR)
    model = builders.compile_values(values, CALENDAR)
    engine = np.concatenate([chunk.stock for chunk in simulate(cohort, model, CALENDAR, seed=11,
                                                               runs=np.arange(ENGINE_RUNS), record_flows=False)])
    oracle = CountOracle(values, plans["age"], plans["need"], plans["placement"], plans["msr"],
                         CALENDAR.start_month).simulate(np.random.default_rng(12), ORACLE_RUNS, CALENDAR.n_months)
    return {
        "engine_placement": engine.sum(axis=(2, 4)).astype(np.int64),       # [run, month, placement]
        "engine_band": engine.sum(axis=(3, 4)).astype(np.int64),            # [run, month, band]
        "oracle_placement": oracle.sum(axis=2),
        "oracle_band": _bands(oracle),
    }


def _bands(oracle: np.ndarray) -> np.ndarray:
    """[run, month, age, placement] -> [run, month, band]."""
    return age_bands(oracle.sum(axis=3)[..., None])[..., 0]


def _cells(samples: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    cells = []
    for m in CHECKED_MONTHS:
        for p in range(P):
            cells.append((f"{CALENDAR.label(m)} {codes.PLACEMENTS[p]}", samples["engine_placement"][:, m, p],
                          samples["oracle_placement"][:, m, p]))
        for b in range(codes.N_AGE_BANDS):
            cells.append((f"{CALENDAR.label(m)} {codes.AGE_BANDS[b]}", samples["engine_band"][:, m, b],
                          samples["oracle_band"][:, m, b]))
    return cells


def test_opening_month_is_the_cohort_in_both(samples):
    np.testing.assert_array_equal(samples["engine_placement"][:, 0], samples["oracle_placement"][:1, 0].repeat(
        ENGINE_RUNS, axis=0))


def test_means_match(samples):
    cells = _cells(samples)
    per_test = ALPHA / len(cells)
    worst = min((welch(x, y)[2], name, x.mean(), y.mean()) for name, x, y in cells)
    assert worst[0] > per_test, (f"means differ: {worst[1]}: engine {worst[2]:.1f}, oracle {worst[3]:.1f}, "
                                 f"p={worst[0]:.2g}")


def test_variances_match(samples):
    cells = _cells(samples)
    per_test = ALPHA / len(cells)
    results = []
    for name, x, y in cells:
        ratio = x.var(ddof=1) / y.var(ddof=1)
        results.append((f_two_sided(ratio, x.size - 1, y.size - 1), name, ratio))
    worst = min(results)
    assert worst[0] > per_test, f"variances differ: {worst[1]}: ratio {worst[2]:.2f}, p={worst[0]:.2g}"


def test_distributions_match(samples):
    last = CALENDAR.n_months - 1
    per_test = ALPHA / P
    results = [(kolmogorov_smirnov(samples["engine_placement"][:, last, p].astype(float),
                                   samples["oracle_placement"][:, last, p].astype(float))[1], codes.PLACEMENTS[p])
               for p in range(P)]
    worst = min(results)
    assert worst[0] > per_test, f"distributions differ for {worst[1]}: KS p={worst[0]:.2g}"


def test_enough_runs_to_detect_a_one_percent_bias(samples):
    cells = _cells(samples)
    z = NormalDist().inv_cdf(1 - ALPHA / len(cells) / 2) + NormalDist().inv_cdf(POWER)
    worst = 0.0
    for m in CHECKED_MONTHS:
        for p in range(P):
            x, y = samples["engine_placement"][:, m, p], samples["oracle_placement"][:, m, p]
            se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
            worst = max(worst, z * se / y.mean())
    assert worst < DETECTABLE_BIAS, f"the smallest detectable bias is {worst:.2%} of a placement's mean"


def test_a_planted_one_percent_bias_is_detected(samples):
    cells = _cells(samples)
    per_test = ALPHA / len(cells)
    last = CALENDAR.n_months - 1
    for p in range(P):
        x, y = samples["engine_placement"][:, last, p], samples["oracle_placement"][:, last, p]
        biased = y + DETECTABLE_BIAS * y.mean()
        assert welch(x, biased)[2] < per_test, codes.PLACEMENTS[p]
