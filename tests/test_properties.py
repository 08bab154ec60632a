"""Properties of every run (hypothesis): conservation, bounds, capacity, determinism."""
from __future__ import annotations

import numba
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, simulate
from tests import builders

CONFIG = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _simulate(values, cohort, calendar, **kwargs):
    model = builders.compile_values(values, calendar)
    runs = kwargs.pop("runs", np.arange(4))
    return list(simulate(cohort, model, calendar, seed=kwargs.pop("seed", 5), runs=runs, **kwargs))


def _world(config: int, n: int, months: int, capacity: bool = True):
    rng = np.random.default_rng(config)
    calendar = Calendar(2024, 1 + config % 12, months)
    return builders.random_parameters(rng, capacity=capacity), builders.random_cohort(rng, n, calendar), calendar


@settings(max_examples=30, **CONFIG)
@given(config=st.integers(0, 2**31), n=st.integers(1, 60), months=st.integers(2, 40))
def test_conservation_per_placement(config, n, months):
    """stock[t] - stock[t-1] = entries - exits, per placement, counting moves both ways."""
    values, cohort, calendar = _world(config, n, months)
    (chunk,) = _simulate(values, cohort, calendar, chunk_size=4)
    movement = codes.EVENT_IS_MOVEMENT
    for r in range(chunk.runs.size):
        stock = chunk.stock[r].sum(axis=(1, 3))  # [T, P]
        flows = chunk.flows[r][:, movement]      # [T, EV, P+1, P+1]
        inflow = flows.sum(axis=1)[:, :, :codes.N_PLACEMENTS].sum(axis=1)
        outflow = flows.sum(axis=1)[:, :codes.N_PLACEMENTS, :].sum(axis=2)
        same = np.stack([flows.sum(axis=1)[:, p, p] for p in range(codes.N_PLACEMENTS)], axis=1)
        np.testing.assert_array_equal(stock[1:] - stock[:-1], (inflow - outflow)[1:])
        # Total: entries minus exits.
        entries = chunk.flows[r][:, [codes.EV_NEW_PLAN, codes.EV_ARRIVAL]].sum(axis=(1, 2, 3))
        exits = chunk.flows[r][:, list(codes.EXIT_EVENTS)].sum(axis=(1, 2, 3))
        np.testing.assert_array_equal(np.diff(stock.sum(axis=1)), (entries - exits)[1:])
        assert (same >= 0).all()


@settings(max_examples=30, **CONFIG)
@given(config=st.integers(0, 2**31), n=st.integers(1, 60), months=st.integers(2, 40))
def test_bounds(config, n, months):
    """No negative counts or costs; nobody over 25; occupancy within capacity."""
    values, cohort, calendar = _world(config, n, months)
    (chunk,) = _simulate(values, cohort, calendar, chunk_size=4, trace_runs=4)
    assert (chunk.stock >= 0).all() and (chunk.flows >= 0).all() and (chunk.measures >= 0).all()
    assert (chunk.cost >= 0).all()
    # The cohort's members aged 24 or 25 have left by the first September of the run.
    ages = calendar.academic_age(cohort.birth_month)
    first_september = next((m for m in range(1, months) if calendar.year_month(m)[1] == 9), None)
    if first_september is not None:
        old = np.flatnonzero(ages >= 24)
        assert (chunk.trace[:, first_september:, old] < 0).all()
    # Capacity: occupancy never rises above capacity (it may start above and only fall).
    for _q, occupied, capacity in ((codes.SRP, codes.M_SRP_OCCUPIED, codes.M_SRP_CAPACITY),
                                  (codes.SPECIAL, codes.M_SPECIAL_OCCUPIED, codes.M_SPECIAL_CAPACITY)):
        occ = chunk.measures[:, :, occupied]
        cap = chunk.measures[:, :, capacity]
        rising = occ[:, 1:] > occ[:, :-1]
        assert not (rising & (occ[:, 1:] > cap[:, 1:])).any()
        if (occ[:, 0] <= cap[:, 0]).all():
            assert (occ <= cap).all()


@settings(max_examples=10, **CONFIG)
@given(config=st.integers(0, 2**31), n=st.integers(1, 40))
def test_identical_with_one_and_two_threads_and_any_chunking(config, n):
    values, cohort, calendar = _world(config, n, 20)
    runs = np.arange(7)
    results = []
    for threads, chunk_size in ((1, 7), (2, 7), (2, 3), (1, 1)):
        chunks = _simulate(values, cohort, calendar, runs=runs, threads=threads, chunk_size=chunk_size)
        results.append({name: np.concatenate([getattr(c, name) for c in chunks])
                        for name in ("stock", "flows", "cost", "measures")})
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for other in results[1:]:
        for name in results[0]:
            np.testing.assert_array_equal(results[0][name], other[name], err_msg=name)


def test_run_results_depend_on_run_number_not_position():
    values, cohort, calendar = _world(3, 30, 15)
    (a,) = _simulate(values, cohort, calendar, runs=np.array([4, 9]))
    (b,) = _simulate(values, cohort, calendar, runs=np.array([9, 4, 1]))
    np.testing.assert_array_equal(a.stock[0], b.stock[1])
    np.testing.assert_array_equal(a.stock[1], b.stock[0])
    assert not np.array_equal(b.stock[0], b.stock[1])  # different runs differ


def test_different_seeds_differ_same_seed_repeats():
    values, cohort, calendar = _world(8, 40, 25)
    (a,) = _simulate(values, cohort, calendar, seed=1)
    (b,) = _simulate(values, cohort, calendar, seed=1)
    (c,) = _simulate(values, cohort, calendar, seed=2)
    np.testing.assert_array_equal(a.flows, b.flows)
    assert not np.array_equal(a.flows, c.flows)
