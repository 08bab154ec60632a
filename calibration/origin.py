"""The opening cohort of an earlier January, for hindcasts that end at the January 2024 census.

SEN2 gives Kent's plans by placement for every January from 2019 and by age band up to 2022
(2022 release), but the single-age by placement cross-tab only for January 2024. The cohort of
an earlier January takes January 2024's cross-tab as the shape and rakes it (iterative
proportional fitting) to that January's age-band and placement totals: the result is the
table closest to January 2024's shape (in the Kullback-Leibler sense) with those margins.
Whole numbers are taken placement by placement (largest remainder), so the placement totals
are exact and the band totals within a few plans. Records are then built by the same code as
the January 2024 cohort (:func:`inputs.kent.derive.build_cohort`).
"""
from __future__ import annotations

import numpy as np

from sendsim.calibration.kent_targets import band_history, placement_history
from sendsim.inputs.kent import derive
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, Cohort

IPF_MAX_ITERATIONS = 5000
IPF_TOLERANCE = 1e-9
# Seed of the synthetic attributes of an earlier cohort: the January 2024 cohort's seed plus
# the year (each origin its own, reproducible, records).
ORIGIN_SEED_OFFSET = derive.COHORT_SEED


def rake(shape: np.ndarray, band_totals: np.ndarray, placement_totals: np.ndarray) -> np.ndarray:
    """Iterative proportional fitting of ``shape`` [A, P] to age-band and placement totals.

    Raises
    ------
    ValueError
        When the margins disagree, or a total is positive where the shape has no cell.
    """
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
        out[:, p] = derive.largest_remainder(total, table[:, p])
    return out


def origin_crosstab(year: int) -> np.ndarray:
    """Plans by single age and placement [A, P] in January ``year`` (raked from January 2024)."""
    placements = placement_history()
    bands = band_history()
    if year not in placements or year not in bands:
        raise ValueError(f"no SEN2 placement and age-band totals for January {year}; available: "
                         f"{sorted(set(placements) & set(bands))}")
    return whole_numbers(rake(derive.crosstab(), bands[year], placements[year]))


def requests_in_year(year: int) -> float:
    return derive._requests_total(str(year))


def origin_pipeline(year: int) -> tuple[int, int]:
    """Open requests and assessments in January ``year``, and how many await the decision.

    The seed gives open cases for January 2023 and 2024 only. Assumption: in another January
    they stand to that year's requests as in January 2023 (1,407 open against 3,988 requests in
    2023); those awaiting the decision are the steady state of the decision hazard.
    """
    reference = int(derive.seed_period("open_cases_2023_01")[:4])
    ratio = derive.seed("open_cases_2023_01") / requests_in_year(reference)
    n_open = int(round(ratio * requests_in_year(year)))
    pending = int(round(requests_in_year(year) / 12.0 / derive.decision_hazard()))
    return n_open, min(pending, n_open)


def origin_cohort(year: int) -> Cohort:
    """The opening cohort of January ``year``.

    Review timing: the share overdue at each age is January 2024's (assumption: the seed's
    overdue figures start in March 2023; the hindcast's fitted review capacity carries the
    backlog from the origin to them).
    """
    n_open, n_pending = origin_pipeline(year)
    request_ages = derive.requests_by_age()
    return derive.build_cohort(origin_crosstab(year), Calendar(year, 1, 1), derive.overdue_probability_by_age(),
                               n_open, n_pending, request_ages, derive.decision_hazard(),
                               derive.pipeline_need_share(), cohort_seed=ORIGIN_SEED_OFFSET + year)
