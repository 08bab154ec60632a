"""The counter-based generator: pinned streams, independence from evaluation order, quality."""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from sendsim.simcore import rng
from sendsim.simcore.kernel import inverse_normal_cdf
from tests import naive

# Golden stream of RNG scheme version 1: (seed, run, child key, month, decision) -> 64-bit draw.
# If any of these change, every simulation result changes: bump RNG_SCHEME_VERSION.
GOLDEN_STREAM = [
    ((0, 0, 0, 0, 0), 0x88642BDC67CC8D5B),
    ((1, 0, 5, 3, 1), 0x04B63909F9F6DA45),
    ((2**40 + 7, 999, 123456789, 50, 13), 0x61581AF54A726D15),
    ((1, 1, 2**62 + 5, 12, 32), 0xD440940747C4E443),
    ((2**63 - 1, 12345, 2**61 + 64 + 3, 600, 63), 0xA75A427003F18355),
]


def test_scheme_version_is_pinned():
    assert rng.RNG_SCHEME_VERSION == 1


@pytest.mark.parametrize("key,expected", GOLDEN_STREAM)
def test_golden_stream(key, expected):
    seed, run, child, month, decision = key
    assert int(rng.draw_for(np.uint64(seed), run, np.int64(child), month, decision)) == expected


@pytest.mark.parametrize("key,expected", GOLDEN_STREAM)
def test_python_reference_agrees(key, expected):
    seed, run, child, month, decision = key
    stream = naive.child_stream(naive.run_key(seed, run), child)
    counter = month * naive.DECISIONS_PER_MONTH + decision + 1
    assert naive.mix64((stream + counter * naive.GOLDEN) & naive.MASK) == expected


def test_mixer_is_splitmix64():
    """Known answers of Vigna's splitmix64.c seeded with 0: outputs are mix64(k * GOLDEN)."""
    assert int(rng.mix64(rng.GOLDEN)) == 0xE220A8397B1DCDAF
    assert int(rng.mix64(np.uint64((2 * 0x9E3779B97F4A7C15) % 2**64))) == 0x6E789E6AA1B965F4


def test_uniforms_are_uniform_and_uncorrelated():
    rk = rng.run_key(np.uint64(7), 0)
    u = np.array([rng.uniform(np.uint64(rng.child_stream(np.uint64(rk), k)), 5, 0) for k in range(40000)])
    assert u.min() >= 0.0 and u.max() < 1.0
    counts, _ = np.histogram(u, bins=20, range=(0, 1))
    chi2 = ((counts - 2000) ** 2 / 2000).sum()
    assert chi2 < 50.0  # chi-square with 19 df: P(> 50) < 1e-4
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.03  # neighbouring children
    v = np.array([rng.uniform(np.uint64(rng.child_stream(np.uint64(rk), k)), 5, 1) for k in range(40000)])
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.03  # two decisions of the same child


def test_poisson_moments_and_monotonicity():
    rk = np.uint64(rng.run_key(np.uint64(3), 2))
    for mean in (0.3, 4.0, 29.0, 75.0, 2500.0):
        n = 4000 if mean < 100 else 800
        x = np.array([rng.poisson(np.uint64(rng.child_stream(rk, k)), 1, mean) for k in range(n)])
        se = math.sqrt(mean / n)
        assert abs(x.mean() - mean) < 5 * se, mean
        assert abs(x.var() / mean - 1.0) < 0.2, mean
    # For a fixed stream the count never falls when the mean rises (common random numbers).
    for k in range(200):
        stream = np.uint64(rng.child_stream(rk, k))
        counts = [rng.poisson(stream, 4, mean) for mean in np.linspace(0.1, 29.9, 40)]
        assert all(b >= a for a, b in zip(counts, counts[1:]))


def test_poisson_matches_python_reference():
    rk = rng.run_key(np.uint64(11), 4)
    for k, mean in enumerate((0.0, 0.5, 3.0, 31.0, 100.0, 1234.5)):
        stream = rng.child_stream(np.uint64(rk), k)
        assert rng.poisson(np.uint64(stream), 9, mean) == naive.poisson(int(stream), 9, mean)


def test_inverse_normal_matches_standard_library():
    for p in np.concatenate([np.linspace(1e-12, 1 - 1e-12, 2001), [1e-300, 0.025, 0.5, 0.975]]):
        assert inverse_normal_cdf(p) == pytest.approx(NormalDist().inv_cdf(float(p)), rel=1e-12, abs=1e-12)


def test_entrant_keys_are_unique_and_disjoint_from_cohort_keys():
    keys = {int(rng.entrant_key(kind, m, a, s)) for kind in (1, 2) for m in range(0, 600, 37) for a in range(26)
            for s in (0, 1, 999)}
    assert len(keys) == 2 * len(range(0, 600, 37)) * 26 * 3
    assert min(keys) >= 2**62 > 2**61 + 2 * 64 + 26  # above every cohort key and cell key
