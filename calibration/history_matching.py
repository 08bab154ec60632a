"""History matching in waves, with the engine itself as the simulator.

Why history matching (Craig et al. 1997; Vernon et al. 2010; Andrianakis et al. 2015 for
individual-based health models): the targets come from sources that disagree (series
breaks, conflicting definitions, approximate counts) and the model is known to be imperfect,
so each target carries a tolerance for observation error *and* model discrepancy, and the
question asked of a parameter is "is it implausible?", not "what is its likelihood?". For a
target with observed value ``z``, tolerance ``tol`` (three standard deviations) and a
proposal's replicates with mean ``m`` and variance ``s2``::

    I = |z - m| / sqrt((tol / 3)^2 + s2 / replicates)

A proposal is not implausible when the ``k``-th largest ``I`` over the fitted targets is at
most 3 (Pukelsheim's three-sigma rule; ``k`` > 1 lets a few targets miss, as is usual with
many targets). Each wave samples a Latin hypercube design (:mod:`scipy.stats.qmc`) in the
box that encloses the previous wave's non-implausible points (widened by a margin), so the
waves refocus on the non-implausible region. Within a box the prior (uniform on each
parameter's scale) has constant density, so the non-implausible points of the last wave are
draws from the prior restricted to the non-implausible region: the calibrated draws. This is
rejection ABC with the implausibility as the distance and 3 as the tolerance. Where no
proposal reaches 3 (the model cannot meet every target at once), the cut-off rises to the
quantile that keeps ``min_keep`` of the wave, and the report says which cut-off was reached.

Every proposal is simulated with the same seed and run numbers (common random numbers) and
several replicates; directly observed rates are drawn afresh for each proposal from their
posteriors, so the accepted pairs carry the uncertainty of both kinds of rate.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.stats import qmc

from calibration import space
from calibration.targets import Target

SIGMA_RULE = 3.0  # implausibility cut-off: three standard deviations


@dataclass
class Wave:
    """One wave: its design, simulations and which proposals were kept."""

    index: int
    box_low: np.ndarray
    box_high: np.ndarray
    unit: np.ndarray                 # [n, k] points of the unit cube
    theta: np.ndarray                # [n, k] fitted-parameter values
    phi: dict[str, np.ndarray]       # directly observed rates, id -> [n, ...]
    simulated: np.ndarray            # [n, replicates, targets] (the fitted targets)
    implausibility: np.ndarray       # [n, targets]
    score: np.ndarray                # [n] k-th largest implausibility
    cutoff: float
    accepted: np.ndarray             # [n] bool
    seconds: float


@dataclass
class HistoryMatch:
    """The waves and the final accepted population."""

    targets: list[Target]
    waves: list[Wave] = field(default_factory=list)
    theta: np.ndarray | None = None            # accepted [m, k]
    phi: dict[str, np.ndarray] | None = None   # accepted rates
    simulated: np.ndarray | None = None        # accepted [m, replicates, targets]
    cutoff: float = SIGMA_RULE
    proposals: int = 0
    runs: int = 0


def implausibility(simulated: np.ndarray, targets: list[Target]) -> np.ndarray:
    """Implausibility of each proposal against each target: [n, targets]."""
    replicates = simulated.shape[1]
    mean = simulated.mean(axis=1)
    mc_variance = simulated.var(axis=1, ddof=1) / replicates if replicates > 1 else np.zeros_like(mean)
    observed = np.array([t.value for t in targets])
    sigma = np.array([t.tolerance for t in targets]) / SIGMA_RULE
    return np.abs(observed - mean) / np.sqrt(sigma ** 2 + mc_variance)


def kth_largest(values: np.ndarray, k: int) -> np.ndarray:
    """The k-th largest value of each row."""
    k = min(k, values.shape[1])
    return -np.partition(-values, k - 1, axis=1)[:, k - 1]


def run(evaluate: Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray],
        sample_rates: Callable[[np.random.Generator, int], dict[str, np.ndarray]],
        targets: list[Target], *, proposals_per_wave: int, waves: int, final_accepted: int,
        max_final_proposals: int, seed: int, kth: int = 3, min_keep: float = 0.1, margin: float = 0.1,
        log: Callable[[str], None] = print) -> HistoryMatch:
    """Run the waves and collect the final population.

    Parameters
    ----------
    evaluate
        (theta [n, k], phi) -> simulated fitted targets [n, replicates, targets].
    sample_rates
        (generator, n) -> directly observed rates for n proposals.
    targets
        The fitted targets, in the order ``evaluate`` returns them.
    proposals_per_wave, waves
        Size and number of refocusing waves.
    final_accepted, max_final_proposals
        After the waves, proposals are drawn in the last box until this many are accepted (at
        the last cut-off) or the budget of proposals is spent.
    seed
        Seeds the designs and the rate draws (the simulations' own seed is separate).
    kth
        The k-th largest implausibility decides (1 = all targets).
    min_keep
        Share of a wave kept at least (the cut-off rises above 3 when fewer pass).
    margin
        Widening of the refocused box, as a share of its width on each side.
    """
    rng = np.random.default_rng(seed)
    k = len(space.SPACE)
    low, high = np.zeros(k), np.ones(k)
    result = HistoryMatch(targets)
    for w in range(waves):
        wave = _wave(w, low, high, proposals_per_wave, evaluate, sample_rates, targets, rng, kth, min_keep, None)
        result.waves.append(wave)
        result.proposals += wave.theta.shape[0]
        result.runs += wave.simulated.shape[0] * wave.simulated.shape[1]
        kept = wave.unit[wave.accepted]
        width = kept.max(axis=0) - kept.min(axis=0)
        low = np.clip(kept.min(axis=0) - margin * width, 0.0, 1.0)
        high = np.clip(kept.max(axis=0) + margin * width, 0.0, 1.0)
        log(f"wave {w + 1}: {wave.theta.shape[0]} proposals, {int(wave.accepted.sum())} kept at cut-off "
            f"{wave.cutoff:.2f} (best {wave.score.min():.2f}) in {wave.seconds:.0f} s")
    cutoff = result.waves[-1].cutoff if result.waves else SIGMA_RULE
    # Final population: proposals in the last box, accepted at the last cut-off.
    accepted: list[Wave] = []
    n_accepted = 0
    spent = 0
    batch = proposals_per_wave
    while n_accepted < final_accepted and spent < max_final_proposals:
        size = min(batch, max_final_proposals - spent)
        wave = _wave(len(result.waves), low, high, size, evaluate, sample_rates, targets, rng, kth, 0.0, cutoff)
        result.waves.append(wave)
        result.proposals += wave.theta.shape[0]
        result.runs += wave.simulated.shape[0] * wave.simulated.shape[1]
        spent += size
        accepted.append(wave)
        n_accepted += int(wave.accepted.sum())
        log(f"final sampling: {n_accepted} accepted of {spent} proposals at cut-off {cutoff:.2f}")
    if n_accepted == 0:  # nothing passed in the final box: keep the last waves' accepted
        accepted = [w for w in result.waves if w.accepted.any()]
    result.cutoff = cutoff
    result.theta = np.concatenate([w.theta[w.accepted] for w in accepted])
    result.simulated = np.concatenate([w.simulated[w.accepted] for w in accepted])
    result.phi = {key: np.concatenate([w.phi[key][w.accepted] for w in accepted]) for key in accepted[0].phi}
    return result


def _wave(index: int, low: np.ndarray, high: np.ndarray, n: int, evaluate, sample_rates, targets, rng, kth: int,
          min_keep: float, cutoff: float | None) -> Wave:
    t0 = time.perf_counter()
    design = qmc.LatinHypercube(d=low.shape[0], seed=rng)
    unit = low + design.random(n) * (high - low)
    theta = space.from_unit(unit)
    phi = sample_rates(rng, n)
    simulated = evaluate(theta, phi)
    implaus = implausibility(simulated, targets)
    score = kth_largest(implaus, kth)
    if cutoff is None:
        cutoff = max(SIGMA_RULE, float(np.quantile(score, min_keep))) if min_keep > 0 else SIGMA_RULE
    accepted = score <= cutoff
    return Wave(index, low, high, unit, theta, phi, simulated, implaus, score, cutoff, accepted,
                time.perf_counter() - t0)
