"""Rolling-origin backtest: fit on the data up to an earlier January, forecast the next ones.

For each cutoff January ``C``, the calibration is repeated with only the targets dated up to
``C`` (the hindcast from the origin, with the years from ``C`` on forecast as a modeller at
``C`` would: last known rates, requests on their trend). The accepted draws then forecast
every later January's SEN2 plans by age band and by placement, and each forecast is scored
against what SEN2 later counted:

* coverage: whether the observed value lies in the central 50% and 90% intervals of the
  forecast draws (a calibrated forecast covers 50% and 90% of the time);
* CRPS (continuous ranked probability score, in plans; lower is better): for the forecast
  sample ``X`` and the observation ``y``, ``mean|X - y| - mean|X - X'| / 2``, the
  probabilistic generalisation of the absolute error;
* the absolute error of a naive forecast (the value at the cutoff January, unchanged), for
  scale: a CRPS below it means the model beats persistence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sendsim.calibration.targets import Target


def crps(sample: np.ndarray, observed: float) -> float:
    """CRPS of an ensemble ``sample`` for one observation (the unbiased-in-n sorted formula)."""
    x = np.sort(np.asarray(sample, dtype=float))
    n = x.size
    if n == 0:
        raise ValueError("an empty forecast sample has no CRPS")
    spread = np.sum((2.0 * np.arange(1, n + 1) - n - 1.0) * x) / (n * n)
    return float(np.mean(np.abs(x - observed)) - spread)


def covered(sample: np.ndarray, observed: float, level: float) -> bool:
    """Whether ``observed`` lies in the central ``level`` interval of ``sample``."""
    low, high = np.quantile(sample, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return bool(low <= observed <= high)


@dataclass
class Score:
    """One forecast of one target from one cutoff."""

    cutoff: int
    target: Target
    horizon_years: int
    observed: float
    median: float
    p05: float
    p25: float
    p75: float
    p95: float
    in50: bool
    in90: bool
    crps: float
    naive_error: float


def score(cutoff: int, target: Target, sample: np.ndarray, naive: float) -> Score:
    q = np.quantile(sample, [0.05, 0.25, 0.5, 0.75, 0.95])
    return Score(cutoff, target, target.year - cutoff, target.value, float(q[2]), float(q[0]), float(q[1]),
                 float(q[3]), float(q[4]), covered(sample, target.value, 0.5), covered(sample, target.value, 0.9),
                 crps(sample, target.value), abs(naive - target.value))


def is_forecast_target(target: Target) -> bool:
    """SEN2 January plans by one age band, one placement (or the post-16 group) or in total."""
    return target.measure == "plans" and target.month == 1 and target.id.startswith("sen2_")


def naive_value(targets: list[Target], target: Target, cutoff: int) -> float | None:
    """The same figure at the cutoff January (the persistence forecast), if observed."""
    suffix = target.id.split("_01_", 1)[1] if "_01_" in target.id else None
    for t in targets:
        if suffix and t.year == cutoff and t.month == 1 and t.id.split("_01_", 1)[-1] == suffix:
            return t.value
    return None


def summary(scores: list[Score]) -> dict[str, float]:
    """Coverage and mean CRPS over scores."""
    if not scores:
        return {"forecasts": 0}
    return {"forecasts": len(scores), "coverage50": float(np.mean([s.in50 for s in scores])),
            "coverage90": float(np.mean([s.in90 for s in scores])),
            "mean_crps": float(np.mean([s.crps for s in scores])),
            "mean_naive_error": float(np.mean([s.naive_error for s in scores])),
            "mean_relative_crps": float(np.mean([s.crps / max(s.observed, 1.0) for s in scores]))}
