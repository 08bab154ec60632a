"""Simulate proposals with the engine and compute every target in every replicate.

All proposals of a batch run with the same master seed and the same run numbers ``0 ..
replicates - 1``: replicate ``j`` of every proposal draws the same random numbers for the same
child and decision (common random numbers), so proposals differ by their parameters, not by
noise (capacity aside, which makes children compete).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from sendsim.calibration.model import CalibrationModel, phi_row, theta_dict
from sendsim.calibration.targets import Target, evaluate, needs_flows, within
from sendsim.simcore.engine import Calendar, Cohort, simulate
from sendsim.simcore.model import ParameterSet, compile_model

# Proposals compiled and simulated together (memory: flows are about 0.9 MB per run-year).
PROPOSALS_PER_BATCH = 32


@dataclass
class Segment:
    """One simulation segment: a cohort, a calendar, how a proposal's parameter set is made,
    and the targets it computes."""

    name: str
    cohort: Cohort
    calendar: Calendar
    parameter_set: Callable[[dict, dict], ParameterSet]
    targets: list[Target]


def segments_for(model: CalibrationModel, forecast_cohort: Cohort, hindcast_cohort: Cohort | None,
                 targets: list[Target]) -> list[Segment]:
    """Split targets between the hindcast (dated up to the cohort month) and the forecast (after)."""
    out = []
    cohort_month = model.forecast.start_index
    if model.hindcast is not None and hindcast_cohort is not None:
        hindcast_targets = [t for t in within(targets, model.hindcast) if t.month_index <= cohort_month]
        if hindcast_targets:
            out.append(Segment("hindcast", hindcast_cohort, model.hindcast, model.hindcast_set, hindcast_targets))
    forecast_targets = [t for t in within(targets, model.forecast) if t.month_index > cohort_month]
    if forecast_targets:
        out.append(Segment("forecast", forecast_cohort, model.forecast, model.forecast_set, forecast_targets))
    return out


def simulate_targets(segment: Segment, theta: np.ndarray, phi: dict[str, np.ndarray], *, seed: int,
                     replicates: int, threads: int | None = None, distinct_runs: bool = False,
                     on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Simulated target values [proposals, replicates, targets] of one segment.

    Parameters
    ----------
    theta
        Fitted-parameter values [proposals, k].
    phi
        Directly observed rates, id -> [proposals, ...].
    seed, replicates
        Master seed, and runs per proposal (run numbers 0 .. replicates - 1 for every proposal).
    distinct_runs
        Give proposal ``d`` the run numbers ``d * replicates + j`` instead (no common random
        numbers: for predictive distributions that include Monte Carlo noise).
    """
    n = theta.shape[0]
    out = np.empty((n, replicates, len(segment.targets)))
    flows = needs_flows(segment.targets)
    for start in range(0, n, PROPOSALS_PER_BATCH):
        stop = min(n, start + PROPOSALS_PER_BATCH)
        sets = [segment.parameter_set(theta_dict(theta[d]), phi_row(phi, d)) for d in range(start, stop)]
        model = compile_model(sets, segment.calendar.n_months, segment.calendar.start_calendar_month)
        k = stop - start
        runs = np.tile(np.arange(replicates, dtype=np.int64), k)
        if distinct_runs:
            runs = runs + np.repeat(np.arange(start, stop, dtype=np.int64), replicates) * replicates
        set_of_run = np.repeat(np.arange(k, dtype=np.int64), replicates)
        values = []
        for chunk in simulate(segment.cohort, model, segment.calendar, seed=seed, runs=runs,
                              parameter_set_of_run=set_of_run, chunk_size=runs.size, threads=threads,
                              record_flows=flows):
            values.append(evaluate(segment.targets, segment.calendar, chunk.stock, chunk.measures,
                                   chunk.flows if flows else None))
        out[start:stop] = np.concatenate(values).reshape(k, replicates, len(segment.targets))
        if on_batch is not None:
            on_batch(stop, n)
    return out


def fitted_only(segments: list[Segment]) -> list[Segment]:
    """The segments restricted to their fitted targets (those with role ``fit``)."""
    out = []
    for segment in segments:
        fit = [t for t in segment.targets if t.role == "fit"]
        if fit:
            out.append(replace(segment, targets=fit))
    return out


def evaluator(segments: list[Segment], *, seed: int, replicates: int, threads: int | None = None,
              distinct_runs: bool = False) -> Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray]:
    """(theta, phi) -> every segment's targets side by side [proposals, replicates, targets]."""
    def run(theta: np.ndarray, phi: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([simulate_targets(s, theta, phi, seed=seed, replicates=replicates, threads=threads,
                                                distinct_runs=distinct_runs) for s in segments], axis=2)
    return run
