"""The board-ready workbook of a report (``summary.xlsx``, openpyxl).

Every sheet is one Excel table (with filters) starting in cell A1: bold headers with their
units, a label on every row, frozen header row and first column, column widths to fit, money
in millions to one decimal (``#,##0.0``), probabilities and shares as percentages, counts with
thousands separators, dates as real dates. Codes are shown by their readable names
(:mod:`sendsim.outputs.labels`); the code is kept in a column where a reader may want to join
on it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from sendsim.outputs.bridge import COMPONENTS, MITIGATIONS
from sendsim.outputs.charts import bands_text
from sendsim.outputs.labels import (
    AGE_BAND_LABELS,
    BRIDGE_LABELS,
    KIND_LABELS,
    LINE_LABELS,
    PLACEMENT_LABELS,
    SHARE_METRICS,
    label,
)
from sendsim.outputs.report_data import ReportData
from sendsim.simcore import codes

GBP_M = 1e6
# Number formats by kind of column.
FORMATS = {"gbp_m": "#,##0.0", "pct": "0%", "pct1": "0.0%", "count": "#,##0", "date": "d mmm yyyy",
           "month": "mmm yyyy", "ratio": "0.0000", "number": "#,##0.00", "text": "@"}
MAX_WIDTH = 60
TABLE_STYLE = "TableStyleMedium2"


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header (with the unit) and its kind (a key of FORMATS)."""

    header: str
    kind: str


def _cell_value(value, kind: str):
    """A value as the cell holds it: money in millions, dates as datetimes, missing as empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if kind == "gbp_m":
        return float(value) / GBP_M
    if kind in ("date", "month"):
        return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
    if kind == "count":
        return int(round(float(value)))
    if kind == "text":
        return str(value)
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def _shown_width(value, kind: str) -> int:
    if value is None:
        return 0
    if kind in ("date", "month"):
        return 12
    if isinstance(value, float):
        return len(f"{value:,.1f}") + 1
    return len(str(value))


def _table_name(title: str, used: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", title).strip("_") or "Table"
    if not name[0].isalpha():
        name = "T_" + name
    candidate, k = name, 2
    while candidate.lower() in used:
        candidate, k = f"{name}_{k}", k + 1
    used.add(candidate.lower())
    return candidate


def add_sheet(book: Workbook, title: str, columns: list[Column], rows: list[list], used_names: set[str],
              row_formats: list[dict[int, str]] | None = None) -> None:
    """A sheet holding one Excel table: headers in row 1 (bold, wrapped), the rows below, frozen
    panes below the headers and right of the first column, widths fitted, number formats set.

    Parameters
    ----------
    row_formats
        Per row, {column index: kind} overriding the column's kind (a table mixing money and
        shares, one per row).
    """
    sheet = book.create_sheet(title[:31])
    headers = [c.header for c in columns]
    if len(set(headers)) != len(headers):
        raise ValueError(f"sheet {title}: headers must be unique, got {headers}")
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [min(max(len(h) // 2 + 2, 10), MAX_WIDTH) for h in headers]
    for r, row in enumerate(rows):
        kinds = [c.kind for c in columns]
        if row_formats is not None:
            for index, kind in row_formats[r].items():
                kinds[index] = kind
        values = [_cell_value(v, kind) for v, kind in zip(row, kinds)]
        sheet.append(values)
        for k, (cell, kind) in enumerate(zip(sheet[sheet.max_row], kinds)):
            cell.number_format = FORMATS[kind]
            widths[k] = min(max(widths[k], _shown_width(values[k], kind) + 2), MAX_WIDTH)
    for k, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(k)].width = width
        if width >= MAX_WIDTH and columns[k - 1].kind == "text":  # long texts wrap within the column
            for (cell,) in sheet.iter_rows(min_row=2, min_col=k, max_col=k):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[1].height = 15 * max(1, max(math.ceil(len(h) / max(w - 1, 1)) for h, w in
                                                    zip(headers, widths)))
    sheet.freeze_panes = "B2"
    last = f"{get_column_letter(len(columns))}{max(sheet.max_row, 2)}"
    if sheet.max_row == 1:
        sheet.append([None] * len(columns))  # an Excel table needs a row below its headers
    table = Table(displayName=_table_name(title, used_names), ref=f"A1:{last}")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True, showColumnStripes=False)
    sheet.add_table(table)


def _year_end(year: str) -> datetime:
    return datetime(int(year[:4]) + 1, 3, 31)


def _about_rows(data: ReportData, sheets: list[tuple[str, str]]) -> list[list]:
    manifest = data.manifest
    rows = [["Report", f"sendsim: DSG deficit and high-needs spend ({data.scenario})"],
            ["Output folder", str(data.folder)],
            ["Scenarios", ", ".join(data.scenarios)],
            ["Runs per scenario", f"{data.runs:,}"],
            ["Seed", str(manifest.get("seed"))],
            ["Months simulated", f"{manifest['start']} to {manifest['end']} ({manifest['months']} months)"],
            ["What the intervals hold", bands_text(data.uncertainty)],
            ["Money", "GBP millions (m), nominal (each year's prices), one decimal; probabilities and shares as %"],
            ["Accumulated deficit", "On the Safety Valve profile's basis: after the council's contributions, before "
                                    "the Department's instalments"],
            ["sendsim version", f"{manifest.get('package_version', 'unknown')} (git {manifest.get('git_commit')})"]]
    rows += [[f"Sheet: {name}", what] for name, what in sheets]
    return rows


def write_workbook(path: Path, data: ReportData) -> list[str]:
    """Write the report's workbook to ``path``; return the names of its sheets."""
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    sheets: list[tuple[str, str]] = []
    builders = []
    if data.money is not None:
        builders += [("Deficit", "Accumulated DSG deficit by year: median, percentiles, profile, forecast, chances",
                      _deficit_sheet),
                     ("Exceedance", "P(accumulated deficit > X) on a grid of X, per scenario and year",
                      _exceedance_sheet),
                     ("Bridge", "What moved the in-year deficit, year on year (means over runs)", _bridge_sheet)]
        if data.compared:
            builders.append(("Scenarios", "Each scenario minus the baseline, paired by run: mean and percentiles",
                             _scenarios_sheet))
        builders.append(("Lines", "Every spend, income, other-block and contribution line, median (GBP m)",
                         _lines_sheet))
    builders += [("EHCPs", "EHCPs at each January by placement (medians), total with interval and references",
                  _ehcp_sheet),
                 ("EHCPs by age", "EHCPs at each January by age band against the Safety Valve estimates",
                  _ehcp_age_sheet)]
    if data.money is not None:
        builders.append(("All metrics", "Every money metric of summary.parquet, every scenario and year",
                         _metrics_sheet))
    sheets = [(name, what) for name, what, _ in builders]
    add_sheet(book, "About", [Column("Item", "text"), Column("Detail", "text")], _about_rows(data, sheets), used)
    for name, _, build in builders:
        build(book, name, data, used)
    notes = [["Quantiles", "Over Monte Carlo runs: the 5th and 95th percentiles bound the 90% interval."],
             ["P(meets profile)", "Share of runs whose accumulated deficit is at or below the Safety Valve profile."],
             ["RAG", f"Green: at or below the profile; amber: above by at most "
                     f"{(data.money or {}).get('rag_amber_tolerance', 0.05):.0%} of it; red: beyond."],
             ["Scenarios", "Scenario minus baseline in the same run (common random numbers): the lever's effect."],
             ["Bridge", "Demand = change in plans at last year's average cost; prices = the placement price index; "
                        "mix = the rest of the placement spend change; income = minus its change; mitigations = "
                        "a scenario's change against the baseline (docs/outputs.md)."],
             ["Dates", "Months are shown by their last day (the tables' date convention); January is the census "
                       "month; financial years run April to March and end on 31 March."],
             ["Definitions", "Every column: README (Outputs) and docs/money.md, docs/outputs.md."]]
    add_sheet(book, "Notes", [Column("Topic", "text"), Column("Note", "text")], notes, used)
    book.save(path)
    return book.sheetnames


def _deficit_sheet(book: Workbook, name: str, data: ReportData, used: set[str]) -> None:
    columns = [Column("Financial year", "text"), Column("Year end", "date"),
               Column("In-year high-needs deficit, median (£m)", "gbp_m"),
               Column("Accumulated deficit, median (£m)", "gbp_m"), Column("Accumulated, 5th percentile (£m)", "gbp_m"),
               Column("Accumulated, 25th percentile (£m)", "gbp_m"),
               Column("Accumulated, 75th percentile (£m)", "gbp_m"),
               Column("Accumulated, 95th percentile (£m)", "gbp_m"), Column("Safety Valve profile (£m)", "gbp_m"),
               Column("Council forecast (£m)", "gbp_m"), Column("P(at or below the profile) (%)", "pct"),
               Column("RAG green (% of runs)", "pct"), Column("RAG amber (% of runs)", "pct"),
               Column("RAG red (% of runs)", "pct"), Column("After DfE instalments, median (£m)", "gbp_m"),
               Column("P(deficit cleared) (%)", "pct")]
    rows = []
    for year, r in data.deficit.iterrows():
        rows.append([year, _year_end(str(year)), r["in_year_p50"], r["accumulated_p50"], r["accumulated_p05"],
                     r["accumulated_p25"], r["accumulated_p75"], r["accumulated_p95"], r["profile"],
                     r["council_forecast"], r["prob_meets"], r["share_green"], r["share_amber"], r["share_red"],
                     r["after_instalments_p50"], r["prob_cleared"]])
    add_sheet(book, name, columns, rows, used)


def _exceedance_sheet(book: Workbook, name: str, data: ReportData, used: set[str]) -> None:
    columns = [Column("Scenario", "text"), Column("Financial year", "text"), Column("Year end", "date"),
               Column("Threshold X (£m)", "gbp_m"), Column("P(accumulated deficit > X) (%)", "pct1")]
    rows = [[str(r.scenario), str(r.financial_year), _year_end(str(r.financial_year)), r.threshold_gbp, r.prob_above]
            for r in data.exceedance.itertuples(index=False)]
    add_sheet(book, name, columns, rows, used)


def _bridge_sheet(book: Workbook, name: str, data: ReportData, used: set[str]) -> None:
    components = list(COMPONENTS) + [MITIGATIONS]
    columns = ([Column("Scenario", "text"), Column("Financial year", "text"), Column("From year", "text"),
                Column("In-year deficit, year before (£m)", "gbp_m")]
               + [Column(f"{BRIDGE_LABELS[c]} (£m)", "gbp_m") for c in components]
               + [Column("In-year deficit (£m)", "gbp_m")])
    rows = [[r["scenario"], r["financial_year"], r["previous_year"], r["in_year_deficit_before_gbp"]]
            + [r[f"{c}_gbp"] for c in components] + [r["in_year_deficit_after_gbp"]]
            for _, r in data.bridge.iterrows()]
    add_sheet(book, name, columns, rows, used)


def _scenarios_sheet(book: Workbook, name: str, data: ReportData, used: set[str]) -> None:
    table = data.scenario_table.copy()
    table["scenario"] = table["scenario"].astype(str)
    info = table.set_index("scenario")
    levers = [c for c in table.columns if c.startswith("sweep_")]
    columns = ([Column("Scenario", "text"), Column("Description", "text"), Column("First effective", "month")]
               + [Column(f"Lever {c.removeprefix('sweep_')}", "number") for c in levers]
               + [Column("Financial year", "text"), Column("Measure (scenario minus baseline)", "text"),
                  Column("Mean (£m)", "gbp_m"), Column("5th percentile (£m)", "gbp_m"),
                  Column("25th percentile (£m)", "gbp_m"), Column("Median (£m)", "gbp_m"),
                  Column("75th percentile (£m)", "gbp_m"), Column("95th percentile (£m)", "gbp_m"),
                  Column("P(lower than the baseline) (%)", "pct"),
                  Column("Variance paired / unpaired", "ratio")])
    rows = []
    for _, r in data.differences.iterrows():
        scenario = str(r["scenario"])
        first = info.loc[scenario, "first_effective"] if "first_effective" in info.columns else None
        first = pd.Timestamp(f"{first}-01") + pd.offsets.MonthEnd(0) if isinstance(first, str) and first else None
        rows.append([scenario, info.loc[scenario, "description"], first] + [info.loc[scenario, c] for c in levers]
                    + [str(r["financial_year"]), label(str(r["metric"])), r["mean"], r["p05"], r["p25"], r["p50"],
                       r["p75"], r["p95"], r["prob_lower"], r["variance_ratio"]])
    add_sheet(book, name, columns, rows, used)


def _lines_sheet(book: Workbook, name: str, data: ReportData, used: set[str]) -> None:
    years = list(data.lines.columns)
    columns = ([Column("Kind", "text"), Column("Line", "text"), Column("Code", "text")]
               + [Column(f"{y} median (£m)", "gbp_m") for y in years])
    rows = [[KIND_LABELS.get(kind, label(kind)), LINE_LABELS.get(line, label(line)), line] + list(values)
            for (kind, line), values in zip(data.lines.index, data.lines.to_numpy())]
    add_sheet(book, name, columns, rows, used)


def _reference_by_month(data: ReportData, key: str, band: str = "total") -> dict[str, float]:
    if not data.reference:
        return {}
    return {r["month"]: r["ehcps"] for r in data.reference.get(key, [])
            if key != "ehcp_safety_valve_estimates" or r.get("age_band") == band}


def _ehcp_sheet(book: Workbook, name: str, data: ReportData, used: set[str]) -> None:
    placement = data.ehcp_placement
    januaries = [d for d in placement.index if pd.Timestamp(d).month == 1]
    actual = _reference_by_month(data, "ehcp_sen2_actuals")
    estimate = _reference_by_month(data, "ehcp_safety_valve_estimates")
    columns = ([Column("January census (month end)", "month")]
               + [Column(f"{PLACEMENT_LABELS[p]}, median (plans)", "count") for p in codes.PLACEMENTS]
               + [Column("All EHCPs, median (plans)", "count"), Column("All EHCPs, 5th percentile (plans)", "count"),
                  Column("All EHCPs, 95th percentile (plans)", "count"),
                  Column("SEN2 actual (plans)", "count"), Column("Safety Valve estimate (plans)", "count")])
    rows = []
    for date in januaries:
        month = pd.Timestamp(date).strftime("%Y-%m")
        rows.append([date] + [placement.loc[date, ("p50", p)] for p in codes.PLACEMENTS]
                    + [data.ehcp_total.loc[date, q] for q in ("p50", "p05", "p95")]
                    + [actual.get(month), estimate.get(month)])
    add_sheet(book, name, columns, rows, used)


def _ehcp_age_sheet(book: Workbook, name: str, data: ReportData, used: set[str]) -> None:
    columns = [Column("January census (month end)", "month"), Column("Age band", "text"), Column("Code", "text"),
               Column("EHCPs, median (plans)", "count"), Column("EHCPs, 5th percentile (plans)", "count"),
               Column("EHCPs, 95th percentile (plans)", "count"), Column("Safety Valve estimate (plans)", "count")]
    rows = []
    r: Any  # a row of the frame: its fields are the frame's cells
    for r in data.ehcp_age_january.itertuples(index=False):
        month = pd.Timestamp(r.date).strftime("%Y-%m")
        band = str(r.age_band)
        estimate = _reference_by_month(data, "ehcp_safety_valve_estimates", band).get(month)
        rows.append([r.date, AGE_BAND_LABELS[band], band, r.p50, r.p05, r.p95, estimate])
    add_sheet(book, name, columns, rows, used)


def _metrics_sheet(book: Workbook, name: str, data: ReportData, used: set[str]) -> None:
    quantiles = (("mean", "Mean"), ("p05", "5th percentile"), ("p25", "25th percentile"), ("p50", "Median"),
                 ("p75", "75th percentile"), ("p95", "95th percentile"))
    columns = ([Column("Scenario", "text"), Column("Financial year", "text"), Column("Metric", "text"),
                Column("Code", "text"), Column("Unit", "text")]
               + [Column(f"{title} (£m or %)", "gbp_m") for _, title in quantiles])
    rows, formats = [], []
    for r in data.summary.itertuples(index=False):
        metric = str(r.metric)
        share = metric in SHARE_METRICS
        rows.append([str(r.scenario), str(r.financial_year), label(metric), metric, "% of runs" if share else "£m"]
                    + [getattr(r, q) for q, _ in quantiles])
        formats.append({5 + k: "pct" for k in range(len(quantiles))} if share else {})
    add_sheet(book, name, columns, rows, used, formats)
