"""Statistics: means over many runs against closed-form expectations, within sampling error."""
from __future__ import annotations

import numpy as np
import pytest

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, simulate
from tests import builders

P = codes.N_PLACEMENTS
K = P + 1  # placements plus "moved away" (absorbing)
Z = 4.5    # |z| bound per cell; with ~250 cells the chance of a false alarm is about 0.2%


def _markov_world(seed: int):
    """Monthly move matrices that depend on age (so the September roll-over matters)."""
    rng = np.random.default_rng(seed)
    values = builders.quiet_parameters()
    move = np.zeros((codes.N_AGES, P, K))
    for a in range(codes.N_AGES):
        off = rng.random((P, K)) * 0.02 * (1 + a / 10)
        for p in range(P):
            off[p, p] = 0.0
            move[a, p] = off[p]
            move[a, p, p] = 1.0 - off[p].sum()
    values["move"] = move
    return values


def _expected(move: np.ndarray, placements: np.ndarray, ages: np.ndarray, calendar: Calendar):
    """p0 P^t per child (age-dependent P), summed: expected counts and their variance per run."""
    n = placements.size
    v = np.zeros((n, K))
    v[np.arange(n), placements] = 1.0
    # Square chain over placements + "moved away", which is absorbing.
    chain = np.zeros((move.shape[0], K, K))
    chain[:, :P, :] = move
    chain[:, P, P] = 1.0
    age = ages.copy()
    mean, var = [v.sum(axis=0)], [np.zeros(K)]
    for m in range(1, calendar.n_months):
        if calendar.year_month(m)[1] == 9:
            age = age + 1
        v = np.einsum("ik,ikj->ij", v, chain[age])
        mean.append(v.sum(axis=0))
        var.append((v * (1 - v)).sum(axis=0))
    return np.array(mean), np.array(var)


@pytest.mark.parametrize("world", [0, 1])
def test_mean_stock_matches_markov_expectation(world):
    calendar = Calendar(2024, 3, 30)
    values = _markov_world(world)
    rng = np.random.default_rng(100 + world)
    n, runs = 1500, 400
    ages = rng.integers(0, 20, n)
    placements = rng.integers(0, P, n)
    cohort = builders.cohort([{"age": int(a), "placement": int(p)} for a, p in zip(ages, placements)], calendar)
    model = builders.compile_values(values, calendar)
    stock = np.concatenate([c.stock.sum(axis=(2, 4)) for c in simulate(cohort, model, calendar, seed=world,
                                                                           runs=np.arange(runs), record_flows=False)])
    moved_away = n - stock.sum(axis=2)
    observed = np.concatenate([stock, moved_away[:, :, None]], axis=2).mean(axis=0)  # [T, K]
    expected, variance = _expected(values["move"], placements, np.asarray(calendar.academic_age(
        cohort.birth_month)), calendar)
    se = np.sqrt(variance / runs)
    z = np.where(se > 0, (observed - expected) / np.where(se > 0, se, 1), observed - expected)
    assert np.abs(z).max() < Z, f"largest |z| {np.abs(z).max():.2f} at {np.unravel_index(np.abs(z).argmax(), z.shape)}"
    # And the test has power: a 1% error in a monthly exit rate would show.
    assert np.abs(expected[-1] - expected[0]).max() > 50


def test_review_outcomes_match_their_probabilities():
    calendar = Calendar(2024, 1, 2)
    values = builders.quiet_parameters()
    values["review_capacity"][...] = 1e6
    values["review_cease"][:] = 0.2
    values["review_change"][:] = 0.25
    values["review_move"][:, :, :] = 0.0
    values["review_move"][:, :, codes.SRP] = 1.0
    n = 20000
    rows = [{"age": 9, "msr": 11, "key": k} for k in range(n)]
    model = builders.compile_values(values, calendar)
    (chunk,) = simulate(builders.cohort(rows, calendar), model, calendar, seed=3, runs=np.array([0]))
    ceased = chunk.flows[0, 1, codes.EV_REVIEW_CEASED_FIRST + codes.REASON_NEEDS_MET].sum()
    moved = chunk.flows[0, 1, codes.EV_REVIEW_MOVED, codes.MAINSTREAM, codes.SRP]
    p_move = 0.8 * 0.25
    assert abs(ceased - 0.2 * n) < Z * np.sqrt(n * 0.2 * 0.8)
    assert abs(moved - p_move * n) < Z * np.sqrt(n * p_move * (1 - p_move))


def test_request_counts_are_poisson_with_growth():
    calendar = Calendar(2024, 1, 25)
    values = builders.quiet_parameters()
    values["request_rate"][5] = 4.0
    values["request_growth"] = np.array(0.5)  # +50% a year, compounded monthly
    model = builders.compile_values(values, calendar)
    cohort = builders.cohort([{"age": 9}], calendar)
    flows = np.concatenate([c.flows[:, :, codes.EV_REQUEST, codes.PLACEMENT_NONE, codes.PLACEMENT_NONE]
                            for c in simulate(cohort, model, calendar, seed=8, runs=np.arange(600))])
    expected = 4.0 * 1.5 ** (np.arange(25) / 12)
    expected[0] = 0.0
    mean = flows.mean(axis=0)
    se = np.sqrt(np.maximum(expected, 1e-9) / 600)
    assert np.abs((mean - expected) / se)[1:].max() < Z
    assert np.allclose(flows.var(axis=0)[1:] / expected[1:], 1.0, atol=0.35)
