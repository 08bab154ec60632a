"""The opening cohort of an earlier January, for hindcasts that end at an authority's census.

SEN2 gives every authority's plans by placement for every January from 2019, but the single-age
by placement cross-tab only for the census (January 2024); the 2022 release adds age bands up
to January 2022 for Kent. The cohort of an earlier January takes the census cross-tab as the
shape and rakes it (iterative proportional fitting) to that January's age-band and placement
totals: the result is the table closest to the census's shape (in the Kullback-Leibler sense)
with those margins. Without age bands for that January (any authority but Kent) the shape is
raked to the placement totals alone: each placement keeps the census's age profile. Whole
numbers are taken placement by placement (largest remainder), so the placement totals are exact
and the band totals within a few plans. Records are then built by the same code as the census
cohort (:func:`sendsim.inputs.derive.build_cohort`).
"""
from __future__ import annotations

import numpy as np

from sendsim.calibration.authority_targets import band_history, placement_history
from sendsim.inputs.derivation import Derivation
from sendsim.inputs.derive import build_cohort
from sendsim.inputs.sen2.ages import largest_remainder
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, Cohort

IPF_MAX_ITERATIONS = 5000
IPF_TOLERANCE = 1e-9


def rake(shape: np.ndarray, band_totals: np.ndarray | None, placement_totals: np.ndarray) -> np.ndarray:
    """Iterative proportional fitting of ``shape`` [A, P] to age-band and placement totals
    (``band_totals`` None: to the placement totals alone, each column scaled).

    Raises
    ------
    ValueError
        When the margins disagree, or a total is positive where the shape has no cell.
    """
    if band_totals is None:
        table = shape.astype(float)
        for p in range(codes.N_PLACEMENTS):
            if placement_totals[p] > 0 and table[:, p].sum() <= 0:
                raise ValueError(f"placement {codes.PLACEMENTS[p]} has plans but the shape has none")
        columns = table.sum(axis=0)
        return table * np.divide(placement_totals, columns, out=np.zeros_like(columns), where=columns > 0)[None, :]
    if abs(band_totals.sum() - placement_totals.sum()) > 0.5:
        raise ValueError(f"band totals ({band_totals.sum():g}) and placement totals ({placement_totals.sum():g}) "
                         "differ")
    table = shape.astype(float).copy()
    bands = [np.flatnonzero(codes.AGE_BAND_OF_AGE == b) for b in range(codes.N_AGE_BANDS)]
    for b, ages in enumerate(bands):
        if band_totals[b] > 0 and table[ages].sum() <= 0:
            raise ValueError(f"age band {codes.AGE_BANDS[b]} has plans but the shape has none")
    for p in range(codes.N_PLACEMENTS):
        if placement_totals[p] > 0 and table[:, p].sum() <= 0:
            raise ValueError(f"placement {codes.PLACEMENTS[p]} has plans but the shape has none")
    for _ in range(IPF_MAX_ITERATIONS):
        for b, ages in enumerate(bands):
            total = table[ages].sum()
            if total > 0:
                table[ages] *= band_totals[b] / total
        columns = table.sum(axis=0)
        table *= np.divide(placement_totals, columns, out=np.zeros_like(columns), where=columns > 0)[None, :]
        band_error = max(abs(table[ages].sum() - band_totals[b]) for b, ages in enumerate(bands))
        if band_error < IPF_TOLERANCE * max(band_totals.sum(), 1.0):
            return table
    raise ValueError("iterative proportional fitting did not converge")


def whole_numbers(table: np.ndarray) -> np.ndarray:
    """Whole numbers with each placement's total kept exactly (largest remainder by column)."""
    out = np.zeros(table.shape, dtype=np.int64)
    for p in range(table.shape[1]):
        total = int(round(table[:, p].sum()))
        out[:, p] = largest_remainder(total, table[:, p])
    return out


def origin_crosstab(d: Derivation, year: int) -> np.ndarray:
    """Plans by single age and placement [A, P] in January ``year`` (raked from the census)."""
    placements = placement_history(d)
    if year not in placements:
        raise ValueError(f"no SEN2 placement totals for {d.name} in January {year}; available: {sorted(placements)}")
    bands = band_history(d).get(year)
    return whole_numbers(rake(d.crosstab(), bands, placements[year]))


def origin_pipeline(d: Derivation, year: int) -> tuple[int, int]:
    """Open requests and assessments in January ``year``, and how many await the decision.

    They stand to that year's requests as the open cases of a reference January stand to its
    year's: Kent's return gives open cases for January 2023 (1,407 against 3,988 requests in
    2023); without local figures the reference is the census's steady-state pipeline against the
    activity year's requests. Those awaiting the decision are the steady state of the decision
    hazard.
    """
    requests = d.authority.request_count(year)
    if d.local is not None:
        reference = int(d.local.period("open_cases_2023_01")[:4])
        ratio = d.local.value("open_cases_2023_01") / d.authority.request_count(reference)
    else:
        steady = d.steady_pipeline()
        ratio = steady["open"] / (12.0 * steady["monthly_requests"])
    n_open = int(round(ratio * requests))
    pending = int(round(requests / 12.0 / d.decision_hazard()))
    return n_open, min(pending, n_open)


def origin_cohort(d: Derivation, year: int) -> Cohort:
    """The opening cohort of January ``year``.

    Review timing: the share overdue at each age is the census's (assumption: Kent's overdue
    figures start in March 2023; the hindcast's fitted review capacity carries the backlog from
    the origin to them). Seed of the synthetic attributes: the census cohort's seed plus the
    year (each origin its own, reproducible, records).
    """
    n_open, n_pending = origin_pipeline(d, year)
    return build_cohort(d, origin_crosstab(d, year), Calendar(year, 1, 1), d.overdue_probability_by_age(),
                        n_open, n_pending, d.requests_by_age(), d.decision_hazard(), d.pipeline_need_share(),
                        cohort_seed=d.assumptions.COHORT_SEED + year)
