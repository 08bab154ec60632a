"""Placement appeals, hand-checked and against Kent's count.

Placement appeals: lodged after a phase transfer or a review, decided by the tribunal, a win
places the child independent (hand-checked on tiny cohorts); Kent's simulated appeals of every
type in the first year against its 2023 count; and the appeal targets of every hindcast year,
generated from the tribunal series. (tests/test_reference.py compares the rule with
tests/naive.py exactly.)"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.workloads import kent
from sendsim.calibration import authority_targets
from sendsim.calibration.targets import read_targets
from sendsim.inputs.derive import derivation_for
from sendsim.inputs.sen2.authority import Authority
from sendsim.inputs.sen2.files import TRIBUNAL
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, simulate
from tests import builders


def _run(values, rows, calendar):
    model = builders.compile_values(values, calendar)
    (chunk,) = simulate(builders.cohort(rows, calendar), model, calendar, seed=1, runs=np.array([0]), trace_runs=1)
    return chunk


def _reviewed_in_month_1(hazard, win):
    calendar = Calendar(2024, 1, 3)
    values = builders.quiet_parameters()
    values["review_capacity"][...] = 10
    values["p_placement_appeal"][9, codes.SPECIAL] = 1.0
    values["placement_appeal_hazard"][...] = hazard
    values["p_placement_appeal_win"][...] = win
    rows = [{"age": 9, "placement": codes.SPECIAL, "msr": 11}, {"age": 9, "placement": codes.MAINSTREAM, "msr": 11}]
    return _run(values, rows, calendar)


def test_a_won_placement_appeal_places_the_child_independent():
    chunk = _reviewed_in_month_1(hazard=1.0, win=1.0)
    assert chunk.flows[0, 1, codes.EV_APPEAL_PLACEMENT, codes.SPECIAL, codes.SPECIAL] == 1
    assert chunk.flows[0, 1, codes.EV_APPEAL_PLACEMENT].sum() == 1  # mainstream: no appeal at that age
    assert chunk.flows[0, 1, codes.EV_PLACEMENT_APPEAL_UPHELD, codes.SPECIAL, codes.INDEPENDENT] == 1
    assert chunk.trace[0, 1, :2].tolist() == [codes.INDEPENDENT, codes.MAINSTREAM]
    assert chunk.measures[0, :, codes.M_APPEALS_OPEN].tolist() == [0, 0, 0]


def test_an_undecided_appeal_stays_open_and_a_lost_one_keeps_the_placement():
    open_ = _reviewed_in_month_1(hazard=0.0, win=1.0)
    assert open_.measures[0, :, codes.M_APPEALS_OPEN].tolist() == [0, 1, 1]
    assert (open_.trace[0, 1:, 0] == codes.SPECIAL).all()
    lost = _reviewed_in_month_1(hazard=1.0, win=0.0)
    assert lost.flows[0, 1, codes.EV_PLACEMENT_APPEAL_DISMISSED, codes.SPECIAL, codes.SPECIAL] == 1
    assert (lost.trace[0, 1:, 0] == codes.SPECIAL).all()


def test_kent_appeals_of_every_type_in_the_first_year_near_its_2023_count():
    """Appeals against refusals to assess, refusals to issue and placements, February 2024 to
    January 2025, over 40 runs of the derived Kent parameters: the mean lies within 10% (the
    calibration targets' tolerance for yearly flows) of the 758 Kent registered in 2023."""
    work = kent(13)
    (chunk,) = simulate(work.cohort, work.model, work.calendar, seed=1, runs=np.arange(40), chunk_size=40)
    appeals = chunk.flows[:, 1:13][:, :, list(codes.APPEAL_EVENTS)].sum(axis=(1, 2, 3, 4))
    series = Authority("Kent").tribunal_appeals().set_index("year")["appeals_registered"]
    assert series[2023] == 758
    assert abs(appeals.mean() - 758) < 0.1 * 758, appeals.mean()
    placement = chunk.flows[:, 1:13, codes.EV_APPEAL_PLACEMENT].sum(axis=(1, 2, 3))
    assert placement.mean() > 0


def _appeal_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["id"].str.startswith("tribunal_")].set_index("id")


@pytest.mark.parametrize("authority", ["Kent", "Medway"])
def test_appeal_targets_are_the_tribunal_series_of_every_hindcast_year(authority):
    """One report target a year 2019-2023, each the authority's appeals_registered in the
    tribunal file, summing the three appeal events over 12 months with the 10% yearly-flow
    tolerance; Kent's shipped targets.csv holds them as generated."""
    frame = authority_targets.derive_targets(derivation_for(authority))
    rows = _appeal_rows(frame)
    series = Authority(authority).tribunal_appeals().set_index("year")["appeals_registered"]
    assert list(rows.index) == [f"tribunal_{year}_appeals" for year in range(2019, 2024)]
    for year in range(2019, 2024):
        row = rows.loc[f"tribunal_{year}_appeals"]
        assert float(row["value"]) == series[year]
        assert float(row["tolerance"]) == pytest.approx(0.1 * series[year], abs=0.05)
        assert (row["measure"], row["months"], row["role"]) == ("events", "12", "report")
        assert row["source"] == f"{TRIBUNAL}: appeals_registered, {authority}, {year}"
        # The origin's year starts in February in the hindcast: compared with February-January.
        assert row["date"] == ("2020-01" if year == 2019 else f"{year}-12")
    if authority == "Kent":
        assert [series[y] for y in range(2019, 2024)] == [513, 375, 428, 648, 758]
        shipped = read_targets(authority_targets.TARGETS_PATH)
        appeals = [t for t in shipped if t.id.startswith("tribunal_")]
        assert [t.value for t in appeals] == [513, 375, 428, 648, 758]
        assert all(set(t.items) == set(codes.APPEAL_EVENTS) for t in appeals)


def test_an_authority_without_a_tribunal_row_has_no_appeal_targets():
    assert _appeal_rows(authority_targets.derive_targets(derivation_for("Hampshire"))).empty
