"""How much of a forecast's spread is parameter uncertainty and how much Monte Carlo noise.

Design: ``D`` parameter draws x ``S`` seeds, one run each (draw ``d`` with master seed ``s``).
For a headline output ``y[d, s]`` the one-way random-effects analysis of variance gives

* Monte Carlo variance: the mean over draws of the variance over seeds (within draws);
* parameter variance: the variance over draws of the draw means, less the Monte Carlo
  variance / S (the part of the between-draw spread that the S seeds' noise explains);

and the share of each in their sum (the variance of one run with a random draw). Seeds are
independent streams (no common random numbers across seeds), so within-draw variation is
pure Monte Carlo noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sendsim.calibration.model import CalibrationModel, phi_row, theta_dict
from sendsim.money.book import FinanceBook
from sendsim.money.model import run_money
from sendsim.money.prices import monthly_price_index, nominal_cost
from sendsim.money.schema import fy_label
from sendsim.outputs.summary import RunAggregates
from sendsim.simcore.engine import Calendar, Cohort, simulate
from sendsim.simcore.model import compile_model


@dataclass
class VarianceSplit:
    """The split of one output's variance."""

    output: str
    unit: str
    mean: float
    parameter_variance: float
    monte_carlo_variance: float
    draws: int
    seeds: int

    @property
    def total_variance(self) -> float:
        return self.parameter_variance + self.monte_carlo_variance

    @property
    def parameter_share(self) -> float:
        total = self.total_variance
        return self.parameter_variance / total if total > 0 else 0.0


def split(values: np.ndarray, output: str, unit: str) -> VarianceSplit:
    """Variance split of ``values`` [draws, seeds]."""
    draws, seeds = values.shape
    if seeds < 2 or draws < 2:
        raise ValueError("a variance split needs at least two draws and two seeds")
    within = float(values.var(axis=1, ddof=1).mean())
    between = float(values.mean(axis=1).var(ddof=1))
    parameter = max(between - within / seeds, 0.0)
    return VarianceSplit(output, unit, float(values.mean()), parameter, within, draws, seeds)


def headline_runs(model: CalibrationModel, cohort: Cohort, calendar: Calendar, theta: np.ndarray,
                  phi: dict[str, np.ndarray], seeds: list[int], finance: FinanceBook | None,
                  threads: int | None = None) -> dict[str, np.ndarray]:
    """Headline outputs [draws, seeds]: plans in the last January of the calendar, and (with
    finance inputs) the accumulated DSG deficit at the end of the last complete financial year."""
    sets = [model.forecast_set(theta_dict(theta[d]), phi_row(phi, d)) for d in range(theta.shape[0])]
    compiled = compile_model(sets, calendar.n_months, calendar.start_calendar_month)
    draws = np.arange(theta.shape[0], dtype=np.int64)
    januaries = [m for m in range(calendar.n_months) if calendar.year_month(m)[1] == 1]
    plans = np.zeros((draws.size, len(seeds)))
    deficit = np.zeros((draws.size, len(seeds)))
    prices = monthly_price_index(finance, calendar) if finance is not None else None
    for j, seed in enumerate(seeds):
        aggregates = RunAggregates(calendar)
        for chunk in simulate(cohort, compiled, calendar, seed=seed, runs=draws, parameter_set_of_run=draws,
                              chunk_size=64, threads=threads, record_flows=False):
            plans[chunk.runs, j] = chunk.stock[:, januaries[-1]].sum(axis=(1, 2, 3))
            if prices is not None:  # the engine costs at base prices; the money model's prices apply
                chunk.cost = nominal_cost(chunk.cost, prices)
            aggregates.add(aggregates.of_chunk(chunk))
        aggregates = aggregates.sorted_by_run()
        if finance is not None:
            money = run_money(finance, np.concatenate(aggregates.runs), aggregates.financial_years,
                              aggregates.complete_mask(), np.concatenate(aggregates.spend_by_fy_placement),
                              aggregates.plans_by_financial_year())
            deficit[:, j] = money.columns["accumulated_deficit_gbp"][:, -1]
    out = {f"EHCPs in January {calendar.year_month(januaries[-1])[0]}": plans}
    if finance is not None:
        out[f"accumulated DSG deficit, end of {fy_label(int(money.years[-1]))} (GBP)"] = deficit
    return out
