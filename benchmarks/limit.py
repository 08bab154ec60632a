"""The limit: the engine's own counter-based draw and table lookup, and nothing else.

For every record and month the limit kernel does what the engine's hot loop must do at the
very least for one decision: one counter-based uniform (``simcore.rng.uniform``, the same
splitmix64 scheme, same keys) and one table lookup (``stay_table[age, placement]``, the
stay-first check of the monthly ``move`` row); the few records that leave get the
inverse-CDF search (``simcore.kernel.lookup``) in the row of destinations. Records are
the engine's struct of arrays (stream, age, placement); nothing else is read or written.

Its rate (draw-and-lookup operations per second per core) divided by the number of draws the
engine makes per child-month (``benchmarks.draws``) is the floor below which no engine with
that many draws per child-month can go. The engine's *share of the limit* is its
child-months per second over that floor, that is its draws per second over the limit's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

from sendsim.simcore import codes
from sendsim.simcore._jit import jit, jit_parallel
from sendsim.simcore.engine import Calendar, Cohort
from sendsim.simcore.kernel import lookup
from sendsim.simcore.model import ModelArrays
from sendsim.simcore.rng import DEC_MOVE, child_stream, run_key, uniform


@jit
def limit_run(run: int, seed: np.uint64, keys: np.ndarray, age: np.ndarray, placement: np.ndarray,
              stay_table: np.ndarray, move_table: np.ndarray, n_months: int, destinations_out: np.ndarray) -> None:
    """One run of the limit loop: ``n_months`` months of one draw and one stay lookup per record.

    ``destinations_out[q]`` counts the records that drew a move to ``q`` (their placement
    does not change: the limit measures the draws and lookups, not the bookkeeping). The
    counts are the kernel's result, so the compiler cannot drop the loop.
    """
    n = keys.shape[0]
    rkey = run_key(seed, run)
    stream = np.empty(n, dtype=np.uint64)
    for i in range(n):
        stream[i] = child_stream(rkey, keys[i])
    for m in range(1, n_months + 1):
        for i in range(n):
            a = age[i]
            p = placement[i]
            u = uniform(stream[i], m, DEC_MOVE)
            stay = stay_table[a, p]
            if u >= stay:
                destinations_out[lookup(move_table[a, p], u - stay)] += 1


@jit_parallel
def limit_chunk(runs: np.ndarray, seed: np.uint64, keys: np.ndarray, age: np.ndarray, placement: np.ndarray,
                stay_table: np.ndarray, move_table: np.ndarray, n_months: int, destinations_out: np.ndarray) -> None:
    """:func:`limit_run` for each of ``runs`` (in parallel); row j of ``destinations_out`` is run j."""
    for j in prange(runs.shape[0]):
        limit_run(runs[j], seed, keys, age, placement, stay_table, move_table, n_months, destinations_out[j])


@dataclass(frozen=True)
class LimitWorkload:
    """The limit's inputs: the active records of a cohort and the first month's move tables."""

    keys: np.ndarray        # int64 child keys
    age: np.ndarray         # int8 academic age at the start
    placement: np.ndarray   # int8 placement
    stay_table: np.ndarray  # [A, P] probability of staying put
    move_table: np.ndarray  # [A, P, P+1] cumulative over destinations, stay excluded
    n_months: int           # months stepped per run

    @property
    def operations_per_run(self) -> int:
        """Draw-and-lookup operations per run: one per record and month."""
        return int(self.keys.shape[0]) * self.n_months


def limit_workload(cohort: Cohort, model: ModelArrays, calendar: Calendar) -> LimitWorkload:
    """The active records of ``cohort`` (placement set) with the month-1 move tables of parameter
    set 0, stepped for the months the engine steps (all but the opening month)."""
    active = cohort.status == codes.ACTIVE
    ages = np.clip(calendar.academic_age(cohort.birth_month[active]), 0, codes.MAX_AGE).astype(np.int8)
    epoch = int(model.epoch_of_month[min(1, calendar.n_months - 1)])
    return LimitWorkload(keys=np.ascontiguousarray(cohort.child_key[active]), age=ages,
                         placement=np.ascontiguousarray(cohort.placement[active]),
                         stay_table=np.ascontiguousarray(model.move_stay[0, epoch]),
                         move_table=np.ascontiguousarray(model.move_cdf[0, epoch]),
                         n_months=max(calendar.n_months - 1, 1))


@dataclass
class LimitTiming:
    """One timed call of the limit loop."""

    operations: int          # draw-and-lookup operations
    seconds: float           # wall time
    cpu_seconds: float       # CPU time of the process, all threads
    destinations: np.ndarray  # [runs, P+1] moves drawn, by destination


def run_limit(workload: LimitWorkload, runs: np.ndarray, threads: int = 1, seed: int = 1) -> LimitTiming:
    """Run the limit loop for ``runs`` on ``threads`` numba threads and time it."""
    runs = np.asarray(runs, dtype=np.int64)
    destinations = np.zeros((runs.shape[0], codes.N_PLACEMENTS + 1), dtype=np.int64)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        limit_chunk(runs, np.uint64(seed), workload.keys, workload.age, workload.placement, workload.stay_table,
                    workload.move_table, workload.n_months, destinations)
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    finally:
        numba.set_num_threads(previous)
    return LimitTiming(workload.operations_per_run * int(runs.shape[0]), seconds, cpu_seconds, destinations)
