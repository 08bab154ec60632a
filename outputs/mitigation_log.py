"""The mitigation log: what each mitigation of a plan saves, year by year, with its interval.

Method (sequential attribution over paired runs): stage k of a scenario is the scenario with
its first k mitigations (in the order of its file), each delivered or not in a run as that
run's draw says; every stage of run r uses run r's random numbers. Mitigation k's saving in
run r is stage k-1 minus stage k (accumulated deficit, and in-year deficit), so the savings of
a run add up exactly to stage 0 minus the scenario; with no levers besides its mitigations,
stage 0 is the baseline, and the log adds up to the scenario's paired difference against the
baseline. A scenario with levers of its own gets a first row ``scenario levers`` (baseline
minus stage 0). The attribution depends on the order (a later mitigation acts on what the
earlier ones left); a mitigation not delivered in a run saves exactly 0 there.

- ``mitigation_log/``: scenario, run, financial_year, order, mitigation, delivered,
  saving_in_year_gbp, saving_accumulated_gbp (positive: the deficit is lower);
- ``mitigation_summary.parquet``: scenario, order, mitigation, financial_year,
  delivery_probability, delivered_share, mean, p05, p25, p50, p75, p95 (of the accumulated
  saving), mean_in_year.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from sendsim.money.model import MoneyResult
from sendsim.money.schema import fy_label

LEVERS_ROW = "scenario levers"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class MitigationLog:
    """Per-run savings: entry k of each list is row k of the log (``names[k]``)."""

    scenario: str
    runs: np.ndarray
    years: np.ndarray
    names: list[str]
    probabilities: list[float]
    delivered: np.ndarray        # [K, R] bool
    in_year: np.ndarray          # [K, R, Y] GBP
    accumulated: np.ndarray      # [K, R, Y] GBP


def build_log(scenario: str, stages: list[MoneyResult], names: list[str], probabilities: list[float],
              delivered: np.ndarray, baseline: MoneyResult | None = None) -> MitigationLog:
    """The log from the money of each stage (stage 0 ... the scenario) and ``delivered`` [R, K];
    with ``baseline`` (a scenario with levers of its own) a first row for the levers."""
    results = ([baseline] if baseline is not None else []) + stages
    labels = ([LEVERS_ROW] if baseline is not None else []) + list(names)
    chances = ([1.0] if baseline is not None else []) + list(probabilities)
    flags = ([np.ones(delivered.shape[0], dtype=bool)] if baseline is not None else []) + [
        delivered[:, k] for k in range(delivered.shape[1])]
    acc = np.stack([results[k].columns["accumulated_deficit_gbp"] - results[k + 1].columns["accumulated_deficit_gbp"]
                    for k in range(len(results) - 1)])
    in_year = np.stack([results[k].columns["in_year_deficit_gbp"] - results[k + 1].columns["in_year_deficit_gbp"]
                        for k in range(len(results) - 1)])
    return MitigationLog(scenario, stages[-1].runs, stages[-1].years, labels, chances, np.stack(flags), in_year, acc)


def log_table(log: MitigationLog) -> pa.Table:
    """``mitigation_log/``: one row per run, financial year and mitigation."""
    K, R, Y = log.accumulated.shape
    years = np.array([fy_label(int(y)) for y in log.years], dtype=object)
    return pa.table({
        "run": pa.array(np.tile(np.repeat(log.runs, Y), K).astype(np.int32)),
        "financial_year": pa.array(np.tile(years, K * R), type=pa.string()),
        "order": pa.array(np.repeat(np.arange(K), R * Y).astype(np.int16)),
        "mitigation": pa.array(np.repeat(np.array(log.names, dtype=object), R * Y), type=pa.string()),
        "delivered": pa.array(np.repeat(log.delivered, Y, axis=1).ravel()),
        "saving_in_year_gbp": pa.array(log.in_year.ravel()),
        "saving_accumulated_gbp": pa.array(log.accumulated.ravel()),
    })


def log_summary(log: MitigationLog) -> pd.DataFrame:
    """``mitigation_summary.parquet``: per mitigation and year, the distribution of the saving."""
    rows = []
    for k, name in enumerate(log.names):
        for y, year in enumerate(log.years):
            values = log.accumulated[k, :, y]
            q = np.quantile(values, QUANTILES)
            rows.append({"scenario": log.scenario, "order": k, "mitigation": name,
                         "financial_year": fy_label(int(year)),
                         "delivery_probability": log.probabilities[k],
                         "delivered_share": float(log.delivered[k].mean()), "mean": float(values.mean()),
                         "p05": q[0], "p25": q[1], "p50": q[2], "p75": q[3], "p95": q[4],
                         "mean_in_year": float(log.in_year[k, :, y].mean())})
    return pd.DataFrame(rows)


def format_log(summary: pd.DataFrame) -> str:
    """End-of-run text: each mitigation's saving of the accumulated deficit in the last year."""
    last = summary["financial_year"].max()
    rows = summary[summary["financial_year"] == last].sort_values(["scenario", "order"])
    lines = [f"Mitigation log: saving of the accumulated deficit at 31 March {int(last[:4]) + 1} ({last}), GBP m, "
             "sequential attribution over paired runs",
             f"{'scenario':<14}{'mitigation':<34}{'P(delivered)':>13}{'mean':>8}{'90% interval':>18}"]
    for _, r in rows.iterrows():
        lines.append(f"{r['scenario']:<14}{r['mitigation']:<34}{r['delivery_probability']:13.0%}{r['mean'] / 1e6:8.1f}"
                     f"{f'[{r.p05 / 1e6:.1f}, {r.p95 / 1e6:.1f}]':>18}")
    for scenario, group in rows.groupby("scenario"):
        lines.append(f"{scenario:<14}{'total (= paired difference)':<34}{'':>13}{group['mean'].sum() / 1e6:8.1f}")
    return "\n".join(lines)
