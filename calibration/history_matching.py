"""Fitting the rates seen only through stocks: ABC population Monte Carlo with the
history-matching implausibility as the distance, and the engine itself as the simulator.

Why an implausibility distance (history matching: Craig et al. 1997; Vernon et al. 2010;
Andrianakis et al. 2015 for individual-based health models): the targets come from sources
that disagree (series breaks, conflicting definitions, approximate counts) and the model is
known to be imperfect, so each target carries a tolerance for observation error *and* model
discrepancy. For a target with observed value ``z``, tolerance ``tol`` (three standard
deviations) and a proposal's replicates with mean ``m`` and variance ``s2``::

    I = |z - m| / sqrt((tol / 3)^2 + s2 / replicates)

Classic history matching rules a proposal out when the largest (or ``k``-th largest) ``I``
exceeds 3 (Pukelsheim's three-sigma rule). Here some targets are missed by every proposal
(structural discrepancy: the engine's age bands against school years, SEN2's age conventions
for early-years plans), so the largest ``I`` is nearly the same for all proposals and cannot
tell them apart. The default distance is therefore the root mean square of ``I`` over the
fitted targets (``kind="rms"``; a proposal within three standard deviations on average passes
at 3), each target counted with its ``weight`` from the targets file (1 unless set);
``kind="kth"`` gives the classic rule.

Why population Monte Carlo (ABC-PMC, Beaumont et al. 2009; the sequential form of ABC-SMC),
in its adaptive form (APMC, Lenormand, Jabot and Deffuant 2013, designed for individual-based
models): the first wave is a Latin hypercube over the whole prior (uniform on each
parameter's scale, :mod:`scipy.stats.qmc`); after each wave the cut-off is the 3 of the
three-sigma rule or, when fewer pass, the distance of the ``population``-th best proposal of
all waves so far, so it can only fall; the next wave perturbs all the proposals within it with
Gaussian kernels (per parameter, twice their weighted variance, truncated to the prior's
range). The earlier rule (each wave kept the best fifth of its own proposals, never above the
previous cut-off) stalled: once a wave's perturbed points were no better than their parents
the cut-off stopped falling, at about 5.6 for the Kent fit while its best proposals scored 3.6.
Refocusing boxes (classic history-matching waves without an emulator) were tried first and
barely concentrated in fourteen dimensions.

The population is every proposal, of every wave, within the last cut-off, weighted by prior /
(mixture of the waves' proposal densities, each known exactly: uniform, or a mixture of
truncated Gaussians); the calibrated draws are resampled from it. Every proposal is simulated
with the same seed and run numbers (common random numbers) and several replicates; directly
observed rates are drawn afresh for each proposal from their posteriors, so the accepted pairs
carry the uncertainty of both kinds of rate.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sendsim.calibration import space
from sendsim.calibration.targets import Target

SIGMA_RULE = 3.0  # implausibility cut-off: three standard deviations
# Kernels narrower than this (on the unit scale) would stop a parameter moving at all.
MIN_KERNEL_SD = 0.01
# Kernel variance per parameter, as a multiple of the kept proposals' weighted variance
# (Beaumont et al. 2009: twice). Once was tried: the cut-off fell faster, but the importance
# weights collapsed (Kent fit: effective sample size 11 of 200; toy model 39-49 against 69-103),
# because most fitted rates are barely identified and narrow kernels under-cover them.
KERNEL_VARIANCE_FACTOR = 2.0
# A truncated kernel redraws proposals outside the prior's range at most this many times.
MAX_REDRAWS = 1000


class UniformCube:
    """The prior on the unit cube, sampled by a Latin hypercube design."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        from scipy.stats import (
            qmc,  # imported here: scipy.stats costs ~1 s, and every sendsim command imports this module
        )
        return qmc.LatinHypercube(d=self.dimensions, seed=rng).random(n)

    def density(self, unit: np.ndarray) -> np.ndarray:
        return np.ones(unit.shape[0])


class KernelMixture:
    """A mixture of Gaussian kernels (independent across parameters) around weighted centres,
    each truncated to the unit cube: a component is chosen by weight, then each coordinate of
    its perturbation is redrawn until inside."""

    def __init__(self, centres: np.ndarray, weights: np.ndarray, sigma: np.ndarray) -> None:
        self.centres = centres
        self.weights = weights / weights.sum()
        self.sigma = sigma
        from scipy.special import ndtr
        inside = ndtr((1.0 - centres) / sigma) - ndtr((0.0 - centres) / sigma)   # [M, k]
        self.log_mass = np.log(np.maximum(inside, 1e-300)).sum(axis=1)            # [M]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        component = rng.choice(self.centres.shape[0], size=n, p=self.weights)
        out = self.centres[component] + rng.normal(size=(n, self.centres.shape[1])) * self.sigma
        # The kernel is a product over parameters, so truncating it to the cube is truncating each
        # coordinate: a coordinate outside [0, 1] is redrawn on its own.
        for _ in range(MAX_REDRAWS):
            rows, columns = np.nonzero((out < 0.0) | (out > 1.0))
            if rows.size == 0:
                return out
            out[rows, columns] = (self.centres[component[rows], columns]
                                  + rng.normal(size=rows.size) * self.sigma[columns])
        raise RuntimeError("could not draw a proposal inside the prior's range")

    def density(self, unit: np.ndarray) -> np.ndarray:
        z = (unit[:, None, :] - self.centres[None, :, :]) / self.sigma          # [N, M, k]
        log_kernel = -0.5 * np.sum(z * z, axis=2) - np.sum(np.log(self.sigma)) - 0.5 * z.shape[2] * np.log(2 * np.pi)
        return np.sum(self.weights[None, :] * np.exp(log_kernel - self.log_mass[None, :]), axis=1)


@dataclass
class Wave:
    """One wave: its proposal distribution, simulations and which proposals were kept."""

    index: int
    proposal: UniformCube | KernelMixture
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


def distance(implausibilities: np.ndarray, kind: str, kth: int, weights: np.ndarray | None = None) -> np.ndarray:
    """A proposal's distance from the targets: root mean square (weighted by the targets'
    ``weights``, 1 each by default) or k-th largest implausibility (weights not used)."""
    if kind == "rms":
        w = np.ones(implausibilities.shape[1]) if weights is None else np.asarray(weights, dtype=float)
        return np.sqrt(implausibilities ** 2 @ w / w.sum())
    if kind == "kth":
        return kth_largest(implausibilities, kth)
    raise ValueError(f"unknown distance {kind!r}; expected one of {', '.join(DISTANCES)}")


def run(evaluate: Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray],
        sample_rates: Callable[[np.random.Generator, int], dict[str, np.ndarray]],
        targets: list[Target], *, proposals_per_wave: int, waves: int, final_accepted: int,
        max_final_proposals: int, seed: int, kind: str = "rms", kth: int = 3, population: int | None = None,
        log: Callable[[str], None] = print) -> HistoryMatch:
    """Run the waves and collect the weighted population.

    Parameters
    ----------
    evaluate
        (theta [n, k], phi) -> simulated fitted targets [n, replicates, targets].
    sample_rates
        (generator, n) -> directly observed rates for n proposals.
    targets
        The fitted targets, in the order ``evaluate`` returns them.
    proposals_per_wave, waves
        Size and number of waves (the first over the whole prior).
    final_accepted, max_final_proposals
        The population is every proposal within the last cut-off; while fewer than
        ``final_accepted``, more are drawn from the last wave's proposal (at most
        ``max_final_proposals``).
    seed
        Seeds the designs, the kernels and the rate draws (the simulations' seed is separate).
    kind, kth
        Distance: ``rms`` (root mean square implausibility) or ``kth`` (the k-th largest).
    population
        After each wave the cut-off is 3, or, when fewer pass, the distance of the
        ``population``-th best proposal of all waves so far (default ``final_accepted``); the
        next wave perturbs all the proposals within it, weighted.
    """
    rng = np.random.default_rng(seed)
    k = len(space.SPACE)
    proposal: UniformCube | KernelMixture = UniformCube(k)
    result = HistoryMatch(targets)
    cutoff = np.inf
    population = final_accepted if population is None else population
    for w in range(waves):
        wave = _wave(w, proposal, proposals_per_wave, evaluate, sample_rates, targets, rng, kind, kth)
        _add(result, wave)
        cutoff = _population_cutoff(result.waves, population)
        for previous in result.waves:
            previous.accepted = previous.score <= cutoff
        wave.cutoff = cutoff
        log(f"wave {w + 1}: {wave.theta.shape[0]} proposals, {int(wave.accepted.sum())} kept at cut-off "
            f"{wave.cutoff:.2f} (best {wave.score.min():.2f}) in {wave.seconds:.0f} s")
        proposal = _pooled_proposal(result.waves, cutoff)
    spent = 0
    while _pooled_count(result.waves, cutoff) < final_accepted and spent < max_final_proposals:
        size = min(proposals_per_wave, max_final_proposals - spent)
        wave = _wave(len(result.waves), proposal, size, evaluate, sample_rates, targets, rng, kind, kth)
        wave.cutoff = cutoff
        wave.accepted = wave.score <= cutoff
        _add(result, wave)
        spent += size
        log(f"more proposals: {_pooled_count(result.waves, cutoff)} within cut-off {cutoff:.2f}")
    result.cutoff = cutoff
    unit = np.concatenate([w.unit for w in result.waves])
    score = np.concatenate([w.score for w in result.waves])
    keep = score <= cutoff
    result.weights = _importance_weights(result.waves, unit[keep])
    result.theta = np.concatenate([w.theta for w in result.waves])[keep]
    result.simulated = np.concatenate([w.simulated for w in result.waves])[keep]
    result.phi = {key: np.concatenate([w.phi[key] for w in result.waves])[keep] for key in result.waves[0].phi}
    result.score = score[keep]
    return result


def _add(result: HistoryMatch, wave: Wave) -> None:
    result.waves.append(wave)
    result.proposals += wave.theta.shape[0]
    result.runs += wave.simulated.shape[0] * wave.simulated.shape[1]


def _population_cutoff(waves: list[Wave], population: int) -> float:
    """3, or the distance of the ``population``-th best proposal of all waves so far if fewer
    than ``population`` are within 3 (it can only fall: Lenormand et al. 2013)."""
    scores = np.sort(np.concatenate([w.score for w in waves]))
    return float(max(SIGMA_RULE, scores[min(population, scores.size) - 1]))


def _importance_weights(waves: list[Wave], points: np.ndarray) -> np.ndarray:
    """Weights (sum 1) of points drawn from the waves' proposals, for the prior (uniform on the
    cube): 1 / the mixture of the waves' proposal densities, each in proportion to its size."""
    total = sum(w.unit.shape[0] for w in waves)
    density = sum((w.unit.shape[0] / total) * w.proposal.density(points) for w in waves)
    return (1.0 / density) / np.sum(1.0 / density)


def _pooled_proposal(waves: list[Wave], cutoff: float) -> KernelMixture:
    """Kernels around every proposal of every wave within the cut-off, weighted by prior /
    (mixture of the waves' proposal densities), with per-parameter variance
    KERNEL_VARIANCE_FACTOR times their weighted variance."""
    unit = np.concatenate([w.unit for w in waves])
    centres = unit[np.concatenate([w.score for w in waves]) <= cutoff]
    weights = _importance_weights(waves, centres)
    mean = weights @ centres
    variance = weights @ (centres - mean) ** 2
    return KernelMixture(centres, weights, np.sqrt(np.maximum(KERNEL_VARIANCE_FACTOR * variance,
                                                                  MIN_KERNEL_SD ** 2)))


def _pooled_count(waves: list[Wave], cutoff: float) -> int:
    return int(sum((w.score <= cutoff).sum() for w in waves))


def _wave(index: int, proposal, n: int, evaluate, sample_rates, targets, rng, kind: str, kth: int) -> Wave:
    """Simulate ``n`` proposals and score them (the caller sets the cut-off and what is kept)."""
    t0 = time.perf_counter()
    unit = proposal.sample(rng, n)
    theta = space.from_unit(unit)
    phi = sample_rates(rng, n)
    simulated = evaluate(theta, phi)
    implaus = implausibility(simulated, targets)
    score = distance(implaus, kind, kth, np.array([t.weight for t in targets]))
    return Wave(index, proposal, unit, theta, phi, simulated, implaus, score, np.inf, np.zeros(n, dtype=bool),
                time.perf_counter() - t0)
