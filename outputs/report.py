"""The report of a finished run: charts (PNG), a self-contained HTML page and an Excel workbook.

``build_report(DIR)`` reads the run through the checks of :mod:`sendsim.outputs.reader` (the
manifest is not trusted: a missing, damaged or edited file ends in a :class:`ReportError`
naming the file and what to change) and writes, by default into ``DIR/report/``:

- ``deficit_fan.png``: the accumulated DSG deficit from the opening outturn, median with 50%
  and 90% bands over runs (the title says what the bands hold), the Safety Valve profile and
  the council's forecast (visible where it equals the profile);
- ``deficit_exceedance.png``: P(deficit > X) against X for the last year, the profile marked;
- ``deficit_bridge.png``: the in-year deficit's year-on-year bridge (demand, prices, mix,
  other lines, income; :mod:`sendsim.outputs.bridge`), when the run has two years or more;
- ``scenario_differences.png``: each scenario minus the baseline (paired), for a run with
  scenarios;
- ``ehcps_total.png``: all EHCPs against the SEN2 actuals and the Safety Valve estimates;
- ``ehcps_by_placement.png``, ``spend_by_placement.png``;
- ``report.html``: one file, the charts embedded (base64), every table formatted and every
  value escaped;
- ``summary.xlsx``: the board-ready workbook (:mod:`sendsim.outputs.workbook`);
- any further workbook listed in :data:`EXTRA_WORKBOOKS`.

The charts describe the baseline (every run has it); the scenarios are compared with it. A run
with no complete financial year has no money outputs: its report has the EHCP charts only.
Files an earlier report wrote into the folder and this one does not are removed (the report
folder's marker lists them); nothing else there is touched.
"""
from __future__ import annotations

import base64
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sendsim.outputs import charts
from sendsim.outputs.bridge import COMPONENTS
from sendsim.outputs.charts import bands_text, year_end_label
from sendsim.outputs.dsg_plan import DSG_PLAN_FILE, dsg_plan_status, write_dsg_plan
from sendsim.outputs.labels import AGE_BAND_LABELS, BRIDGE_LABELS, KIND_LABELS, LINE_LABELS, PLACEMENT_LABELS, label
from sendsim.outputs.reader import ReadError
from sendsim.outputs.report_data import ReportData, gather
from sendsim.outputs.store import claim_report_folder
from sendsim.outputs.workbook import write_workbook
from sendsim.simcore import codes

GBP_M = 1e6
FAN_COLOUR = charts.FAN_COLOUR
# The scenario chart shows this many scenarios at most (a sweep may have thousands): the largest.
SCENARIOS_SHOWN = 25
logger = logging.getLogger("sendsim.outputs.report")


class ReportError(ReadError):
    """The folder is not a finished run the report can read (the message says what to change)."""


@dataclass(frozen=True)
class ExtraWorkbook:
    """A further workbook the report writes beside ``summary.xlsx``.

    Attributes
    ----------
    kind
        Its key in the files :func:`build_report` returns.
    file_name
        Its name in the report folder.
    write
        ``write(path, data)``: writes the workbook to ``path`` from the report's
        :class:`~sendsim.outputs.report_data.ReportData`.
    """

    kind: str
    file_name: str
    write: Callable[[Path, ReportData], object]
    applies: Callable[[ReportData], bool] = lambda data: True


# The one place where further workbooks join the report: each is claimed with the report's own
# files and written after summary.xlsx. The DfE DSG management plan (outputs/dsg_plan.py) needs
# a run holding the baseline and a mitigated scenario (`sendsim report` says what is missing).
EXTRA_WORKBOOKS: tuple[ExtraWorkbook, ...] = (
    ExtraWorkbook("dsg_plan", DSG_PLAN_FILE, lambda path, data: write_dsg_plan(data.folder, path),
                  lambda data: dsg_plan_status(data.folder) is None),
)


# ---- HTML ---------------------------------------------------------------------------------------------
def _text(value, kind: str) -> str:
    """A cell as text: money in millions to one decimal, shares as percentages, counts whole."""
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)) or value is pd.NaT:
        return ""
    if kind == "gbp_m":
        return f"{float(value) / GBP_M:,.1f}"
    if kind == "signed_gbp_m":
        return f"{float(value) / GBP_M:+,.1f}"
    if kind == "pct":
        return f"{float(value):.0%}"
    if kind == "count":
        return f"{int(round(float(value))):,}"
    if kind == "month":
        return pd.Timestamp(value).strftime("%b %Y")
    if kind == "ratio":
        return f"{float(value):.4f}"
    return str(value)


def html_table(caption: str, columns: list[tuple[str, str]], rows: list[list]) -> str:
    """A table with a caption, a header row and one row per entry; every header, caption and
    cell escaped; the first column is the row's label (a header cell)."""
    head = "".join(f"<th scope='col' class='{'text' if kind == 'text' else 'num'}'>{html.escape(header)}</th>"
                   for header, kind in columns)
    body = []
    for row in rows:
        cells = []
        for k, (value, (_, kind)) in enumerate(zip(row, columns)):
            text = html.escape(_text(value, kind))
            cells.append(f"<th scope='row'>{text}</th>" if k == 0 else
                         f"<td class='{'text' if kind == 'text' else 'num'}'>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table class='numbers'><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def html_page(title: str, intro: list[str], sections: list[tuple[str, list[tuple[str, object]]]]) -> str:
    """One self-contained page: ``sections`` of (heading, items), each item a chart
    (caption, PNG bytes) or a table (``html_table`` text, given as a str)."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.4}"
             "table.numbers{border-collapse:collapse;font-size:13px;margin:1em 0}"
             "table.numbers caption{text-align:left;font-weight:bold;padding:4px 0}"
             "table.numbers td,table.numbers th{padding:3px 8px;border-bottom:1px solid #ddd}"
             "table.numbers td.num{text-align:right;font-variant-numeric:tabular-nums}"
             "table.numbers th[scope=row]{text-align:left;font-weight:normal}"
             "table.numbers thead th{text-align:right;vertical-align:bottom}"
             "table.numbers thead th.text{text-align:left}"
             "figure{margin:1.5em 0}figcaption{font-size:13px;color:#444}"
             "img.chart{max-width:100%;border:1px solid #eee}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    parts += [f"<p>{paragraph}</p>" for paragraph in intro]
    for heading, items in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for caption, item in items:
            if isinstance(item, bytes):
                encoded = base64.b64encode(item).decode("ascii")
                parts.append(f"<figure><img class='chart' alt='{html.escape(caption, quote=True)}' "
                             f"src='data:image/png;base64,{encoded}'><figcaption>{html.escape(caption)}</figcaption>"
                             "</figure>")
            else:
                parts.append(str(item))
    parts.append("</body></html>")
    return "\n".join(parts)


def _intro(data: ReportData) -> list[str]:
    manifest, e = data.manifest, html.escape
    scenarios = (f"; the run also holds {len(data.scenarios) - 1} scenario{'s' * (len(data.scenarios) > 2)}, "
                 "compared with it below" if len(data.scenarios) > 1 else "")
    first = (f"Scenario <b>{e(data.scenario)}</b>{e(scenarios)}. {data.runs:,} runs (seed {e(str(manifest['seed']))}), "
             f"{e(manifest['start'])} to {e(manifest['end'])}. "
             f"Intervals and bands hold {e(bands_text(data.uncertainty))}.")
    paragraphs = [first]
    if data.money is None:
        paragraphs.append("The run holds no complete financial year (April to March) after its opening one, so it has "
                          "no money outputs: this report shows the EHCPs only. Run more months for the deficit.")
        return paragraphs
    money, deficit, last = data.money, data.deficit, data.money_last_year
    row = deficit.loc[last]
    profile = "" if np.isnan(row["profile"]) else (
        f" against a profile of {row['profile'] / GBP_M:,.1f}m; the probability of meeting it is "
        f"{row['prob_meets']:.0%}")
    paragraphs.append(
        f"Runs start from the accumulated DSG deficit outturn of {money['opening_gbp'] / GBP_M:,.1f}m at "
        f"{e(year_end_label(money['opening_year']))}. The accumulated deficit is on the Safety Valve profile's basis: "
        "after the council's contributions, before the Department's instalments. A year meets the profile (green) "
        f"when the deficit is at or below it; amber when above by at most {money['rag_amber_tolerance']:.0%} of it; "
        f"red beyond. At {e(year_end_label(last))} the median is {row['accumulated_p50'] / GBP_M:,.1f}m{e(profile)}, "
        f"and of the deficit being cleared after the Department's instalments {row['prob_cleared']:.0%}.")
    return paragraphs


def _deficit_table(data: ReportData) -> str:
    columns = [("Financial year", "text"), ("In-year HN deficit, median (£m)", "gbp_m"),
               ("Accumulated, median (£m)", "gbp_m"), ("5th pct (£m)", "gbp_m"), ("25th pct (£m)", "gbp_m"),
               ("75th pct (£m)", "gbp_m"), ("95th pct (£m)", "gbp_m"), ("Profile (£m)", "gbp_m"),
               ("Council forecast (£m)", "gbp_m"), ("P(meets profile)", "pct"), ("Green", "pct"), ("Amber", "pct"),
               ("Red", "pct"), ("After DfE instalments, median (£m)", "gbp_m"), ("P(deficit cleared)", "pct")]
    rows = [[year, r["in_year_p50"], r["accumulated_p50"], r["accumulated_p05"], r["accumulated_p25"],
             r["accumulated_p75"], r["accumulated_p95"], r["profile"], r["council_forecast"], r["prob_meets"],
             r["share_green"], r["share_amber"], r["share_red"], r["after_instalments_p50"], r["prob_cleared"]]
            for year, r in data.deficit.iterrows()]
    return html_table("Accumulated DSG deficit at 31 March, GBP m: median and percentiles over runs, the profile, "
                      "the council's forecast and the chances", columns, rows)


def _exceedance_table(data: ReportData, values: np.ndarray, profile: float | None) -> str:
    """P(deficit > X) at the profile and at round values across the runs' range (last year)."""
    low, high = np.quantile(values, [0.02, 0.98])
    step = max(5e6, float(np.ceil((high - low) / 8 / 5e6) * 5e6))
    thresholds = list(np.arange(np.floor(low / step) * step, high + step, step))
    if profile is not None:
        thresholds.append(profile)
    thresholds = sorted(set(float(x) for x in thresholds))
    rows = [[f"{x / GBP_M:,.1f}" + (" (profile)" if profile is not None and x == profile else ""),
             float((values > x).mean())] for x in thresholds]
    return html_table(f"P(accumulated deficit at {year_end_label(data.money_last_year)} > X), share of runs",
                      [("X (£m)", "text"), ("P(deficit > X)", "pct")], rows)


def _bridge_table(data: ReportData) -> str:
    rows_frame = data.bridge[data.bridge["scenario"] == data.scenario]
    columns = ([("Financial year", "text"), ("In-year deficit, year before (£m)", "gbp_m")]
               + [(f"{BRIDGE_LABELS[c].split(' (')[0]} (£m)", "signed_gbp_m") for c in COMPONENTS]
               + [("In-year deficit (£m)", "gbp_m")])
    rows = [[f"{r['previous_year']} to {r['financial_year']}", r["in_year_deficit_before_gbp"]]
            + [r[f"{c}_gbp"] for c in COMPONENTS] + [r["in_year_deficit_after_gbp"]]
            for _, r in rows_frame.iterrows()]
    return html_table("What moved the in-year high-needs deficit, year on year: means over runs, GBP m "
                      "(method: docs/outputs.md)", columns, rows)


def _scenario_rows(data: ReportData) -> pd.DataFrame:
    """The last year's paired differences in the accumulated deficit, with each scenario's label."""
    d = data.differences
    rows = d[(d["metric"].astype(str) == "delta_accumulated_deficit_gbp")
             & (d["financial_year"].astype(str) == data.last_year)].copy()
    rows["scenario"] = rows["scenario"].astype(str)
    rows["label"] = [scenario_label(data, name) for name in rows["scenario"]]
    return rows.sort_values("mean").reset_index(drop=True)


def scenario_label(data: ReportData, scenario: str) -> str:
    """A scenario's name as charts show it: a sweep point with its levers' values."""
    table = data.scenario_table.assign(scenario=data.scenario_table["scenario"].astype(str)).set_index("scenario")
    levers = [c for c in table.columns if c.startswith("sweep_")]
    cells: dict[str, Any] = {c: table.at[scenario, c] for c in levers} if scenario in table.index else {}
    values = [(c.removeprefix("sweep_"), value) for c, value in cells.items() if pd.notna(value)]
    return scenario + (" (" + ", ".join(f"{lever} {value:g}" for lever, value in values) + ")" if values else "")


def _scenario_table(data: ReportData, rows: pd.DataFrame) -> str:
    info = data.scenario_table.assign(scenario=data.scenario_table["scenario"].astype(str)).set_index("scenario")
    d = data.differences
    spend = d[(d["metric"].astype(str) == "delta_spend_gbp") & (d["financial_year"].astype(str) == data.last_year)]
    spend = spend.assign(scenario=spend["scenario"].astype(str)).set_index("scenario")
    columns = [("Scenario", "text"), ("Description", "text"), ("Accumulated deficit: mean change (£m)", "signed_gbp_m"),
               ("5th pct (£m)", "signed_gbp_m"), ("95th pct (£m)", "signed_gbp_m"), ("P(lower than baseline)", "pct"),
               ("Spend that year: mean change (£m)", "signed_gbp_m"), ("Variance paired / unpaired", "ratio")]
    table_rows = [[r["scenario"], info["description"].get(r["scenario"], ""), r["mean"], r["p05"], r["p95"],
                   r["prob_lower"], spend["mean"].get(r["scenario"], np.nan), r["variance_ratio"]]
                  for _, r in rows.iterrows()]
    return html_table(f"Each scenario minus the baseline at {year_end_label(data.money_last_year)} ({data.last_year}), "
                      "paired by run: mean and 90% interval, GBP m", columns, table_rows)


def _lines_table(data: ReportData) -> str:
    years = list(data.lines.columns)
    columns = [("Line", "text"), ("Kind", "text")] + [(f"{y} (£m)", "gbp_m") for y in years]
    rows = [[LINE_LABELS.get(line, label(line)), KIND_LABELS.get(kind, label(kind))] + list(values)
            for (kind, line), values in zip(data.lines.index, data.lines.to_numpy())]
    return html_table("Every line of the high-needs account, median over runs, GBP m", columns, rows)


def _ehcp_table(data: ReportData) -> str:
    placement = data.ehcp_placement
    januaries = [d for d in placement.index if pd.Timestamp(d).month == 1]
    actual = {r["month"]: r["ehcps"] for r in (data.reference or {}).get("ehcp_sen2_actuals", [])}
    estimate = {r["month"]: r["ehcps"] for r in (data.reference or {}).get("ehcp_safety_valve_estimates", [])
                if r.get("age_band") == "total"}
    columns = ([("January", "text")] + [(PLACEMENT_LABELS[p], "count") for p in codes.PLACEMENTS]
               + [("All EHCPs, median", "count"), ("90% interval", "text"), ("SEN2 actual", "count"),
                  ("Safety Valve estimate", "count")])
    rows = []
    for date in januaries:
        month = pd.Timestamp(date).strftime("%Y-%m")
        total = data.ehcp_total.loc[date]
        rows.append([pd.Timestamp(date).strftime("%b %Y")] + [placement.loc[date, ("p50", p)] for p in codes.PLACEMENTS]
                    + [total["p50"], f"{total['p05']:,.0f} to {total['p95']:,.0f}", actual.get(month),
                       estimate.get(month)])
    return html_table("EHCPs at each January census by placement: median over runs (each run's own count, zeros "
                      "included), the total's interval and the references", columns, rows)


def _ehcp_age_table(data: ReportData) -> str:
    estimates = {(r["month"], r.get("age_band")): r["ehcps"]
                 for r in (data.reference or {}).get("ehcp_safety_valve_estimates", [])}
    columns = [("January", "text"), ("Age band", "text"), ("Median", "count"), ("5th pct", "count"),
               ("95th pct", "count"), ("Safety Valve estimate", "count")]
    rows = []
    r: Any  # a row of the frame: its fields are the frame's cells
    for r in data.ehcp_age_january.itertuples(index=False):
        month = pd.Timestamp(r.date).strftime("%Y-%m")
        rows.append([pd.Timestamp(r.date).strftime("%b %Y"), AGE_BAND_LABELS[str(r.age_band)], r.p50, r.p05, r.p95,
                     estimates.get((month, str(r.age_band)))])
    return html_table("EHCPs at each January census by age band (age on the previous 31 August) against the Safety "
                      "Valve estimates", columns, rows)


# ---- The report ---------------------------------------------------------------------------------------
def build_report(out: str | Path, target: str | Path | None = None,
                 extra_workbooks: tuple[ExtraWorkbook, ...] = EXTRA_WORKBOOKS) -> dict[str, Path]:
    """Write the report of the finished run in ``out`` into ``target`` (default ``out/report``).

    Returns
    -------
    dict
        The files written by kind (``fan``, ``exceedance``, ``bridge``, ``scenarios``,
        ``ehcp_total``, ``ehcps``, ``spend``, ``html``, ``workbook`` and each extra workbook's
        kind), those the run has data for.

    Raises
    ------
    ReportError
        The folder is not a finished run, or a file in it is missing, damaged or edited.
    """
    out = Path(out)
    target = Path(target) if target is not None else out / "report"
    try:
        data = gather(out)
    except ReadError as error:
        raise ReportError(str(error)) from None
    extra_workbooks = tuple(extra for extra in extra_workbooks if extra.applies(data))
    logger.debug("read %s: %d scenarios, %d runs", out, len(data.scenarios), data.runs)
    charts_made: dict[str, tuple[str, bytes]] = {}  # kind -> (caption, PNG)
    sections: list[tuple[str, list]] = []
    uncertainty = bands_text(data.uncertainty)
    if data.money is not None:
        acc = data.summary[(data.summary["scenario"] == data.scenario)
                           & (data.summary["metric"].astype(str) == "accumulated_deficit_gbp")].copy()
        acc["financial_year"] = acc["financial_year"].astype(str)
        acc = acc.set_index("financial_year").reindex(data.money["years"])
        charts_made["fan"] = ("Accumulated DSG deficit: median, 50% and 90% of runs, with the Safety Valve profile and "
                              f"the council's forecast. The bands hold {uncertainty}.",
                              charts.fan_chart(acc, data.money, data.scenario, data.runs, data.uncertainty))
        last = data.money_last_year
        runs_last = data.deficit_runs[(data.deficit_runs["scenario"] == data.scenario)
                                      & (data.deficit_runs["financial_year"].astype(str) == last)]
        values = runs_last["accumulated_deficit_gbp"].to_numpy()
        profile = data.money["sv_profile_gbp"].get(last)
        charts_made["exceedance"] = (f"P(accumulated deficit at {year_end_label(last)} > X) against X, with the Safety "
                                     "Valve profile marked",
                                     charts.exceedance_chart(values, profile, last, data.scenario, data.runs,
                                                             data.uncertainty))
        deficit_items = [charts_made["fan"], ("", _deficit_table(data)), charts_made["exceedance"],
                         ("", _exceedance_table(data, values, profile))]
        if not data.bridge.empty:
            charts_made["bridge"] = ("Year-on-year bridge of the in-year high-needs deficit: demand, prices, placement "
                                     "mix, other lines and income (means over runs)",
                                     charts.bridge_chart(data.bridge, data.scenario))
            deficit_items += [charts_made["bridge"], ("", _bridge_table(data))]
        sections.append(("The DSG deficit against the Safety Valve profile", deficit_items))
        if data.compared:
            rows = _scenario_rows(data)
            charts_made["scenarios"] = ("Each scenario minus the baseline: accumulated deficit in the last year, mean "
                                        "and 90% interval over paired runs",
                                        charts.scenario_chart(rows, last, SCENARIOS_SHOWN))
            sections.append(("Scenarios compared with the baseline", [charts_made["scenarios"],
                                                                      ("", _scenario_table(data, rows))]))
        charts_made["spend"] = ("High-needs spend by placement and other lines, and income (medians)",
                                charts.spend_chart(data.lines))
        sections.append(("Spend and income", [charts_made["spend"], ("", _lines_table(data))]))
    charts_made["ehcp_total"] = ("All EHCPs each month (median and 90% of runs) against the SEN2 January actuals and "
                                 "the Safety Valve estimates",
                                 charts.ehcp_total_chart(data.ehcp_total, data.reference, data.scenario, data.runs,
                                                         data.uncertainty))
    charts_made["ehcps"] = ("EHCPs by placement (median and 90% of runs)",
                            charts.ehcp_placement_chart(data.ehcp_placement, data.scenario))
    sections.append(("Children and young people with an EHCP", [charts_made["ehcp_total"], charts_made["ehcps"],
                                                                ("", _ehcp_table(data)), ("", _ehcp_age_table(data))]))
    names = {"fan": "deficit_fan.png", "exceedance": "deficit_exceedance.png", "bridge": "deficit_bridge.png",
             "scenarios": "scenario_differences.png", "ehcp_total": "ehcps_total.png",
             "ehcps": "ehcps_by_placement.png", "spend": "spend_by_placement.png"}
    files = {kind: target / names[kind] for kind in charts_made}
    files["html"] = target / "report.html"
    files["workbook"] = target / "summary.xlsx"
    for extra in extra_workbooks:
        files[extra.kind] = target / extra.file_name
    # Only into a folder sendsim made (or an empty one), replacing only files a report wrote.
    claim_report_folder(target, [path.name for path in files.values()])
    for kind, (_, png) in charts_made.items():
        files[kind].write_bytes(png)
    page = html_page(f"sendsim: DSG deficit and high-needs spend ({data.scenario})", _intro(data), sections)
    files["html"].write_text(page, encoding="utf-8")
    write_workbook(files["workbook"], data)
    for extra in extra_workbooks:
        extra.write(files[extra.kind], data)
    return files
