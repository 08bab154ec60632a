"""Two checks of a run's placements against Kent's history and of a capacity lever's saving.

``python -m sendsim.calibration.placement_changes OUT [SCENARIO]``

* Each placement's simulated change of stock from January 2024 to January 2025 (median and 90%
  interval over the runs of the baseline in ``OUT``) beside the authority's SEN2 annual changes of
  the January stocks 2019-2024 (docs/calibration.md, "Placement changes over 2024").
* With ``SCENARIO`` (a capacity scenario run beside the baseline, e.g. ``third_special_school``):
  the paired difference of place-years by placement up to March 2028, and the accounting check of
  its saving: independent place-years avoided x (independent - special unit cost) + place-years
  in other authorities' special schools avoided x (other_la_cost_ratio - 1) x special unit cost,
  beside the paired difference of placement spend (base prices).
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from sendsim.inputs.sen2.authority import Authority
from sendsim.simcore import codes

START, ONE_YEAR_ON, END = "2024-01", "2025-01", "2028-03"


def _interval(values: pd.Series) -> str:
    return f"{values.median():7.0f} [{values.quantile(0.05):6.0f}, {values.quantile(0.95):6.0f}]"


def placement_changes(out: str, authority: str = "Kent") -> pd.DataFrame:
    """Simulated change of each placement over the first year beside SEN2's annual changes."""
    stock = pd.read_parquet(f"{out}/stock", columns=["scenario", "run", "month", "placement", "count"])
    stock = stock[(stock.scenario == "baseline") & stock.month.astype(str).isin([START, ONE_YEAR_ON])]
    by_month = stock.groupby(["run", "month", "placement"], observed=True)["count"].sum().unstack("month")
    change = (by_month[ONE_YEAR_ON] - by_month[START]).unstack("placement")
    januaries = Authority(authority).placements_by_january()
    years = sorted(januaries)
    sen2 = np.array([januaries[b] - januaries[a] for a, b in zip(years, years[1:])])
    rows = []
    for k, name in enumerate(codes.PLACEMENTS):
        v = change[name]
        rows.append({"placement": name, "median": v.median(), "p05": v.quantile(0.05), "p95": v.quantile(0.95),
                     "sen2_min": sen2[:, k].min(), "sen2_max": sen2[:, k].max(),
                     "sen2_changes": " ".join(f"{x:+.0f}" for x in sen2[:, k])})
    return pd.DataFrame(rows)


def accounting_check(out: str, scenario: str, unit_special: float, unit_independent: float,
                     other_la_cost_ratio: float) -> dict[str, pd.Series]:
    """Per run: the scenario's place-years minus the baseline's (January 2024 to March 2028) by
    placement and in other authorities' special schools, the accounting figure and the spend."""
    def upto(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame.month.astype(str) <= END]

    def paired(frame: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
        total = upto(frame).groupby(["scenario", "run", key], observed=True)[value].sum().unstack("scenario")
        return (total[scenario] - total["baseline"]).unstack(key)

    place_years = paired(pd.read_parquet(f"{out}/stock"), "placement", "count") / 12.0
    pipeline = pd.read_parquet(f"{out}/pipeline")
    other_la = paired(pipeline[pipeline.measure == "special_other_la"], "measure", "value")["special_other_la"] / 12.0
    spend = paired(pd.read_parquet(f"{out}/cost"), "placement", "cost_gbp").sum(axis=1) / 1e6
    avoided = (-place_years["independent"] * (unit_independent - unit_special)
               - other_la * (other_la_cost_ratio - 1.0) * unit_special) / 1e6
    out_ = {f"place-years {p}": place_years[p] for p in codes.PLACEMENTS}
    out_["place-years in other authorities' special schools"] = other_la
    out_["accounting: avoided x cost difference, GBP m"] = avoided
    out_["paired placement spend difference, GBP m (base prices)"] = spend
    return out_


def main(argv: list[str]) -> None:
    out = argv[0]
    table = placement_changes(out)
    print("change Jan 2024 -> Jan 2025: median [90%] | SEN2 annual changes 2019-2024")
    for r in table.to_dict("records"):
        inside = "inside" if r["sen2_min"] <= r["median"] <= r["sen2_max"] else "OUTSIDE"
        print(f"  {r['placement']:18s} {r['median']:+7.0f} [{r['p05']:+6.0f}, {r['p95']:+6.0f}]  {inside:7s} "
              f"{r['sen2_changes']}")
    if len(argv) > 1:
        from sendsim.inputs.defaults import KENT_PARAMETERS
        from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
        from sendsim.simcore.engine import Calendar

        # The parameter values in force at the start, read through the inputs layer (defaults,
        # validation); unit costs by age and need are averaged (Kent's vary by placement only).
        base = build_parameter_set(read_parameter_rows(KENT_PARAMETERS), Calendar(2024, 1, 1))
        unit_cost = base["unit_cost"].values[0]
        special, independent = codes.PLACEMENTS.index("special"), codes.PLACEMENTS.index("independent")
        check = accounting_check(out, argv[1], float(unit_cost[:, special].mean()),
                                 float(unit_cost[:, independent].mean()),
                                 float(base["other_la_cost_ratio"].values[0][special]))
        print(f"{argv[1]} minus baseline, January 2024 to March 2028: mean [90%]")
        for name, v in check.items():
            print(f"  {name:58s} {v.mean():8.1f} [{v.quantile(0.05):7.1f}, {v.quantile(0.95):7.1f}]")


if __name__ == "__main__":
    main(sys.argv[1:])
