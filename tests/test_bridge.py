"""The year-on-year bridge of the in-year deficit (outputs/bridge.py): its components add up,
run by run, to the change in the in-year deficit; a scenario's bridge is the baseline's plus its
mitigations; prices follow the price index the money model applied."""
from __future__ import annotations

import numpy as np
import pytest

from sendsim.api import load_outputs
from sendsim.outputs.bridge import COMPONENTS, MITIGATIONS, baseline_components, bridge_table, plans_by_year


@pytest.fixture(scope="module")
def bridged(all_scenarios_out):
    everything = load_outputs(all_scenarios_out)
    baseline = load_outputs(all_scenarios_out, ["baseline"])
    money = everything.manifest["money"]
    plans = plans_by_year(baseline.stock_totals(()))
    deficit = everything.deficit[["scenario", "run", "financial_year", "in_year_deficit_gbp"]]
    return everything, baseline, plans, money, bridge_table(baseline.finance, plans, money["price_index"], deficit,
                                                            money["years"])


def test_components_add_up_run_by_run(bridged):
    everything, baseline, plans, money, _ = bridged
    years = money["years"]
    parts = baseline_components(baseline.finance, plans, money["price_index"], years)
    deficit = baseline.deficit.pivot_table(index="run", columns="financial_year", values="in_year_deficit_gbp",
                                           observed=True)
    change = deficit[years[1]] - deficit[years[0]]
    total = sum(parts[c][years[1]] for c in COMPONENTS)
    assert np.allclose(total.to_numpy(), change.to_numpy(), rtol=0, atol=1e-3)  # GBP, to a tenth of a penny
    # Prices: placement spend inflates from one year to the next, so the component is positive.
    assert (parts["prices"][years[1]] > 0).all()


def test_a_scenario_is_the_baseline_plus_its_mitigations(bridged):
    everything, _, _, _, table = bridged
    rows = table.set_index(["scenario", "financial_year"])
    closes = rows["in_year_deficit_before_gbp"] + sum(rows[f"{c}_gbp"] for c in list(COMPONENTS) + [MITIGATIONS])
    assert np.allclose(closes, rows["in_year_deficit_after_gbp"], rtol=0, atol=1e-3)
    assert (rows.loc["baseline", f"{MITIGATIONS}_gbp"] == 0).all()
    for scenario in set(everything.scenarios) - {"baseline"}:
        for component in COMPONENTS:
            assert np.allclose(rows.loc[scenario, f"{component}_gbp"], rows.loc["baseline", f"{component}_gbp"])
    # A money lever from 2025-26 (support-staff pay keeps rising) raises the deficit's change that year.
    assert rows.loc[("support_staff_pay_10pct", "2025-26"), f"{MITIGATIONS}_gbp"] > 0
