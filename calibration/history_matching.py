"""History matching in waves, with the engine itself as the simulator.

Why history matching (Craig et al. 1997; Vernon et al. 2010; Andrianakis et al. 2015 for
individual-based health models): the targets come from sources that disagree (series
breaks, conflicting definitions, approximate counts) and the model is known to be imperfect,
so each target carries a tolerance for observation error *and* model discrepancy, and the
question asked of a parameter is "is it implausible?", not "what is its likelihood?". For a
target with observed value ``z``, tolerance ``tol`` (three standard deviations) and a
proposal's replicates with mean ``m`` and variance ``s2``::

    I = |z - m| / sqrt((tol / 3)^2 + s2 / replicates)

Classic history matching rules a proposal out when the largest (or ``k``-th largest) ``I``
exceeds 3 (Pukelsheim's three-sigma rule). Here some targets are missed by every proposal
(structural discrepancy: the engine's age bands against school years, SEN2's age conventions
for early-years plans), so the largest ``I`` is nearly the same for all proposals and cannot
tell them apart. The default distance is therefore the root mean square of ``I`` over the
fitted targets (``distance="rms"``: a proposal within three standard deviations on average
passes at 3); ``distance="kth"`` gives the classic rule. Each wave samples a Latin
hypercube design (:mod:`scipy.stats.qmc`) in the box that encloses the previous
wave's non-implausible points (widened by a margin), so the waves refocus on the
non-implausible region. The population is every proposal, of every
wave, within the last cut-off, weighted by prior / (mixture of the waves' uniform proposal
densities): an importance sample of the prior restricted to the non-implausible region, from
which the calibrated draws are resampled. This is rejection ABC with the implausibility as
the distance and 3 as the tolerance, sampled in refocusing waves. Where no
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
    score: np.ndarray                # [n] distance (root mean square or k-th largest implausibility)
    cutoff: float
    accepted: np.ndarray             # [n] bool
    seconds: float


@dataclass
class HistoryMatch:
    """The waves and the final accepted population."""

    targets: list[Target]
    waves: list[Wave] = field(default_factory=list)
    theta: np.ndarray | None = None            # accepted [m, k]
    weights: np.ndarray | None = None          # accepted proposals' importance weights (sum 1)
    score: np.ndarray | None = None            # accepted proposals' distances
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


DISTANCES = ("rms", "kth")


def distance(implausibilities: np.ndarray, kind: str, kth: int) -> np.ndarray:
    """A proposal's distance from the targets: root mean square or k-th largest implausibility."""
    if kind == "rms":
        return np.sqrt(np.mean(implausibilities ** 2, axis=1))
    if kind == "kth":
        return kth_largest(implausibilities, kth)
    raise ValueError(f"unknown distance {kind!r}; expected one of {', '.join(DISTANCES)}")


def run(evaluate: Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray],
        sample_rates: Callable[[np.random.Generator, int], dict[str, np.ndarray]],
        targets: list[Target], *, proposals_per_wave: int, waves: int, final_accepted: int,
        max_final_proposals: int, seed: int, kind: str = "rms", kth: int = 3, min_keep: float = 0.1,
        margin: float = 0.1, focus: float = 0.0,
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
        After the waves, proposals of all waves within the last cut-off form the population;
        while fewer than ``final_accepted``, more are drawn in the last box (at most
        ``max_final_proposals``).
    seed
        Seeds the designs and the rate draws (the simulations' own seed is separate).
    kind, kth
        Distance: ``rms`` (root mean square implausibility) or ``kth`` (the k-th largest).
    min_keep
        Share of a wave kept at least (the cut-off rises above 3 when fewer pass).
    margin, focus
        The next box spans the ``focus`` to ``1 - focus`` quantiles of the kept points on each
        parameter (default: all of them), widened by ``margin`` of that width on each side.
        Points outside it stay possible: the first wave covers the whole prior and the
        population is weighted by the mixture of all the waves' proposal densities. A box cut
        inside the kept points (``focus`` > 0) gives the points left outside large weights
        (a small effective sample), so the default keeps them all.
    """
    rng = np.random.default_rng(seed)
    k = len(space.SPACE)
    low, high = np.zeros(k), np.ones(k)
    result = HistoryMatch(targets)
    for w in range(waves):
        wave = _wave(w, low, high, proposals_per_wave, evaluate, sample_rates, targets, rng, kind, kth, min_keep, None)
        result.waves.append(wave)
        result.proposals += wave.theta.shape[0]
        result.runs += wave.simulated.shape[0] * wave.simulated.shape[1]
        kept = wave.unit[wave.accepted]
        inner_low, inner_high = np.quantile(kept, [focus, 1.0 - focus], axis=0)
        width = inner_high - inner_low
        low = np.clip(inner_low - margin * width, 0.0, 1.0)
        high = np.clip(inner_high + margin * width, 0.0, 1.0)
        log(f"wave {w + 1}: {wave.theta.shape[0]} proposals, {int(wave.accepted.sum())} kept at cut-off "
            f"{wave.cutoff:.2f} (best {wave.score.min():.2f}) in {wave.seconds:.0f} s")
    cutoff = result.waves[-1].cutoff
    # Final population: every proposal of every wave within the last cut-off, weighted by the
    # prior over the mixture of the waves' proposal densities (each wave uniform on its box),
    # so that points from the wide early boxes do not count as much as those of the narrow
    # later ones. More proposals in the last box are drawn while too few are accepted.
    spent = 0
    while _pooled_count(result.waves, cutoff) < final_accepted and spent < max_final_proposals:
        size = min(proposals_per_wave, max_final_proposals - spent)
        wave = _wave(len(result.waves), low, high, size, evaluate, sample_rates, targets, rng, kind, kth, 0.0,
                     cutoff)
        result.waves.append(wave)
        result.proposals += wave.theta.shape[0]
        result.runs += wave.simulated.shape[0] * wave.simulated.shape[1]
        spent += size
        log(f"more proposals in the last box: {_pooled_count(result.waves, cutoff)} within cut-off {cutoff:.2f}")
    result.cutoff = cutoff
    unit = np.concatenate([w.unit for w in result.waves])
    score = np.concatenate([w.score for w in result.waves])
    keep = score <= cutoff
    density = np.zeros(unit.shape[0])
    total = sum(w.unit.shape[0] for w in result.waves)
    for w in result.waves:
        inside = np.all((unit >= w.box_low - 1e-12) & (unit <= w.box_high + 1e-12), axis=1)
        volume = float(np.prod(np.maximum(w.box_high - w.box_low, 1e-300)))
        density += inside * (w.unit.shape[0] / total) / volume
    result.weights = (1.0 / density[keep]) / np.sum(1.0 / density[keep])
    result.theta = np.concatenate([w.theta for w in result.waves])[keep]
    result.simulated = np.concatenate([w.simulated for w in result.waves])[keep]
    result.phi = {key: np.concatenate([w.phi[key] for w in result.waves])[keep] for key in result.waves[0].phi}
    result.score = score[keep]
    return result


def _pooled_count(waves: list[Wave], cutoff: float) -> int:
    return int(sum((w.score <= cutoff).sum() for w in waves))


def _wave(index: int, low: np.ndarray, high: np.ndarray, n: int, evaluate, sample_rates, targets, rng, kind: str,
          kth: int, min_keep: float, cutoff: float | None) -> Wave:
    t0 = time.perf_counter()
    design = qmc.LatinHypercube(d=low.shape[0], seed=rng)
    unit = low + design.random(n) * (high - low)
    theta = space.from_unit(unit)
    phi = sample_rates(rng, n)
    simulated = evaluate(theta, phi)
    implaus = implausibility(simulated, targets)
    score = distance(implaus, kind, kth)
    if cutoff is None:
        cutoff = max(SIGMA_RULE, float(np.quantile(score, min_keep))) if min_keep > 0 else SIGMA_RULE
    accepted = score <= cutoff
    return Wave(index, low, high, unit, theta, phi, simulated, implaus, score, cutoff, accepted,
                time.perf_counter() - t0)
