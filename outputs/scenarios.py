"""Paired differences between a scenario and the baseline.

Run r of every scenario uses the same seed and run number as run r of the baseline, so the
same children draw the same random numbers (common random numbers). The difference of run r
of a scenario and run r of the baseline is then the lever's effect in that run, with the
Monte Carlo noise they share cancelled out: its variance is far smaller than that of the
difference of two independent runs (``var(scenario) + var(baseline)``), which the summary
reports side by side.

- ``difference/<scenario>/``: scenario, run, financial_year, delta_spend_gbp, delta_in_year_deficit_gbp,
  delta_accumulated_deficit_gbp (scenario minus baseline, same run).
- ``difference_summary.parquet``: scenario, financial_year, metric, mean, p05, p25, p50, p75,
  p95, prob_lower (share of runs where the scenario is below the baseline), var_paired,
  var_unpaired, variance_ratio (paired / unpaired).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from sendsim.money.model import MoneyResult
from sendsim.money.schema import fy_label
from sendsim.outputs.money_tables import parquet_bytes
from sendsim.outputs.store import table_folder
from sendsim.outputs.tables import with_scenario

DELTAS = {  # output column -> money column
    "delta_spend_gbp": "spend_gbp",
    "delta_in_year_deficit_gbp": "in_year_deficit_gbp",
    "delta_accumulated_deficit_gbp": "accumulated_deficit_gbp",
}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _aligned(scenario: MoneyResult, baseline: MoneyResult) -> None:
    if not np.array_equal(scenario.runs, baseline.runs) or not np.array_equal(scenario.years, baseline.years):
        raise ValueError("paired differences need the same runs and financial years as the baseline")


def difference_table(scenario: MoneyResult, baseline: MoneyResult) -> pa.Table:
    """``difference/``: one row per run and financial year, scenario minus baseline."""
    _aligned(scenario, baseline)
    R, Y = scenario.columns["spend_gbp"].shape
    data = {"run": pa.array(np.repeat(scenario.runs, Y).astype(np.int32)),
            "financial_year": pa.array(np.tile(np.array([fy_label(int(y)) for y in scenario.years], dtype=object), R),
                                       type=pa.string())}
    for out, column in DELTAS.items():
        data[out] = pa.array((scenario.columns[column] - baseline.columns[column]).ravel())
    return pa.table(data)


def difference_file(scenario: MoneyResult, baseline: MoneyResult, name: str) -> tuple[str, bytes]:
    """The ``difference/`` file of scenario ``name`` (its path relative to the output folder,
    its bytes), the scenario as a column."""
    relative = (f"{table_folder('difference', name)}/runs-{int(scenario.runs.min()):06d}-"
                f"{int(scenario.runs.max()):06d}.parquet")
    return relative, parquet_bytes(with_scenario(difference_table(scenario, baseline), name))


def difference_summary(scenario: MoneyResult, baseline: MoneyResult, name: str) -> pd.DataFrame:
    """Per financial year and delta: the distribution of the paired differences, and their
    variance against that of unpaired differences (independent runs)."""
    _aligned(scenario, baseline)
    rows = []
    for k, year in enumerate(scenario.years):
        for out, column in DELTAS.items():
            a = scenario.columns[column][:, k]
            b = baseline.columns[column][:, k]
            delta = a - b
            q = np.quantile(delta, QUANTILES)
            var_paired = float(np.var(delta, ddof=1)) if delta.size > 1 else float("nan")
            var_unpaired = float(np.var(a, ddof=1) + np.var(b, ddof=1)) if delta.size > 1 else float("nan")
            rows.append({"scenario": name, "financial_year": fy_label(int(year)), "metric": out,
                         "mean": float(delta.mean()), "p05": q[0], "p25": q[1], "p50": q[2], "p75": q[3], "p95": q[4],
                         "prob_lower": float((delta < 0).mean()), "var_paired": var_paired,
                         "var_unpaired": var_unpaired,
                         "variance_ratio": var_paired / var_unpaired if var_unpaired > 0 else float("nan")})
    return pd.DataFrame(rows)


def format_differences(summary: pd.DataFrame, limit: int = 20) -> str:
    """End-of-run text: for the last financial year, each scenario's paired difference in the
    accumulated deficit against the baseline (mean and 90% interval) and the variance ratio."""
    metric = summary[summary["metric"] == "delta_accumulated_deficit_gbp"]
    last = metric["financial_year"].max()
    rows = metric[metric["financial_year"] == last].sort_values("mean")
    lines = [f"Scenario minus baseline, accumulated deficit at 31 March {int(last[:4]) + 1} ({last}), GBP m, paired "
             "by run (common random numbers)",
             f"{'scenario':<34}{'mean':>9}{'90% interval':>20}{'P(lower)':>10}{'var paired/unpaired':>21}"]
    for _, r in rows.head(limit).iterrows():
        lines.append(f"{r['scenario']:<34}{r['mean'] / 1e6:9.1f}{f'[{r.p05 / 1e6:.1f}, {r.p95 / 1e6:.1f}]':>20}"
                     f"{r['prob_lower']:10.0%}{r['variance_ratio']:21.4f}")
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more scenarios in difference_summary.parquet")
    return "\n".join(lines)
