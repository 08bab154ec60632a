"""The year-on-year bridge (waterfall) of the in-year high-needs deficit: what moved it from one
financial year to the next, split into demand, prices, placement mix, the other high-needs
lines, income and (for a scenario) its mitigations, computed from the run's own tables.

The method (docs/outputs.md), for each run, from year y-1 to year y, with S the placement
spend (the ``plans_<placement>`` lines of ``finance/``, GBP at each year's prices), S_p that of
placement p, N the average number of plans over the year's twelve months (``stock/``), I_p the
placement's price index (the manifest's ``money.price_index``, as the money model applied it),
O the other high-needs spend lines and Inc the income lines:

- **demand** = (N_y - N_y-1) x S_y-1 / N_y-1: the change in plans at last year's average cost;
- **prices** = sum over p of S_p,y x (1 - I_p,y-1 / I_p,y): this year's spend less the same
  placements at last year's prices;
- **mix** = (S_y - S_y-1) - demand - prices: the rest of the placement spend change, which is
  the move between placements of different cost and the change of each placement's real unit
  cost;
- **other lines** = O_y - O_y-1;
- **income** = -(Inc_y - Inc_y-1): more income lowers the deficit;
- **mitigations** (a scenario other than the baseline) = the change from y-1 to y of the
  scenario's in-year deficit minus the baseline's in the same run: the levers' effect, with
  the baseline's demand, prices, mix, other lines and income as the rest of the bridge.

The components add up exactly, run by run, to the change in the in-year deficit (spend minus
income), so their means over runs add up to the change of the mean; the bridge shows means,
since medians do not add up.
"""
from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from sendsim.money.model import LINE_KINDS, PLAN_LINES
from sendsim.simcore import codes

COMPONENTS: tuple[str, ...] = ("demand", "prices", "mix", "other_lines", "income")
MITIGATIONS = "mitigations"


def _by_run_year(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """[run, year] table of ``value`` (runs as rows, financial years as columns)."""
    return frame.pivot_table(index="run", columns="financial_year", values=value, aggfunc="sum", observed=True)


def baseline_components(finance: pd.DataFrame, plans: pd.DataFrame, price_index: dict[str, dict[str, float]],
                        years: list[str]) -> dict[str, pd.DataFrame]:
    """Each component of the baseline's bridge per run (rows) and year (columns, from the second
    year on).

    Parameters
    ----------
    finance
        The baseline's ``finance/`` rows: run, financial_year, line, amount_gbp.
    plans
        run, financial_year, plans: the average number of plans over each year's months.
    price_index
        {financial year: {placement: price level}} (the manifest's ``money.price_index``).
    years
        The financial years of the money model, in order.
    """
    finance = finance.assign(line=finance["line"].astype(str), financial_year=finance["financial_year"].astype(str))
    kinds = finance["line"].map(LINE_KINDS)
    placement_spend = {p: _by_run_year(finance[finance["line"] == f"plans_{p}"], "amount_gbp")
                       for p in codes.PLACEMENTS}
    spend = cast(pd.DataFrame, sum(placement_spend.values()))  # a frame: there is more than one placement
    other = _by_run_year(finance[(kinds == "spend") & ~finance["line"].isin(PLAN_LINES)], "amount_gbp")
    income = _by_run_year(finance[kinds == "income"], "amount_gbp")
    plans = plans.assign(financial_year=plans["financial_year"].astype(str))
    n = _by_run_year(plans, "plans")
    out: dict[str, dict[str, pd.Series]] = {c: {} for c in COMPONENTS}
    for before, after in zip(years[:-1], years[1:]):
        change = spend[after] - spend[before]
        average = spend[before] / n[before].where(n[before] > 0)
        demand = ((n[after] - n[before]) * average).fillna(0.0)
        prices = cast(pd.Series, sum(placement_spend[p][after] * (1.0 - price_index[before][p] / price_index[after][p])
                                     for p in codes.PLACEMENTS))
        out["demand"][after] = demand
        out["prices"][after] = prices
        out["mix"][after] = change - demand - prices
        out["other_lines"][after] = other[after] - other[before]
        out["income"][after] = -(income[after] - income[before])
    return {c: pd.DataFrame(v) for c, v in out.items()}


def bridge_table(finance: pd.DataFrame, plans: pd.DataFrame, price_index: dict[str, dict[str, float]],
                 deficit: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """The bridge of every scenario in ``deficit``: one row per scenario and year (from the
    second), the mean over runs of the in-year deficit before and after and of each component
    (GBP).

    Parameters
    ----------
    finance, plans, price_index, years
        The baseline's, as :func:`baseline_components` takes them.
    deficit
        ``deficit/`` rows (scenario, run, financial_year, in_year_deficit_gbp) of the scenarios
        to bridge, the baseline among them.

    Returns
    -------
    pandas.DataFrame
        scenario, financial_year, previous_year, in_year_deficit_before_gbp, one ``<component>_gbp``
        per component (and ``mitigations_gbp``, 0 for the baseline), in_year_deficit_after_gbp.
    """
    if len(years) < 2:
        return pd.DataFrame()
    components = baseline_components(finance, plans, price_index, years)
    deficit = deficit.assign(scenario=deficit["scenario"].astype(str),
                             financial_year=deficit["financial_year"].astype(str))
    base = _by_run_year(deficit[deficit["scenario"] == "baseline"], "in_year_deficit_gbp")
    rows = []
    for scenario in dict.fromkeys(deficit["scenario"]):
        own = _by_run_year(deficit[deficit["scenario"] == scenario], "in_year_deficit_gbp")
        for before, after in zip(years[:-1], years[1:]):
            row = {"scenario": scenario, "financial_year": after, "previous_year": before,
                   "in_year_deficit_before_gbp": float(own[before].mean())}
            for component in COMPONENTS:
                row[f"{component}_gbp"] = float(components[component][after].mean())
            gap_after = own[after] - base[after]
            gap_before = own[before] - base[before]
            row[f"{MITIGATIONS}_gbp"] = float((gap_after - gap_before).mean())
            row["in_year_deficit_after_gbp"] = float(own[after].mean())
            rows.append(row)
    return pd.DataFrame(rows)


def plans_by_year(totals: pd.DataFrame) -> pd.DataFrame:
    """run, financial_year, plans: the average of each run's monthly totals over the year's
    months, from :meth:`~sendsim.outputs.reader.Outputs.stock_totals` with no categories."""
    frame = totals.assign(financial_year=totals["financial_year"].astype(str))
    out = frame.groupby(["run", "financial_year"], observed=True)["count"].mean().rename("plans").reset_index()
    return out.astype({"plans": np.float64})
