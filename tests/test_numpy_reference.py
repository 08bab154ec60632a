"""The NumPy reference (benchmarks/numpy_reference.py) gives statistically the same results as
the engine, and counts the same draws as ``benchmarks.draws`` finds in the engine's outputs.

The reference draws its random numbers from NumPy's generator, so it agrees with the engine in
distribution, not run by run. Both simulate the Kent baseline for two years (two September
phase transfers, special places full all along, the new special places of September 2025), with
a wall at capacity and no places in other authorities' schools (``kent_wall_only``: the reference
does not model the soft limit);
each statistic (stock by placement and by age band, cost, every flow, every pipeline measure,
at several months) is compared as a two-sample z-score, the difference of the means over
its standard error from the runs' own spread. With about 160 statistics and the bound
|z| < 4.5, a false alarm has a chance below 1% (and the seeds are fixed, so the outcome is
reproducible); a deliberate 10% change of one rate shows up far beyond the bound
(``test_comparison_detects_a_small_change``).
"""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.draws import engine_draw_counts
from benchmarks.numpy_reference import DRAW_KINDS, simulate_numpy
from benchmarks.workloads import kent_wall_only
from sendsim.simcore import codes
from sendsim.simcore.engine import simulate

MONTHS = 24             # January 2024 to December 2025
ENGINE_RUNS = 240
REFERENCE_RUNS = 48     # about 0.1 s a run
SEED = 11
Z = 4.5                 # |z| bound per statistic
SNAPSHOT_MONTHS = (1, 6, 12, 18, MONTHS - 1)
# Kinds whose count from the engine's outputs is a lower bound, not exact (benchmarks/draws.py).
LOWER_BOUND_KINDS = ("review_move", "issue")


def statistics(stock: np.ndarray, flows: np.ndarray, cost: np.ndarray, measures: np.ndarray) -> dict[str, np.ndarray]:
    """Per-run statistics [R] by name."""
    out: dict[str, np.ndarray] = {}
    by_placement = stock.sum(axis=(2, 4))
    for m in SNAPSHOT_MONTHS:
        for p, name in enumerate(codes.PLACEMENTS):
            out[f"stock {name} month {m}"] = by_placement[:, m, p]
        for k, name in enumerate(codes.MEASURES):
            out[f"{name} month {m}"] = measures[:, m, k]
    for b, name in enumerate(codes.AGE_BANDS):
        out[f"stock {name} month {MONTHS - 1}"] = stock[:, MONTHS - 1, b].sum(axis=(1, 2))
    for k, name in enumerate(codes.NEEDS):
        out[f"stock need {name} month {MONTHS - 1}"] = stock[:, MONTHS - 1, :, :, k].sum(axis=(1, 2))
    for p, name in enumerate(codes.PLACEMENTS):
        out[f"cost {name}"] = cost[:, :, p].sum(axis=1)
    events = flows.sum(axis=(1, 3, 4))
    for k, name in enumerate(codes.EVENTS):
        out[f"flow {name}"] = events[:, k]
    refused = flows[:, :, codes.EV_CAPACITY_REFUSED].sum(axis=1)
    for q in codes.CAPACITY_LIMITED:
        for target in (q, codes.INDEPENDENT, codes.NO_PLACE):
            out[f"refused {codes.PLACEMENTS[q]} -> {codes.PLACEMENTS[target]}"] = refused[:, q, target]
    return out


def z_scores(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Two-sample z-score of each statistic; a statistic constant in both samples must be
    equal (z = 0) or is infinitely far (z = inf)."""
    z = {}
    for name in a:
        x, y = a[name].astype(float), b[name].astype(float)
        difference = x.mean() - y.mean()
        se = np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        z[name] = abs(difference) / se if se > 0 else (0.0 if difference == 0 else np.inf)
    return z


@pytest.fixture(scope="module")
def workload():
    return kent_wall_only(MONTHS)  # the reference models a wall at capacity, no other authorities' places


@pytest.fixture(scope="module")
def engine_sample(workload):
    (chunk,) = simulate(workload.cohort, workload.model, workload.calendar, seed=SEED, runs=np.arange(ENGINE_RUNS),
                        chunk_size=ENGINE_RUNS)
    return chunk


@pytest.fixture(scope="module")
def reference_sample(workload):
    return simulate_numpy(workload.cohort, workload.model, workload.calendar, seed=SEED,
                          runs=np.arange(REFERENCE_RUNS))


def test_reference_matches_engine_in_distribution(engine_sample, reference_sample):
    engine = statistics(engine_sample.stock, engine_sample.flows, engine_sample.cost, engine_sample.measures)
    reference = statistics(reference_sample.stock, reference_sample.flows, reference_sample.cost,
                           reference_sample.measures)
    z = z_scores(engine, reference)
    worst = sorted(z.items(), key=lambda item: -item[1])[:5]
    assert max(z.values()) < Z, f"largest |z|: {worst}"
    # Not vacuous: the two years have moves, reviews, tribunals, capacity refusals, ...
    busy = [name for name, x in engine.items() if name.startswith("flow ") and x.mean() > 10]
    assert len(busy) >= 20, busy
    assert engine["flow capacity_refused"].mean() > 100


def test_reference_counts_the_engine_draws(workload, engine_sample, reference_sample):
    """The reference counts, per kind, as many draws per child-month as the engine makes."""
    counted = engine_draw_counts(engine_sample, workload.cohort, workload.model, workload.calendar)
    engine_cm = engine_sample.stock.sum(axis=(1, 2, 3, 4))
    reference_rate = {kind: reference_sample.draws_by_kind[kind] / reference_sample.child_months for kind in DRAW_KINDS}
    for kind in DRAW_KINDS:
        per_run = counted[kind] / engine_cm
        se = per_run.std(ddof=1) / np.sqrt(per_run.size) + 1e-12
        if kind in LOWER_BOUND_KINDS:
            assert per_run.mean() <= reference_rate[kind] + Z * se, kind
            continue
        # The reference's counts are a pooled ratio over fewer runs: allow for its sampling error
        # (about sqrt(ENGINE_RUNS / REFERENCE_RUNS) times the engine's) as well.
        tolerance = Z * se * np.sqrt(1 + ENGINE_RUNS / REFERENCE_RUNS) + 1e-9
        assert abs(per_run.mean() - reference_rate[kind]) < tolerance, (
            f"{kind}: engine {per_run.mean():.6f}, reference {reference_rate[kind]:.6f}")
    total = sum(counted[kind].sum() for kind in DRAW_KINDS) / engine_cm.sum()
    assert 1.0 < total < 2.0  # one move draw per plan per month, and the rest


def test_comparison_detects_a_small_change(workload, reference_sample):
    """Power: the same comparison, with the engine's between-review move-away rate raised by
    10%, fails far beyond the bound (so a reference that got a rule wrong would too)."""
    model = workload.model
    move_cdf = model.move_cdf.copy()
    stay = model.move_stay.copy()
    away = move_cdf[..., codes.MOVED_AWAY] - move_cdf[..., codes.MOVED_AWAY - 1]
    move_cdf[..., codes.MOVED_AWAY] += 0.1 * away   # the last column: cumulative through "moved away"
    stay -= 0.1 * away                               # the extra mass comes out of "stay"
    changed = model._replace(move_cdf=move_cdf, move_stay=stay)
    (chunk,) = simulate(workload.cohort, changed, workload.calendar, seed=SEED, runs=np.arange(ENGINE_RUNS),
                        chunk_size=ENGINE_RUNS)
    z = z_scores(statistics(chunk.stock, chunk.flows, chunk.cost, chunk.measures),
                 statistics(reference_sample.stock, reference_sample.flows, reference_sample.cost,
                            reference_sample.measures))
    assert z["flow moved_away"] > 2 * Z
