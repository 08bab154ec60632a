"""Places: own, other authorities', the soft limit and the admission round.

Own places and places in other authorities' schools, the soft limit and the admission round:
hand-checked outcomes on tiny cohorts, and the soft limit's chance against its formula within
sampling error. (tests/test_reference.py compares every rule with tests/naive.py exactly.)"""
from __future__ import annotations

import numpy as np

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, simulate
from sendsim.simcore.kernel import own_place_chance
from sendsim.simcore.rng import DEC_OVERFLOW_PHASE, DEC_PLACE_PHASE
from tests import builders, naive


def _run(values, rows, calendar, runs=(0,), seed=1):
    model = builders.compile_values(values, calendar)
    cohort = builders.cohort(rows, calendar)
    (chunk,) = simulate(cohort, model, calendar, seed=seed, runs=np.array(runs), chunk_size=len(runs),
                        trace_runs=len(runs))
    return chunk


def test_own_place_chance_is_the_logistic_and_zero_at_capacity():
    assert own_place_chance(5, 10, 0.9, 0.0) == 1.0          # a wall: any place below capacity
    assert own_place_chance(10, 10, 2.0, 0.0) == 0.0         # none at capacity
    assert own_place_chance(10, 10, 2.0, 0.5) == 0.0
    assert abs(own_place_chance(9, 10, 0.9, 0.05) - 0.5) < 1e-12
    for own in range(10):
        expected = 1.0 / (1.0 + np.exp((own / 10 - 0.7) / 0.1))
        assert abs(own_place_chance(own, 10, 0.7, 0.1) - expected) < 1e-12


def test_other_authorities_places_do_not_take_own_places_and_cost_their_ratio():
    """Everyone at the opening is in another authority's special school (share 1): the one own
    place stays free, the occupancy measure counts own places only, and the cost is the ratio's."""
    calendar = Calendar(2024, 1, 3)
    values = builders.quiet_parameters()
    values["places"][codes.SPECIAL] = 1
    values["other_la_share"][codes.SPECIAL] = 1.0
    values["other_la_cost_ratio"][codes.SPECIAL] = 1.5
    chunk = _run(values, [{"age": 9, "placement": codes.SPECIAL}] * 3, calendar)
    assert chunk.measures[0, :, codes.M_SPECIAL_OCCUPIED].tolist() == [0, 0, 0]
    assert chunk.measures[0, :, codes.M_SPECIAL_OTHER_LA].tolist() == [3, 3, 3]
    assert chunk.stock[0, :, :, codes.SPECIAL].sum(axis=(1, 2)).tolist() == [3, 3, 3]
    np.testing.assert_allclose(chunk.cost[0, :, codes.SPECIAL], 3 * 12000.0 * 1.5 / 12.0)


def test_refused_own_place_goes_to_another_authority():
    """The own places are full; an in-year move to special is refused (a wall) and, with
    other_la_placement 1, placed in another authority's school, not independent or waiting."""
    calendar = Calendar(2024, 1, 3)
    values = builders.quiet_parameters()
    values["places"][codes.SPECIAL] = 1
    values["other_la_placement"][codes.SPECIAL] = 1.0
    values["overflow_independent"][codes.SPECIAL] = 1.0
    values["move"][9, codes.MAINSTREAM, :] = 0.0
    values["move"][9, codes.MAINSTREAM, codes.SPECIAL] = 1.0
    chunk = _run(values, [{"age": 14, "placement": codes.SPECIAL}, {"age": 9}], calendar)
    assert chunk.trace[0, 1, :2].tolist() == [codes.SPECIAL, codes.SPECIAL]
    assert chunk.flows[0, 1, codes.EV_OTHER_LA_PLACE, codes.SPECIAL, codes.SPECIAL] == 1
    assert chunk.flows[0, 1, codes.EV_CAPACITY_REFUSED].sum() == 0
    assert chunk.measures[0, 1, codes.M_SPECIAL_OCCUPIED] == 1
    assert chunk.measures[0, 1, codes.M_SPECIAL_OTHER_LA] == 1


def test_admission_round_places_those_who_would_leave_first():
    """One own special place frees in September; many phase transfers ask for it. The one who
    gets it is, among the children whose own draws would send them independent if refused, the
    first in list order; everyone before them in the list who would have waited is refused."""
    calendar = Calendar(2024, 8, 3)  # August: September is month 1
    values = builders.quiet_parameters()
    values["phase_transfer"][:, :, :, :] = 0.0
    values["phase_transfer"][:, :, :, codes.SPECIAL] = 1.0
    values["places"][codes.SPECIAL] = 1
    values["overflow_independent"][codes.SPECIAL] = 0.5
    n = 12
    rows = [{"age": 24, "placement": codes.SPECIAL}] + [{"age": 10} for _ in range(n)]  # the 24-year-old leaves
    seed = 6  # the first child in the list would wait: first come, first served would place it
    chunk = _run(values, rows, calendar, seed=seed)
    cohort = builders.cohort(rows, calendar)
    key = naive.run_key(seed, 0)
    leaves = [naive.uniform(naive.child_stream(key, int(cohort.child_key[1 + k])), 1, DEC_OVERFLOW_PHASE) < 0.5
              for k in range(n)]
    assert not leaves[0] and any(leaves)
    winner = 1 + leaves.index(True)
    placed = chunk.trace[0, 1, 1:1 + n].tolist()
    assert placed[winner - 1] == codes.SPECIAL
    for k in range(n):
        if k != winner - 1:
            assert placed[k] == (codes.INDEPENDENT if leaves[k] else codes.NO_PLACE)
    assert DEC_PLACE_PHASE != DEC_OVERFLOW_PHASE


def test_soft_limit_chance_matches_the_formula():
    """In-year moves to special at a fixed own occupancy (the own places are held by plans that
    never move, and the movers are refused into another authority's school, so occupancy stays
    put): the share that gets an own place in the first month matches the logistic within five
    standard errors."""
    calendar = Calendar(2024, 1, 2)
    values = builders.quiet_parameters()
    capacity, held, mid, width = 100, 90, 0.92, 0.03
    values["places"][codes.SPECIAL] = capacity
    values["place_soft_mid"][codes.SPECIAL] = mid
    values["place_soft_width"][codes.SPECIAL] = width
    values["other_la_placement"][codes.SPECIAL] = 1.0
    values["move"][9, codes.MAINSTREAM, :] = 0.0
    values["move"][9, codes.MAINSTREAM, codes.SPECIAL] = 1.0
    movers = 8  # few enough that own occupancy changes little within a run
    rows = [{"age": 14, "placement": codes.SPECIAL}] * held + [{"age": 9}] * movers
    runs = np.arange(400)
    chunk = _run(values, rows, calendar, runs=tuple(runs))
    own_placed = chunk.measures[:, 1, codes.M_SPECIAL_OCCUPIED] - held
    # The expected number placed, walking the occupancy up as each mover is placed, by simulation
    # of the same rule: E[placed] = sum over movers of the chance at the occupancy so far.
    rng = np.random.default_rng(0)
    sims = []
    for _ in range(20000):
        own = held
        for _ in range(movers):
            if rng.random() < own_place_chance(own, capacity, mid, width):
                own += 1
        sims.append(own - held)
    sims = np.array(sims)
    se = np.sqrt(sims.var() / len(runs) + sims.var() / len(sims))
    assert abs(own_placed.mean() - sims.mean()) < 5 * se
    assert 0 < own_placed.mean() < movers
