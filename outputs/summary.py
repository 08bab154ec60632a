"""Small per-run aggregates kept in memory during a run, and the end-of-run summary.

Only a few numbers per run are kept (EHCPs by age band at each January, spend by financial
year), so memory stays flat however many runs are made.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, ChunkResult


class RunAggregates:
    """Accumulates per-run headline figures chunk by chunk."""

    # The per-run figures a chunk yields (saved beside it so that --resume can summarise it).
    FIGURES = ("runs", "ehcps_by_band", "spend_by_fy_placement", "plans_by_january_placement",
               "months_by_fy_band_placement")

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        months = np.arange(calendar.n_months)
        self.january_months = np.array([m for m in months if calendar.year_month(int(m))[1] == 1], dtype=np.int64)
        fy = calendar.financial_years()
        self.financial_years = np.unique(fy)
        self._fy_of_month = fy
        self.runs: list[np.ndarray] = []
        self.ehcps_by_band: list[np.ndarray] = []   # [R, n_january, B]
        self.spend_by_fy: list[np.ndarray] = []     # [R, n_fy]
        self.spend_by_fy_placement: list[np.ndarray] = []  # [R, n_fy, P]
        self.plans_by_january_placement: list[np.ndarray] = []  # [R, n_january, P]
        self.months_by_fy_band_placement: list[np.ndarray] = []  # [R, n_fy, B, P] plan-months

    def of_chunk(self, chunk: ChunkResult) -> dict[str, np.ndarray]:
        """The per-run figures of one chunk (small: kept, and saved beside the chunk so that a
        resumed run can summarise the runs written before the interruption)."""
        by_fy = np.stack([chunk.cost[:, self._fy_of_month == y].sum(axis=1) for y in self.financial_years], axis=1)
        by_band = chunk.stock.sum(axis=4)  # [R, T, B, P]
        months = np.stack([by_band[:, self._fy_of_month == y].sum(axis=1) for y in self.financial_years], axis=1)
        return {"runs": chunk.runs, "ehcps_by_band": chunk.stock[:, self.january_months].sum(axis=(3, 4)),
                "spend_by_fy_placement": by_fy,
                "plans_by_january_placement": by_band[:, self.january_months].sum(axis=2),
                "months_by_fy_band_placement": months.astype(np.int64)}

    def add(self, figures: dict[str, np.ndarray]) -> None:
        self.runs.append(figures["runs"])
        self.ehcps_by_band.append(figures["ehcps_by_band"])
        self.spend_by_fy_placement.append(figures["spend_by_fy_placement"])
        self.spend_by_fy.append(figures["spend_by_fy_placement"].sum(axis=2))
        self.plans_by_january_placement.append(figures["plans_by_january_placement"])
        self.months_by_fy_band_placement.append(figures["months_by_fy_band_placement"])

    def sorted_by_run(self) -> RunAggregates:
        """The same figures with runs in ascending order (chunks may arrive in any order)."""
        order = np.argsort(np.concatenate(self.runs), kind="stable")
        out = RunAggregates(self.calendar)
        out.add({name: np.concatenate(getattr(self, name))[order] for name in self.FIGURES})
        return out

    def complete_financial_years(self) -> np.ndarray:
        """Financial years fully inside the run (all twelve months simulated)."""
        counts = np.array([(self._fy_of_month == y).sum() for y in self.financial_years])
        return self.financial_years[counts == 12]

    def complete_mask(self) -> np.ndarray:
        """For each of ``financial_years``, whether all twelve months are simulated."""
        return np.isin(self.financial_years, self.complete_financial_years())

    def plans_by_financial_year(self) -> np.ndarray:
        """[R, F] plans at the January census that falls in each financial year (0 if none)."""
        values = np.concatenate(self.ehcps_by_band).sum(axis=2)
        out = np.zeros((values.shape[0], self.financial_years.size), dtype=np.int64)
        for j, m in enumerate(self.january_months):
            out[:, int(np.searchsorted(self.financial_years, self._fy_of_month[m]))] = values[:, j]
        return out

    def plans_by_fy_placement(self) -> np.ndarray:
        """[R, F, P] plans at the January census in each financial year, by placement (0 if none)."""
        values = np.concatenate(self.plans_by_january_placement)
        out = np.zeros((values.shape[0], self.financial_years.size, values.shape[2]), dtype=np.int64)
        for j, m in enumerate(self.january_months):
            out[:, int(np.searchsorted(self.financial_years, self._fy_of_month[m]))] = values[:, j]
        return out

    def months_by_fy(self) -> np.ndarray:
        """[R, F, B, P] plan-months in each financial year by age band and placement."""
        return np.concatenate(self.months_by_fy_band_placement)

    def money_inputs(self) -> dict[str, np.ndarray]:
        """The run's figures as the money model reads them (keyword arguments of run_money)."""
        return {"spend_by_fy_placement": np.concatenate(self.spend_by_fy_placement),
                "plans_by_fy": self.plans_by_financial_year(),
                "plans_by_fy_placement": self.plans_by_fy_placement(),
                "months_by_fy_band_placement": self.months_by_fy()}

    def ehcp_frame(self) -> pd.DataFrame:
        """Long table: run, date (January), age_band, ehcps."""
        values = np.concatenate(self.ehcps_by_band)
        runs = np.concatenate(self.runs)
        rows = []
        for j, m in enumerate(self.january_months):
            for b, band in enumerate(codes.AGE_BANDS):
                rows.append(pd.DataFrame({"run": runs, "date": self.calendar.label(int(m)), "age_band": band,
                                          "ehcps": values[:, j, b]}))
        return pd.concat(rows, ignore_index=True)

    def spend_frame(self) -> pd.DataFrame:
        """Long table: run, financial_year ('2024-25'), spend_gbp (complete years only)."""
        values = np.concatenate(self.spend_by_fy)
        runs = np.concatenate(self.runs)
        complete = set(self.complete_financial_years().tolist())
        rows = []
        for j, y in enumerate(self.financial_years):
            if int(y) in complete:
                rows.append(pd.DataFrame({"run": runs, "financial_year": fy_label(int(y)),
                                          "spend_gbp": values[:, j]}))
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
            columns=["run", "financial_year", "spend_gbp"])


def fy_label(start_year: int) -> str:
    """Financial year label: 2024 -> '2024-25'."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def interval_text(values: np.ndarray, scale: float = 1.0, digits: int = 0) -> str:
    """'median [p05, p95]' of ``values / scale``."""
    q = np.quantile(np.asarray(values, dtype=float) / scale, [0.5, 0.05, 0.95])
    fmt = f"{{:,.{digits}f}}"
    return f"{fmt.format(q[0])} [{fmt.format(q[1])}, {fmt.format(q[2])}]"


def format_summary(aggregates: RunAggregates) -> str:
    """The end-of-run text: EHCPs by age band at each January, spend by financial year."""
    lines = []
    ehcps = aggregates.ehcp_frame()
    n_runs = int(ehcps["run"].nunique())
    lines.append(f"EHCPs at each January: median [90% interval] over {n_runs} runs")
    table = [["January"] + list(codes.AGE_BANDS) + ["total"]]
    for date, group in ehcps.groupby("date", sort=True):
        row = [str(date)]
        for band in codes.AGE_BANDS:
            row.append(interval_text(group.loc[group.age_band == band, "ehcps"].to_numpy()))
        row.append(interval_text(group.groupby("run")["ehcps"].sum().to_numpy()))
        table.append(row)
    widths = [max(len(r[c]) for r in table) for c in range(len(table[0]))]
    for r in table:
        lines.append("  ".join([r[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(r[1:], widths[1:])]))
    spend = aggregates.spend_frame()
    if len(spend):
        lines.append("")
        lines.append("Placement spend by financial year, GBP m: median [90% interval]")
        for fy, group in spend.groupby("financial_year", sort=True):
            lines.append(f"  {fy}: {interval_text(group['spend_gbp'].to_numpy(), 1e6, 1)}")
    return "\n".join(lines)
