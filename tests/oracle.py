"""An independent oracle for the Markov part of the model: counts, not children.

The engine follows every child; this module follows only how many children are in each state
and moves them with multinomial draws on those counts (numpy's ``Generator``), written from
the monthly rules as documented (``simcore/kernel.py`` module docstring, README), not from the
kernel's code. With places unlimited (capacity off) and no assessment pipeline, the model is a
Markov chain on the state (academic age, need, placement, months since review), plus Poisson
arrivals; both implementations must then give the same distribution of stocks.

A month ``m >= 1`` (after the opening month):

1. September: every plan's age goes up by one; a plan reaching 25 ends; at ages 4, 11, 16
   and 19 the placement is drawn afresh from ``phase_transfer[transfer, need, placement]``.
2. Between reviews: each plan draws its destination from ``move[age, placement]`` (a
   placement, or "moved away": the plan ends). Then months since review go up by one; a plan
   at 12 or more is due. Plans now independent draw a step-down with ``step_down``.
3. Reviews (no review capacity limit): every due plan is reviewed (months since review back
   to 0): it ends with ``review_cease[age] x review_cease_ratio[age, placement]`` (at most
   1); otherwise it changes placement with ``review_change[age]``, to a placement from
   ``review_move[age, placement]``.
4. Places: plans that drew a step-down and are still independent move to special.
5. Arrivals: ``Poisson(arrival_rate[age])`` plans per age, with need from
   ``arrival_need_share[age]``, placement from ``arrival_placement[age]`` and months since
   review uniform on 0..11.

The state holds months since review up to :data:`DUE` ("12 or more"); a batch of runs is
simulated at once (a leading run axis), so the cost is that of the draws, about 12 months x
6,000 occupied cells per run.
"""
from __future__ import annotations

import numpy as np

from sendsim.simcore import codes

# The rules' constants are taken from the documentation (README, kernel docstring), not from
# simcore.codes, so that a wrong table of codes in the engine would show as a difference.
DUE = 12  # months since review at which a plan is due (the state's last value means "12 or more")
N_MSR = DUE + 1
SEPTEMBER = 9
TRANSFER_AGES = {4: 0, 11: 1, 16: 2, 19: 3}  # academic age -> index of the phase transfer into it
MAX_AGE = 25
AGE_BAND_EDGES = (0, 5, 11, 16, 20, 26)  # under 5, 5-10, 11-15, 16-19, 20-25


def _split(rng: np.random.Generator, counts: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Multinomial split of every count over the last axis of ``probabilities``, which has one
    axis more than ``counts`` (size 1 where it does not vary). Returns the counts with that
    extra axis: how many of each cell went to each destination. Only non-zero cells are drawn.

    Drawn as a binomial for the likeliest destination, then a multinomial of the others for
    the cells where some are left: the same distribution, a few times faster when most stay.
    """
    out = np.zeros(counts.shape + probabilities.shape[-1:], dtype=np.int64)
    cells = np.nonzero(counts)
    if cells[0].size == 0:
        return out
    where = tuple(i if probabilities.shape[d] > 1 else np.zeros_like(i) for d, i in enumerate(cells))
    p = probabilities[where]
    p = p / p.sum(axis=1, keepdims=True)
    n = counts[cells]
    rows = np.arange(n.size)
    top = np.argmax(p, axis=1)
    draws = np.zeros_like(p, dtype=np.int64)
    draws[rows, top] = rng.binomial(n, np.clip(p[rows, top], 0.0, 1.0))
    left = n - draws[rows, top]
    busy = left > 0
    if busy.any():
        others = p[busy]
        others[np.arange(others.shape[0]), top[busy]] = 0.0
        draws[busy] += rng.multinomial(left[busy], others / others.sum(axis=1, keepdims=True))
    out[cells] = draws
    return out


class CountOracle:
    """The chain on counts ``[age, need, placement, months since review]``.

    Parameters
    ----------
    values
        Dense parameter values (as ``tests/builders.py`` makes them): ``move``,
        ``phase_transfer``, ``review_cease``, ``review_cease_ratio`` (optional, 1 if absent),
        ``review_change``, ``review_move``, ``step_down``, ``arrival_rate``,
        ``arrival_placement``, ``arrival_need_share``.
    ages, needs, placements, months_since_review
        The opening plans, one entry per child.
    start_month
        Calendar month (1..12) of the opening month.

    Only the needs that occur (in the cohort or among arrivals) are kept on the need axis: the
    rules never turn one need into another.
    """

    def __init__(self, values: dict, ages: np.ndarray, needs: np.ndarray, placements: np.ndarray,
                 months_since_review: np.ndarray, start_month: int) -> None:
        P = codes.N_PLACEMENTS
        need_share = np.asarray(values["arrival_need_share"], dtype=float)       # [A, N]
        rates = np.asarray(values["arrival_rate"], dtype=float)                  # [A]
        used = np.union1d(np.unique(needs), np.flatnonzero((need_share[rates > 0] > 0).any(axis=0)))
        compact = np.full(codes.N_NEEDS, -1)
        compact[used] = np.arange(used.size)
        self.move = np.asarray(values["move"], dtype=float)                      # [A, P, P+1]
        self.phase = np.asarray(values["phase_transfer"], dtype=float)[:, used]  # [T, K, P, P]
        ratio = np.broadcast_to(np.asarray(values.get("review_cease_ratio", 1.0), dtype=float), (codes.N_AGES, P))
        cease = np.minimum(np.asarray(values["review_cease"], dtype=float)[:, None] * ratio, 1.0)  # [A, P]
        change = np.asarray(values["review_change"], dtype=float)[:, None]       # [A, 1]
        review_move = np.asarray(values["review_move"], dtype=float)             # [A, P, P]
        self.step_down = float(values["step_down"])
        self.arrival_rate = rates
        # A review's outcome over P + 1 destinations: a placement (the same one: kept) or ended.
        keep_or_move = ((1 - cease) * change)[:, :, None] * review_move
        keep_or_move[:, np.arange(P), np.arange(P)] += (1 - cease) * (1 - change)
        self.review = np.concatenate([keep_or_move, cease[:, :, None]], axis=2)  # [A, P, P+1]
        place_share = np.asarray(values["arrival_placement"], dtype=float)       # [A, P]
        msr_share = np.zeros(N_MSR)
        msr_share[:DUE] = 1.0 / DUE
        # Need, placement and months since review of an arrival are independent draws.
        self.arrival_cells = (need_share[:, used, None, None] * place_share[:, None, :, None]
                              * msr_share[None, None, None, :])                  # [A, K, P, M]
        self.opening = np.zeros((codes.N_AGES, used.size, P, N_MSR), dtype=np.int64)
        np.add.at(self.opening, (ages, compact[needs], placements, np.minimum(months_since_review, DUE)), 1)
        self.start_month = start_month

    def simulate(self, rng: np.random.Generator, runs: int, months: int, batch: int = 40) -> np.ndarray:
        """Stocks ``[run, month, age, placement]`` of ``runs`` independent runs (simulated
        ``batch`` runs at a time, a leading run axis on the state)."""
        out = np.zeros((runs, months, codes.N_AGES, codes.N_PLACEMENTS), dtype=np.int64)
        for first in range(0, runs, batch):
            size = min(batch, runs - first)
            state = np.broadcast_to(self.opening, (size,) + self.opening.shape).copy()
            out[first:first + size, 0] = state.sum(axis=(2, 4))
            for m in range(1, months):
                if (self.start_month - 1 + m) % 12 + 1 == SEPTEMBER:
                    state = self._september(rng, state)
                state = self._month(rng, state)
                out[first:first + size, m] = state.sum(axis=(2, 4))
        return out

    def _september(self, rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
        """State ``[run, age, need, placement, msr]``: ages up, the age limit, phase transfers."""
        aged = np.zeros_like(state)
        aged[:, 1:MAX_AGE] = state[:, 0:MAX_AGE - 1]  # 24 -> 25 and 25 -> 26: the plan ends
        for age, transfer in TRANSFER_AGES.items():
            # [run, need, placement, msr] -> destination placement
            moved = _split(rng, aged[:, age], self.phase[transfer][None, :, :, None, :])
            aged[:, age] = moved.sum(axis=2).transpose(0, 1, 3, 2)
        return aged

    def _month(self, rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
        """Steps 2 to 5 on the state ``[run, age, need, placement, msr]``."""
        P = codes.N_PLACEMENTS
        IND, SPECIAL = codes.INDEPENDENT, codes.SPECIAL
        # 2. Moves between reviews -> destination (last: moved away, the plan ends).
        moved = _split(rng, state, self.move[None, :, None, :, None, :])
        state = moved[..., :P].sum(axis=3).transpose(0, 1, 2, 4, 3)
        # The review clock: everyone one month further; "12 or more" stays.
        clock = np.zeros_like(state)
        clock[..., 1:] = state[..., :-1]
        clock[..., DUE] += state[..., DUE]
        state = clock
        # Step-down draws for the plans now independent.
        flagged = np.zeros_like(state)
        flagged[..., IND, :] = rng.binomial(state[..., IND, :], self.step_down)
        state[..., IND, :] -= flagged[..., IND, :]
        # 3. Reviews of the due plans: [run, age, need, placement] -> outcome (last: the plan ends).
        for part in (state, flagged):
            outcome = _split(rng, part[..., DUE], self.review[None, :, None, :, :])
            part[..., DUE] = 0
            part[..., 0] += outcome[..., :P].sum(axis=3)
        # 4. Step-downs still independent take a special place; the others stay where they are.
        state[..., SPECIAL, :] += flagged[..., IND, :]
        flagged[..., IND, :] = 0
        state += flagged
        # 5. Arrivals.
        runs = state.shape[0]
        for age in np.flatnonzero(self.arrival_rate > 0):
            arrivals = rng.poisson(self.arrival_rate[age], size=runs)
            cells = self.arrival_cells[age]
            state[:, age] += rng.multinomial(arrivals, cells.reshape(-1) / cells.sum()).reshape((runs,) + cells.shape)
        return state


def age_bands(stock_by_age: np.ndarray) -> np.ndarray:
    """Sum the age axis (second to last) into the five SEN2 age bands."""
    return np.stack([stock_by_age[..., lo:hi, :].sum(axis=-2) for lo, hi in zip(AGE_BAND_EDGES[:-1],
                                                                                 AGE_BAND_EDGES[1:])], axis=-2)
