"""The money model's tables: ``deficit/``, ``finance/``, ``summary.parquet``,
``exceedance.parquet``, the manifest's money context and the end-of-run text, from
:class:`~sendsim.money.model.MoneyResult`."""
from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sendsim.money.book import FinanceBook
from sendsim.money.model import DEFICIT_COLUMNS, LINE_KINDS, RAG_LEVELS, MoneyResult
from sendsim.money.prices import monthly_price_index
from sendsim.money.schema import fy_label
from sendsim.outputs.store import table_folder
from sendsim.outputs.tables import with_scenario
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


def _labels(years: np.ndarray) -> list[str]:
    return [fy_label(int(y)) for y in years]


def deficit_table(result: MoneyResult) -> pa.Table:
    """``deficit/``: one row per run and financial year."""
    R, Y = result.meets_target.shape
    run = np.repeat(result.runs, Y).astype(np.int32)
    year = np.tile(np.array(_labels(result.years), dtype=object), R)
    has_target = ~np.isnan(result.columns["sv_target_gbp"]).ravel()
    data = {"run": pa.array(run), "financial_year": pa.array(year, type=pa.string())}
    for name in DEFICIT_COLUMNS:
        values = result.columns[name].ravel()
        data[name] = pa.array(values, mask=~has_target if name in ("sv_target_gbp", "variance_gbp") else None)
    data["meets_target"] = pa.array(result.meets_target.ravel(), mask=~has_target)
    rag = np.array(RAG_LEVELS, dtype=object)[result.rag.ravel()]
    data["rag"] = pa.array(rag, type=pa.string(), mask=~has_target)
    data["deficit_cleared"] = pa.array(result.cleared.ravel())
    return pa.table(data)


def finance_table(result: MoneyResult) -> pa.Table:
    """``finance/``: one row per run, financial year and line (every spend, income, other-block
    and contribution line, GBP)."""
    R, Y = result.meets_target.shape
    names = list(LINE_KINDS)
    run = np.repeat(result.runs, Y * len(names)).astype(np.int32)
    year = np.tile(np.repeat(np.array(_labels(result.years), dtype=object), len(names)), R)
    line = np.tile(np.array(names, dtype=object), R * Y)
    kind = np.tile(np.array([LINE_KINDS[n] for n in names], dtype=object), R * Y)
    amount = np.stack([result.lines[n] for n in names], axis=2).reshape(-1)
    return pa.table({"run": pa.array(run), "financial_year": pa.array(year, type=pa.string()),
                     "kind": pa.array(kind, type=pa.string()).dictionary_encode(),
                     "line": pa.array(line, type=pa.string()).dictionary_encode(),
                     "amount_gbp": pa.array(amount)})


def summary_frame(result: MoneyResult, scenario: str) -> pd.DataFrame:
    """``summary.parquet``: per financial year and metric, the mean and quantiles over runs and
    the probability of meeting the profile (the same for every metric of a year)."""
    rows = []
    for k, fy in enumerate(_labels(result.years)):
        metrics: dict[str, np.ndarray] = {name: result.columns[name][:, k] for name in DEFICIT_COLUMNS}
        metrics["meets_target"] = result.meets_target[:, k].astype(float)
        for level_index, level in enumerate(RAG_LEVELS):
            metrics[f"rag_{level}"] = (result.rag[:, k] == level_index).astype(float)
        metrics["deficit_cleared"] = result.cleared[:, k].astype(float)
        for line, kind in LINE_KINDS.items():
            metrics[f"{kind}:{line}"] = result.lines[line][:, k]
        has_target = not np.isnan(result.columns["sv_target_gbp"][0, k])
        probability = float(result.meets_target[:, k].mean()) if has_target else np.nan
        for metric, values in metrics.items():
            if np.isnan(values).all():
                continue
            q = np.quantile(values, QUANTILES)
            rows.append({"scenario": scenario, "financial_year": fy, "metric": metric,
                         "mean": float(values.mean()), "p05": q[0], "p25": q[1], "p50": q[2], "p75": q[3],
                         "p95": q[4], "prob_meets_target": probability})
    return pd.DataFrame(rows)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def exceedance_step_gbp(result: MoneyResult) -> float:
    """The spacing of the exceedance grid: a round number (1, 2 or 5 times a power of ten) near
    a hundredth of the larger of the opening deficit and the profile, so that every scenario
    of a run (same opening, same profile) has the same grid; at least GBP 1,000."""
    profile = result.columns["sv_target_gbp"]
    scale = max([abs(result.opening_gbp)] + ([float(np.nanmax(np.abs(profile)))] if np.isfinite(profile).any()
                                             else []))
    raw = max(scale / 100.0, 1e3)
    power = 10.0 ** math.floor(math.log10(raw))
    return next(power * m for m in (1.0, 2.0, 5.0, 10.0) if power * m >= raw * (1 - 1e-12))


def exceedance_frame(result: MoneyResult, scenario: str) -> pd.DataFrame:
    """``exceedance.parquet``: per financial year, the share of runs whose accumulated deficit
    (profile basis) is above each threshold of a grid (:func:`exceedance_step_gbp` apart, from
    0 or the lowest run down, to the first grid point at or above every run: above it the
    probability is 0)."""
    step = exceedance_step_gbp(result)
    frames = []
    for k, fy in enumerate(_labels(result.years)):
        values = np.sort(result.columns["accumulated_deficit_gbp"][:, k])
        low = min(0.0, math.floor(values[0] / step) * step)
        high = math.ceil(values[-1] / step) * step
        thresholds = low + step * np.arange(int(round((high - low) / step)) + 1)
        above = values.size - np.searchsorted(values, thresholds, side="right")
        frames.append(pd.DataFrame({"scenario": scenario, "financial_year": fy, "threshold_gbp": thresholds,
                                    "prob_above": above / values.size}))
    return pd.concat(frames, ignore_index=True)


def money_files(result: MoneyResult, scenario: str) -> dict[str, bytes]:
    """The money outputs as files relative to the output folder (written through the store),
    each partitioned table's file with the scenario as a column."""
    label = f"runs-{int(result.runs.min()):06d}-{int(result.runs.max()):06d}.parquet"
    summary = pa.Table.from_pandas(summary_frame(result, scenario), preserve_index=False)
    return {f"{table_folder('deficit', scenario)}/{label}": parquet_bytes(with_scenario(deficit_table(result),
                                                                                        scenario)),
            f"{table_folder('finance', scenario)}/{label}": parquet_bytes(with_scenario(finance_table(result),
                                                                                        scenario)),
            "summary.parquet": parquet_bytes(summary)}


def yearly_price_index(finance: FinanceBook, calendar: Calendar, years: np.ndarray) -> dict[str, dict[str, float]]:
    """Each placement's price level in each of ``years`` (financial years, the year they start
    in) relative to the run's first financial year, as the money model applies it to the
    engine's spend (:func:`~sendsim.money.prices.monthly_price_index`: one level a year)."""
    index = monthly_price_index(finance, calendar)
    year_of_month = calendar.financial_years()
    out = {}
    for year in years:
        first_month = int(np.flatnonzero(year_of_month == int(year))[0])
        out[fy_label(int(year))] = {p: float(index[first_month, k]) for k, p in enumerate(codes.PLACEMENTS)}
    return out


def money_context(result: MoneyResult, finance: FinanceBook, calendar: Calendar | None = None) -> dict:
    """What a reader of the outputs needs beside the tables (kept in the manifest): the opening
    position, the profile, the council's forecast and the outturns (GBP), the RAG rule, and
    (given the run's calendar) each placement's yearly price index."""
    def series(name: str) -> dict[str, float | None]:
        return {fy_label(y): finance.year_value(name, y) for y in finance.years(name)}
    override_end = finance.override_end_year()
    context = {"opening_year": fy_label(result.opening_year), "opening_gbp": result.opening_gbp,
            "opening_after_contributions_gbp": result.opening_after_contributions_gbp,
            "years": _labels(result.years), "sv_profile_gbp": series("sv_profile"),
            "council_forecast_gbp": series("council_forecast"),
            "outturn_gbp": series("accumulated_deficit_outturn"),
            "rag_amber_tolerance": finance.scalar("rag_amber_tolerance"),
            "dfe_instalments_conditional": finance.scalar("dfe_instalments_conditional") == 1.0,
            "dfe_instalment_due_gbp": {fy_label(y): finance.dfe_instalment(y) for y in finance.agreement_years()},
            "statutory_override_ends": fy_label(override_end) if override_end is not None else None,
            "sv_ehcp_estimates": {fy_label(y): bands for y, bands in sorted(finance.sv_ehcp_estimates().items())}}
    if calendar is not None:
        context["price_index"] = yearly_price_index(finance, calendar, result.years)
    return context


def format_deficit(result: MoneyResult, finance: FinanceBook) -> str:
    """The end-of-run text: per year the median and 90% interval of the accumulated deficit,
    the profile, and the probability of meeting it; and whether the deficit is cleared."""
    lines = [f"Accumulated DSG deficit at 31 March, GBP m (profile basis: after the council's contributions, "
             f"before the Department's instalments); {result.runs.size} runs, from {result.opening_gbp / 1e6:.1f} "
             f"at 31 March {result.opening_year + 1}",
             f"{'year':<9}{'median':>9}{'90% interval':>18}{'profile':>9}{'P(meets)':>10}"
             f"{'after DfE, median':>19}{'P(cleared)':>12}"]
    for k, fy in enumerate(_labels(result.years)):
        acc = result.columns["accumulated_deficit_gbp"][:, k] / 1e6
        after = result.columns["accumulated_deficit_after_contributions_gbp"][:, k] / 1e6
        q = np.quantile(acc, [0.5, 0.05, 0.95])
        profile = finance.profile(int(result.years[k]))
        target = f"{profile / 1e6:9.1f}" if profile is not None else f"{'-':>9}"
        chance = f"{result.meets_target[:, k].mean():10.0%}" if profile is not None else f"{'-':>10}"
        lines.append(f"{fy:<9}{q[0]:9.1f}{f'[{q[1]:.1f}, {q[2]:.1f}]':>18}{target}{chance}"
                     f"{np.median(after):19.1f}{result.cleared[:, k].mean():12.0%}")
    return "\n".join(lines)


