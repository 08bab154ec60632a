"""The hindcast of the shipped draws: its parameter sets, and its appeals against the measured table
and against Kent's tribunal series.

The measured table (docs/calibration.md, "Appeals per year": 1,000 draws, one run each) is the
reference of the regression check; the tolerance of each check is three standard errors of the
mean of the few draws simulated here (the standard deviation from that table's 90% interval),
so a failure is not the sampling noise of a small sample."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sendsim.calibration import draws_hindcast

# Draws simulated here (one run each): a few seconds on the shared 2-core machine.
DRAWS = 24
YEARS = range(2019, 2024)
# 1,000 draws of the shipped file (python -m sendsim.calibration.draws_hindcast --count 1000
# --match tribunal_ --appeals): median and 90% interval of the appeals of each year.
MEASURED = {2019: (265.0, 232.0, 299.0), 2020: (283.0, 250.0, 314.0), 2021: (365.0, 324.0, 407.0),
            2022: (357.0, 320.0, 396.0), 2023: (405.0, 366.0, 445.0)}
# A normal's 90% interval is 2 x 1.645 standard deviations wide.
Z90 = 1.645


@pytest.fixture(scope="module")
def appeals():
    """Each year's simulated appeals (all types) [draws, years] and by type {type: [draws, years]}."""
    ((targets, values),) = draws_hindcast.simulate_draws(count=DRAWS, match="^tribunal_", appeals=True,
                                                         forecast_years=0)
    index = {t.id: k for k, t in enumerate(targets)}
    total = np.stack([values[:, index[f"tribunal_{y}_appeals"]] for y in YEARS], axis=1)
    by_type = {name: np.stack([values[:, index[f"tribunal_{y}_appeals:{name}"]] for y in YEARS], axis=1)
               for name in draws_hindcast.APPEAL_TYPES}
    observed = np.array([targets[index[f"tribunal_{y}_appeals"]].value for y in YEARS])
    tolerance = np.array([targets[index[f"tribunal_{y}_appeals"]].tolerance for y in YEARS])
    return total, by_type, observed, tolerance


def _standard_error() -> np.ndarray:
    sd = np.array([(MEASURED[y][2] - MEASURED[y][1]) / (2 * Z90) for y in YEARS])
    return sd / np.sqrt(DRAWS)


def test_the_types_add_up_and_each_years_mean_is_the_measured_median(appeals):
    total, by_type, _, _ = appeals
    assert np.array_equal(sum(by_type.values()), total)
    mean = total.mean(axis=0)
    median = np.array([MEASURED[y][0] for y in YEARS])
    assert np.all(np.abs(mean - median) <= 3 * _standard_error()), (mean, median)


@pytest.mark.xfail(strict=True, reason="known gap (docs/calibration.md, 'Appeals per year'): the hindcast's "
                   "appeals are 52-85% of the tribunal series; appeals about plan content are not modelled beyond "
                   "placement appeals at one constant rate")
def test_hindcast_appeals_match_the_tribunal_series_within_tolerance(appeals):
    """The requirement: each year's simulated appeals within the target tolerance (10%) of the
    count registered, allowing three standard errors of the small sample's mean."""
    total, _, observed, tolerance = appeals
    assert np.all(np.abs(total.mean(axis=0) - observed) <= tolerance + 3 * _standard_error())


def test_a_draws_hindcast_set_takes_the_years_flows_and_the_draws_rates():
    """The draw's own rates (appeals against refusals) hold in every hindcast year; requests,
    decisions to assess and assessments are each year's SEN2 figures."""
    from sendsim.calibration.model import CalibrationModel
    from sendsim.inputs.derive import derivation_for
    from sendsim.inputs.draws import load_draws, parameter_sets_for_draws
    from sendsim.inputs.resolve import RunSpec, resolve_run
    from sendsim.simcore.engine import Calendar

    hindcast, forecast = Calendar(2019, 1, 61), Calendar(2024, 1, 13)
    derivation = derivation_for("Kent")
    rows = resolve_run(RunSpec(out=Path("."), months=13, authority_draws=None, authority_finance=None)).base_rows
    model = CalibrationModel(derivation, rows, forecast, hindcast)
    draws = load_draws(draws_hindcast.KENT_DRAWS)
    (draw_set,) = parameter_sets_for_draws(rows, draws, np.array([3]), hindcast)
    phi = {f"p_{what}_{y}": np.float64(0.5 + 0.01 * (y - 2019)) for what in ("assess", "decline") for y in YEARS}
    ps = draws_hindcast.hindcast_set_of_draw(model, draw_set, phi)
    column = draws.columns.index("p_appeal_refusal")
    assert np.all(ps["p_appeal_refusal"].values == draws.values[3, column])
    assert ps["p_assess"].values.tolist() == pytest.approx([0.5 + 0.01 * k for k in range(5)])
    requests = ps["request_rate"].values.sum(axis=1) * 12
    assert requests.tolist() == pytest.approx([derivation.authority.request_count(y) for y in YEARS])
    assert ps["request_growth"].values.tolist() == [0.0]
    assert np.array_equal(ps["places"].values, model.hindcast_base["places"].values)
