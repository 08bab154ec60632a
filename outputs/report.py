"""The report of a finished run: charts (PNG), a self-contained HTML page and an Excel workbook.

``build_report(DIR)`` reads the run's ``summary.parquet``, ``deficit/``, ``stock/`` and
``manifest.json`` and writes, by default into ``DIR/report/``:

- ``deficit_fan.png``: the accumulated DSG deficit (profile basis) from the opening outturn,
  median with 50% and 90% bands over runs, the Safety Valve profile and the council's own
  forecast drawn over it;
- ``ehcps_by_placement.png``: plans by placement each month (median, 90% band);
- ``spend_by_placement.png``: high-needs spend by placement and other lines per financial
  year (medians);
- ``report.html``: one file, the charts embedded (base64), the tables beside them;
- ``summary.xlsx``: the summary tables for the finance team (one sheet each).
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display (must precede pyplot)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402

from sendsim.money.model import LINE_KINDS, RAG_LEVELS  # noqa: E402
from sendsim.outputs.dsg_plan import DSG_PLAN_FILE, dsg_plan_status, write_dsg_plan  # noqa: E402
from sendsim.outputs.store import MARKER, OutputError, claim_report_folder, read_marker  # noqa: E402
from sendsim.simcore import codes  # noqa: E402

GBP_M = 1e6
CHART_DPI = 110
# Colours: one per placement (fixed order, so charts of two runs compare), and the fan.
PLACEMENT_COLOURS = ("#8dd3c7", "#1f78b4", "#b2df8a", "#33a02c", "#e31a1c", "#fdbf6f", "#ff7f00", "#cab2d6",
                     "#6a3d9a")
FAN_COLOUR = "#2c7fb8"


class ReportError(RuntimeError):
    """The folder is not a finished run with money outputs."""


def load_run(out: Path) -> tuple[dict, pd.DataFrame]:
    """The manifest and summary of a finished run (ReportError if it is not one)."""
    try:
        marker = read_marker(out)
    except OutputError as error:
        raise ReportError(str(error)) from None
    if marker is None:
        raise ReportError(f"{out} is not a sendsim output folder (no {MARKER} marker)")
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        raise ReportError(f"{out} is not a finished sendsim run (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise ReportError(f"{manifest_path} is damaged (not the JSON sendsim wrote); run again") from None
    if not isinstance(manifest, dict):
        raise ReportError(f"{manifest_path} is damaged (not the JSON sendsim wrote); run again")
    if not manifest.get("money") or not (out / "summary.parquet").exists():
        raise ReportError(f"{out} has no money outputs (summary.parquet, deficit/): run it with this version of "
                          "sendsim run")
    return manifest, pd.read_parquet(out / "summary.parquet")


def _metric(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    return summary[summary.metric == metric].set_index("financial_year").sort_index()


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def fan_chart(summary: pd.DataFrame, money: dict, scenario: str, runs: int) -> bytes:
    """Accumulated deficit: median, 50% and 90% bands, profile, council forecast, outturns."""
    acc = _metric(summary, "accumulated_deficit_gbp")
    years = [money["opening_year"]] + list(acc.index)
    x = np.arange(len(years))
    opening = money["opening_gbp"] / GBP_M

    def with_opening(column: str) -> np.ndarray:
        return np.concatenate([[opening], acc[column].to_numpy() / GBP_M])

    figure, axes = plt.subplots(figsize=(9, 5.2))
    axes.fill_between(x, with_opening("p05"), with_opening("p95"), color=FAN_COLOUR, alpha=0.18,
                      label="90% of runs")
    axes.fill_between(x, with_opening("p25"), with_opening("p75"), color=FAN_COLOUR, alpha=0.38,
                      label="50% of runs")
    axes.plot(x, with_opening("p50"), color=FAN_COLOUR, lw=2.4, marker="o", label="median")
    position = {y: i for i, y in enumerate(years)}

    def draw(series: dict, **style) -> None:
        points = [(position[y], v / GBP_M) for y, v in series.items() if y in position]
        if points:
            xs, ys = zip(*points)
            axes.plot(xs, ys, **style)

    draw(money["sv_profile_gbp"], color="black", lw=2, ls="--", marker="s", label="Safety Valve profile")
    draw({**{money["opening_year"]: money["opening_gbp"]}, **money["council_forecast_gbp"]}, color="#d95f02", lw=1.6,
         ls=":", marker="^", label="council forecast (Update 3)")
    axes.annotate(f"outturn {opening:.1f}", (0, opening), textcoords="offset points", xytext=(6, -14), fontsize=9)
    for i, y in enumerate(years[1:], start=1):
        axes.annotate(f"{acc.loc[y, 'p50'] / GBP_M:.0f}", (i, acc.loc[y, "p50"] / GBP_M), textcoords="offset points",
                      xytext=(-8, 8), fontsize=9, color=FAN_COLOUR)
    axes.set_xticks(x, [f"31 Mar {int(y[:4]) + 1}\n({y})" for y in years])
    axes.set_ylabel("accumulated DSG deficit, GBP m")
    axes.set_title(f"Accumulated DSG deficit against the Safety Valve profile: {scenario}, {runs} runs\n"
                   "(after the council's contributions, before the Department's instalments)", fontsize=11)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize=9)
    axes.set_ylim(bottom=0)
    return _png(figure)


def ehcps_by_placement(out: Path, scenario: str) -> pd.DataFrame:
    """Plans by placement each month in one scenario: median and 90% interval over runs (from ``stock/``)."""
    # Summed in Arrow first: the stock table has a row per age band and need, millions of rows.
    # Only the scenario's own partition is read: the scenarios must not be added together.
    table = ds.dataset(out / "stock" / f"scenario={scenario}", format="parquet").to_table(
        columns=["run", "date", "placement", "count"])
    table = table.set_column(2, "placement", table.column("placement").cast(pa.string()))
    summed = table.group_by(["run", "date", "placement"]).aggregate([("count", "sum")]).to_pandas()
    per_run = summed.pivot_table(index=["run", "date"], columns="placement", values="count_sum", fill_value=0)
    per_run = per_run.reindex(columns=list(codes.PLACEMENTS), fill_value=0)
    grouped = per_run.groupby(level="date")
    return pd.concat({"p05": grouped.quantile(0.05), "p50": grouped.median(), "p95": grouped.quantile(0.95)}, axis=1)


def ehcp_chart(table: pd.DataFrame) -> bytes:
    figure, axes = plt.subplots(figsize=(9, 5.2))
    dates = pd.to_datetime(table.index)
    for colour, placement in zip(PLACEMENT_COLOURS, codes.PLACEMENTS):
        axes.fill_between(dates, table[("p05", placement)], table[("p95", placement)], color=colour, alpha=0.3)
        axes.plot(dates, table[("p50", placement)], color=colour, lw=2, label=placement)
    axes.set_ylabel("children and young people with an EHCP")
    axes.set_title("EHCPs by placement, month end: median and 90% of runs", fontsize=11)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return _png(figure)


def spend_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Median of every finance line by financial year, GBP m (rows: lines, columns: years)."""
    rows = summary[summary.metric.str.contains(":")].copy()
    rows["line"] = rows.metric.str.split(":", n=1).str[1]
    rows["kind"] = rows.metric.str.split(":", n=1).str[0]
    table = rows.pivot_table(index=["kind", "line"], columns="financial_year", values="p50", sort=False) / GBP_M
    order = {line: k for k, line in enumerate(LINE_KINDS)}
    return table.sort_index(key=lambda index: index.map(lambda v: order.get(v, -1) if v in order else 0))


def spend_chart(summary: pd.DataFrame) -> bytes:
    table = spend_table(summary)
    spend = table.loc["spend"]
    income = table.loc["income"].sum(axis=0)
    years = list(spend.columns)
    figure, axes = plt.subplots(figsize=(9, 5.2))
    bottom = np.zeros(len(years))
    colours = list(PLACEMENT_COLOURS) + ["#bbbbbb"]
    plan_lines = [f"plans_{p}" for p in codes.PLACEMENTS]
    for colour, line in zip(colours, plan_lines):
        values = spend.loc[line].to_numpy()
        axes.bar(years, values, bottom=bottom, color=colour, label=line.removeprefix("plans_"))
        bottom += values
    other = spend.drop(index=plan_lines).sum(axis=0).to_numpy()
    axes.bar(years, other, bottom=bottom, color="#bbbbbb", label="other high-needs lines")
    axes.plot(years, income.to_numpy(), color="black", marker="o", lw=2, label="high-needs income")
    axes.set_ylabel("GBP m a year (median over runs)")
    axes.set_title("High-needs spend by placement and income, by financial year", fontsize=11)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def deficit_table(summary: pd.DataFrame, money: dict) -> pd.DataFrame:
    """Per year: median and intervals of the accumulated deficit (GBP m), the profile and the
    council's forecast, the probability of meeting the profile, the RAG shares and P(cleared)."""
    acc = _metric(summary, "accumulated_deficit_gbp")
    after = _metric(summary, "accumulated_deficit_after_contributions_gbp")
    in_year = _metric(summary, "in_year_deficit_gbp")
    out = pd.DataFrame(index=acc.index)
    out["in-year HN deficit, median"] = in_year["p50"] / GBP_M
    out["accumulated, median"] = acc["p50"] / GBP_M
    out["p05"], out["p25"], out["p75"], out["p95"] = (acc[c] / GBP_M for c in ("p05", "p25", "p75", "p95"))
    out["profile"] = [money["sv_profile_gbp"].get(y, np.nan) / GBP_M for y in acc.index]
    out["council forecast"] = [money["council_forecast_gbp"].get(y, np.nan) / GBP_M for y in acc.index]
    out["P(meets profile)"] = acc["prob_meets_target"]
    for level in RAG_LEVELS:
        out[f"share {level}"] = _metric(summary, f"rag_{level}")["mean"]
    out["after DfE instalments, median"] = after["p50"] / GBP_M
    out["P(deficit cleared)"] = _metric(summary, "deficit_cleared")["mean"]
    out.index.name = "financial year"
    return out


def _html_table(frame: pd.DataFrame, percent_columns: tuple[str, ...] = ()) -> str:
    formatters = {c: (lambda v: f"{v:.0%}" if pd.notna(v) else "") for c in frame.columns if c in percent_columns}
    return frame.to_html(float_format=lambda v: f"{v:,.1f}", formatters=formatters, na_rep="", border=0,
                         classes="numbers")


def html_page(title: str, intro: str, charts: dict[str, bytes], tables: dict[str, str]) -> str:
    """One self-contained page: charts as base64 data URIs, tables as HTML."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table.numbers{border-collapse:collapse;font-size:13px;margin:1em 0}"
             "table.numbers td,table.numbers th{padding:3px 8px;text-align:right;border-bottom:1px solid #ddd}"
             "img.chart{max-width:100%;border:1px solid #eee}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", intro]
    for caption, data in charts.items():
        encoded = base64.b64encode(data).decode("ascii")
        parts.append(f"<figure><img class='chart' alt='{html.escape(caption)}' src='data:image/png;base64,"
                     f"{encoded}'><figcaption>{html.escape(caption)}</figcaption></figure>")
    for heading, table in tables.items():
        parts.append(f"<h2>{html.escape(heading)}</h2>{table}")
    parts.append("</body></html>")
    return "\n".join(parts)


def build_report(out: str | Path, target: str | Path | None = None) -> dict[str, Path]:
    """Write the report of the finished run in ``out`` into ``target`` (default ``out/report``).
    Returns the files written by kind (``fan``, ``ehcps``, ``spend``, ``html``, ``workbook``)."""
    out = Path(out)
    target = Path(target) if target is not None else out / "report"
    manifest, summary = load_run(out)
    money = manifest["money"]
    # A run of several scenarios has no single "scenario" in its manifest: report the baseline,
    # which every run has.
    scenario = str(manifest.get("scenario") or "baseline")
    summary = summary[summary.scenario == scenario]
    runs = int(manifest.get("runs", 0))
    ehcps = ehcps_by_placement(out, scenario)
    charts = {"fan": fan_chart(summary, money, scenario, runs), "ehcps": ehcp_chart(ehcps),
              "spend": spend_chart(summary)}
    deficit = deficit_table(summary, money)
    lines = spend_table(summary)
    january = ehcps[[c for c in ehcps.columns if c[0] == "p50"]].droplevel(0, axis=1)
    january = january[pd.to_datetime(january.index).month == 1]
    january.index = [str(pd.Timestamp(d).date()) for d in january.index]
    files = {"fan": target / "deficit_fan.png", "ehcps": target / "ehcps_by_placement.png",
             "spend": target / "spend_by_placement.png", "html": target / "report.html",
             "workbook": target / "summary.xlsx", "dsg_plan": target / DSG_PLAN_FILE}
    # Only into a folder sendsim made (or an empty one), replacing only files a report wrote.
    claim_report_folder(target, [path.name for path in files.values()])
    for kind in ("fan", "ehcps", "spend"):
        files[kind].write_bytes(charts[kind])
    last = deficit.index[-1]
    intro = (f"<p>Scenario <b>{html.escape(scenario)}</b>, {runs} runs (seed {manifest.get('seed')}), "
             f"{html.escape(str(manifest.get('start')))} to {html.escape(str(manifest.get('end')))}. Runs start from the "
             f"accumulated DSG deficit outturn of {money['opening_gbp'] / GBP_M:.1f}m at the end of "
             f"{html.escape(money['opening_year'])}. The accumulated deficit is on the Safety Valve profile's basis: "
             "after the council's contributions, before the Department's instalments. A year meets the profile "
             "(green) when the deficit is at or below it; amber when above by at most "
             f"{money['rag_amber_tolerance']:.0%} of it; red beyond. In {html.escape(last)} the median is "
             f"{deficit.loc[last, 'accumulated, median']:,.1f}m against a profile of {deficit.loc[last, 'profile']:,.1f}m; "
             f"the probability of meeting it is {deficit.loc[last, 'P(meets profile)']:.0%}, and of the deficit being "
             f"cleared after the Department's instalments {deficit.loc[last, 'P(deficit cleared)']:.0%}.</p>")
    percent = ("P(meets profile)", "share green", "share amber", "share red", "P(deficit cleared)")
    page = html_page(f"sendsim: DSG deficit and high-needs spend ({scenario})", intro,
                     {"Accumulated DSG deficit: median, 50% and 90% of runs, with the Safety Valve profile and the "
                      "council's forecast": charts["fan"],
                      "EHCPs by placement (median and 90% of runs)": charts["ehcps"],
                      "High-needs spend by placement and other lines, and income (medians)": charts["spend"]},
                     {"Accumulated DSG deficit, GBP m": _html_table(deficit, percent),
                      "Every line, median over runs, GBP m": _html_table(lines),
                      "EHCPs by placement at each January (median)": _html_table(january)})
    files["html"].write_text(page, encoding="utf-8")
    write_workbook(files["workbook"], deficit, lines, january, summary)
    # The DfE DSG management plan (outputs/dsg_plan.py): only when the run holds a mitigated scenario.
    if dsg_plan_status(out) is None:
        write_dsg_plan(out, files["dsg_plan"])
    else:
        del files["dsg_plan"]
    return files


def write_workbook(path: Path, deficit: pd.DataFrame, lines: pd.DataFrame, january: pd.DataFrame,
                   summary: pd.DataFrame) -> None:
    """The summary tables as an Excel workbook (openpyxl), one sheet each, numbers as numbers."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        deficit.to_excel(writer, sheet_name="Deficit (GBP m)")
        lines.to_excel(writer, sheet_name="Lines (GBP m, median)")
        january.to_excel(writer, sheet_name="EHCPs by placement")
        summary.to_excel(writer, sheet_name="Summary (GBP)", index=False)
        notes = pd.DataFrame({"note": [
            "Accumulated deficit: profile basis (after the council's contributions, before the Department's "
            "instalments).",
            "Quantiles are over Monte Carlo runs; P(meets profile) is the share of runs at or below the profile.",
            "Lines: kind spend / income of the high-needs account; other_blocks: other DSG blocks' in-year "
            "positions; contribution: the council's and the Department's Safety Valve payments.",
            "Full column definitions: docs/money.md."]})
        notes.to_excel(writer, sheet_name="Notes", index=False)
