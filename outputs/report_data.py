"""What a report shows, read from an output folder and checked once (:func:`gather`): the
charts (:mod:`sendsim.outputs.charts`), the page and the workbooks
(:mod:`sendsim.outputs.workbook`, and any extra workbook the report builder calls) all take
this one :class:`ReportData`, so that every view of a run shows the same numbers.

Money stays in GBP here (the views show millions); counts of children are medians and
quantiles over runs of each run's own count, zeros included.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sendsim.money.model import LINE_KINDS, RAG_LEVELS
from sendsim.outputs.bridge import bridge_table, plans_by_year
from sendsim.outputs.reader import Outputs, ReadError
from sendsim.simcore import codes

BASELINE = "baseline"
QUANTILES = {"p05": 0.05, "p50": 0.5, "p95": 0.95}


@dataclass
class ReportData:
    """Everything the report's views show (see the module docstring).

    Attributes
    ----------
    scenario
        The scenario the charts describe: the baseline, which every run has.
    scenarios
        Every scenario of the run, the baseline first.
    money
        The manifest's money context (None: the run holds no complete financial year).
    deficit
        Per financial year of ``scenario``: medians and quantiles of the deficits (GBP), the
        profile, the council's forecast, P(meets), RAG shares, P(cleared).
    lines
        Median of every finance line (GBP), rows (kind, line), columns financial years.
    deficit_runs
        Run-level ``deficit/`` of every scenario (for exceedance probabilities).
    exceedance
        ``exceedance.parquet`` (every scenario, the grid of thresholds).
    bridge
        :func:`~sendsim.outputs.bridge.bridge_table` of every scenario.
    differences
        ``difference_summary.parquet`` (empty for a run of the baseline alone).
    scenario_table
        ``scenarios.parquet``.
    ehcp_total
        All EHCPs of ``scenario`` each month: p05, p50, p95 over runs, indexed by month end.
    ehcp_placement
        By placement, columns (quantile, placement), indexed by month end.
    ehcp_age_january
        Each January by age band: date, age_band, p05, p50, p95.
    """

    folder: Path
    manifest: dict
    scenario: str
    scenarios: list[str]
    runs: int
    uncertainty: dict | None
    money: dict | None
    reference: dict | None
    ehcp_total: pd.DataFrame
    ehcp_placement: pd.DataFrame
    ehcp_age_january: pd.DataFrame
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    deficit: pd.DataFrame = field(default_factory=pd.DataFrame)
    lines: pd.DataFrame = field(default_factory=pd.DataFrame)
    deficit_runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    exceedance: pd.DataFrame = field(default_factory=pd.DataFrame)
    bridge: pd.DataFrame = field(default_factory=pd.DataFrame)
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    scenario_table: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def last_year(self) -> str | None:
        """The last financial year of the money model (the one the agreement ends in)."""
        return self.money["years"][-1] if self.money else None

    @property
    def money_last_year(self) -> str:
        """:attr:`last_year` of a run with money outputs (the report's money sections)."""
        if self.last_year is None:
            raise ValueError("the run has no money outputs")
        return self.last_year

    @property
    def compared(self) -> bool:
        """Whether the run holds scenarios besides the baseline, with paired differences."""
        return len(self.scenarios) > 1 and not self.differences.empty


def _quantiles(values: pd.api.typing.SeriesGroupBy) -> pd.DataFrame:
    return pd.concat({name: values.quantile(q) for name, q in QUANTILES.items()}, axis=1)


def deficit_by_year(summary: pd.DataFrame, money: dict) -> pd.DataFrame:
    """The per-year deficit table of one scenario's summary rows (GBP and shares)."""
    def metric(name: str) -> pd.DataFrame:
        rows = summary[summary["metric"].astype(str) == name].copy()
        rows["financial_year"] = rows["financial_year"].astype(str)
        return rows.set_index("financial_year").reindex(money["years"])

    acc = metric("accumulated_deficit_gbp")
    out = pd.DataFrame(index=pd.Index(money["years"], name="financial_year"))
    out["in_year_p50"] = metric("in_year_deficit_gbp")["p50"]
    for column in ("p05", "p25", "p50", "p75", "p95"):
        out[f"accumulated_{column}"] = acc[column]
    out["profile"] = [money["sv_profile_gbp"].get(y, np.nan) for y in money["years"]]
    out["council_forecast"] = [money["council_forecast_gbp"].get(y, np.nan) for y in money["years"]]
    out["prob_meets"] = acc["prob_meets_target"]
    for level in RAG_LEVELS:
        out[f"share_{level}"] = metric(f"rag_{level}")["mean"]
    out["after_instalments_p50"] = metric("accumulated_deficit_after_contributions_gbp")["p50"]
    out["prob_cleared"] = metric("deficit_cleared")["mean"]
    missing = [c for c in ("in_year_p50", "accumulated_p50", "after_instalments_p50", "prob_cleared")
               if out[c].isna().any()]
    if missing:
        raise ReadError("summary.parquet lacks the rows of a metric for some year (" + missing[0] + "): the folder "
                        "was edited; run `sendsim run` again into a new folder")
    return out


def lines_by_year(summary: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """Median of every finance line by year (GBP): rows (kind, line) in the money model's order."""
    rows = summary[summary["metric"].astype(str).str.contains(":", regex=False)].copy()
    parts = rows["metric"].astype(str).str.split(":", n=1)
    rows["kind"], rows["line"] = parts.str[0], parts.str[1]
    rows["financial_year"] = rows["financial_year"].astype(str)
    table = rows.pivot_table(index=["kind", "line"], columns="financial_year", values="p50", sort=False,
                             observed=True)
    order = {line: k for k, line in enumerate(LINE_KINDS)}
    kinds = list(dict.fromkeys(LINE_KINDS.values()))
    table = table.reindex(columns=years)
    return table.sort_index(key=lambda index: index.map(
        lambda v: kinds.index(v) if v in kinds else order.get(v, len(order))))


def gather(folder: str | Path) -> ReportData:
    """Read and check what the report of the run in ``folder`` shows (a :class:`ReadError`
    naming the file and what to change if anything is not what sendsim wrote)."""
    everything = Outputs(folder)
    manifest = everything.manifest
    baseline = Outputs(folder, [BASELINE])
    # Plans of the baseline per run and month, by placement and by age band (zeros included).
    by_both = baseline.stock_totals(("age_band", "placement"))
    by_both["date"] = by_both["date"].astype("datetime64[s]")
    by_placement = by_both.groupby(["run", "date", "placement"], observed=False)["count"].sum().unstack("placement")
    by_placement = by_placement.reindex(columns=list(codes.PLACEMENTS))
    placement_q = pd.concat({name: by_placement.groupby(level="date").quantile(q) for name, q in QUANTILES.items()},
                            axis=1)
    totals = by_both.groupby(["run", "date"], observed=True)["count"].sum()
    total_q = _quantiles(totals.groupby(level="date"))
    january = by_both[by_both["date"].dt.month == 1]
    by_age = january.groupby(["date", "run", "age_band"], observed=False)["count"].sum()
    age_q = _quantiles(by_age.groupby(level=["date", "age_band"], observed=False)).reset_index()
    data = ReportData(folder=Path(folder), manifest=manifest, scenario=BASELINE,
                      scenarios=list(map(str, manifest["scenarios"])), runs=everything.runs,
                      uncertainty=manifest.get("uncertainty"), money=manifest.get("money"),
                      reference=manifest.get("reference"), ehcp_total=total_q, ehcp_placement=placement_q,
                      ehcp_age_january=age_q)
    data.scenario_table = everything.scenario_table
    if data.money is None:
        return data
    money = data.money
    years = list(money["years"])
    data.summary = everything.summary
    data.deficit = deficit_by_year(data.summary[data.summary["scenario"] == BASELINE], money)
    data.lines = lines_by_year(data.summary[data.summary["scenario"] == BASELINE], years)
    data.deficit_runs = everything.deficit
    data.exceedance = everything.exceedance
    totals_frame = by_both.groupby(["run", "date", "financial_year"], observed=True)["count"].sum().reset_index()
    data.bridge = bridge_table(baseline.finance, plans_by_year(totals_frame), money["price_index"],
                               data.deficit_runs[["scenario", "run", "financial_year", "in_year_deficit_gbp"]], years)
    if len(data.scenarios) > 1:
        data.differences = everything.difference_summary
    return data
