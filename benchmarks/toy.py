"""The toy yardstick: a plain one-draw, 8-state Markov step in numba.

What a modeller writes first for a microsimulation of this size: every child has a state
(one of 8), and every month each child draws one uniform and takes its next state from its
row of an 8 x 8 transition matrix (inverse CDF, a linear search over the cumulative row);
the month's count of children in each state is the output. It draws with the engine's own
counter-based generator (``simcore.rng``: same scheme, same keys), one decision per
child-month, on one thread, over as many children and months as the Kent baseline.

It is the yardstick for the whole run: the default Kent baseline, 1,000 runs with
every table written, end to end, should reach at least 0.85 of the toy's child-months per
second (``benchmarks.gate`` measures both in the same run). The toy does none of what the
engine does besides the step (no ages, no pipeline, no capacity, no outputs), so the ratio
says what all of that costs, written tables included, against one bare step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np

from sendsim.simcore._jit import jit
from sendsim.simcore.rng import DEC_MOVE, child_stream, run_key, uniform

N_STATES = 8
STAY = 0.97  # monthly probability of keeping one's state (the rest spread evenly)


@jit
def toy_run(run: int, seed: np.uint64, keys: np.ndarray, state: np.ndarray, cdf: np.ndarray, n_months: int,
            counts_out: np.ndarray) -> None:
    """One run: ``n_months`` monthly steps of every child (``state`` is updated in place);
    ``counts_out[m, s]`` is the number of children in state ``s`` after month ``m + 1``."""
    n = keys.shape[0]
    n_states = cdf.shape[0]
    rkey = run_key(seed, run)
    stream = np.empty(n, dtype=np.uint64)
    for i in range(n):
        stream[i] = child_stream(rkey, keys[i])
    for m in range(1, n_months + 1):
        for i in range(n):
            u = uniform(stream[i], m, DEC_MOVE)
            row = cdf[state[i]]
            s = 0
            while s < n_states - 1 and u >= row[s]:
                s += 1
            state[i] = s
            counts_out[m - 1, s] += 1


def transition_cdf(stay: float = STAY, n_states: int = N_STATES) -> np.ndarray:
    """[S, S] cumulative rows of a sticky transition matrix."""
    matrix = np.full((n_states, n_states), (1.0 - stay) / (n_states - 1))
    np.fill_diagonal(matrix, stay)
    cdf = np.cumsum(matrix, axis=1)
    cdf[:, -1] = 1.0
    return cdf


@dataclass(frozen=True)
class ToyWorkload:
    keys: np.ndarray   # int64 child keys
    start: np.ndarray  # int8 opening state
    n_months: int      # months stepped per run

    @property
    def child_months_per_run(self) -> int:
        return int(self.keys.shape[0]) * self.n_months


def toy_workload(children: int, n_months: int, seed: int = 1) -> ToyWorkload:
    """``children`` children in random opening states, stepped ``n_months`` months a run."""
    rng = np.random.default_rng(seed)
    return ToyWorkload(np.arange(children, dtype=np.int64), rng.integers(0, N_STATES, children).astype(np.int8),
                       n_months)


@dataclass
class ToyTiming:
    child_months: int
    seconds: float      # wall time
    cpu_seconds: float  # CPU time of the process
    counts: np.ndarray  # [runs, months, states]


def run_toy(workload: ToyWorkload, runs: np.ndarray, seed: int = 1) -> ToyTiming:
    """Run the toy for ``runs`` one after the other on one thread and time it."""
    runs = np.asarray(runs, dtype=np.int64)
    cdf = transition_cdf()
    counts = np.zeros((runs.size, workload.n_months, N_STATES), dtype=np.int64)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        for j, run in enumerate(runs):
            state = workload.start.copy()
            toy_run(int(run), np.uint64(seed), workload.keys, state, cdf, workload.n_months, counts[j])
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    finally:
        numba.set_num_threads(previous)
    return ToyTiming(workload.child_months_per_run * int(runs.size), seconds, cpu_seconds, counts)
