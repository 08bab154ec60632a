"""The report's charts (PNG bytes, matplotlib): each takes tidy frames already read and checked
(:mod:`sendsim.outputs.reader`) and says in its title what it shows and what the bands hold.

Colours: one fixed, clearly distinct colour per placement (the same in every chart and every
run, so that two reports compare), the fan's blue, and black for the Safety Valve profile.
"""
from __future__ import annotations

import io
from typing import cast

import matplotlib

matplotlib.use("Agg")  # files only, no display (must precede pyplot)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sendsim.outputs.bridge import COMPONENTS, MITIGATIONS  # noqa: E402
from sendsim.outputs.labels import BRIDGE_LABELS, PLACEMENT_LABELS  # noqa: E402
from sendsim.simcore import codes  # noqa: E402

GBP_M = 1e6
CHART_DPI = 110
# Distinct colours (matplotlib's tab10 without its grey), one per placement in code order.
PLACEMENT_COLOURS = dict(zip(codes.PLACEMENTS, ("#bcbd22", "#1f77b4", "#17becf", "#2ca02c", "#d62728", "#ff7f0e",
                                                "#9467bd", "#8c564b", "#e377c2")))
OTHER_COLOUR = "#7f7f7f"
FAN_COLOUR = "#2c7fb8"
FORECAST_COLOUR = "#e6550d"
PROFILE_COLOUR = "black"
BRIDGE_COLOURS = {"demand": "#d62728", "prices": "#ff7f0e", "mix": "#9467bd", "other_lines": "#8c564b",
                  "income": "#2ca02c", MITIGATIONS: "#17becf"}
TOTAL_COLOUR = "#4d4d4d"
BRIDGE_SHORT = {"demand": "Demand", "prices": "Prices", "mix": "Mix", "other_lines": "Other lines", "income": "Income",
                MITIGATIONS: "Mitigations"}


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=CHART_DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def year_end_label(financial_year: str) -> str:
    """'2027-28' -> '31 Mar 2028'."""
    return f"31 Mar {int(financial_year[:4]) + 1}"


def bands_text(uncertainty: dict | None) -> str:
    """What the bands over runs hold (the manifest's ``uncertainty``)."""
    if not uncertainty:
        return "what the bands hold was not recorded with this run"
    return str(uncertainty["bands"])


def fan_chart(acc: pd.DataFrame, money: dict, scenario: str, runs: int, uncertainty: dict | None) -> bytes:
    """Accumulated deficit: median, 50% and 90% bands, the profile, the council's forecast (drawn
    so that it shows where it equals the profile), the opening outturn.

    Parameters
    ----------
    acc
        The summary rows of ``accumulated_deficit_gbp`` indexed by financial year (p05..p95).
    """
    years = [money["opening_year"]] + list(acc.index)
    x = np.arange(len(years))
    opening = money["opening_gbp"] / GBP_M

    def with_opening(column: str) -> np.ndarray:
        return np.concatenate([[opening], acc[column].to_numpy() / GBP_M])

    figure, axes = plt.subplots(figsize=(9, 5.4))
    axes.fill_between(x, with_opening("p05"), with_opening("p95"), color=FAN_COLOUR, alpha=0.18,
                      label="90% of runs", zorder=1)
    axes.fill_between(x, with_opening("p25"), with_opening("p75"), color=FAN_COLOUR, alpha=0.38,
                      label="50% of runs", zorder=1)
    axes.plot(x, with_opening("p50"), color=FAN_COLOUR, lw=2.4, marker="o", label="median", zorder=4)
    position = {y: i for i, y in enumerate(years)}

    def points(series: dict) -> tuple[list, list]:
        pairs = [(position[y], v / GBP_M) for y, v in series.items() if y in position]
        return ([p[0] for p in pairs], [p[1] for p in pairs])

    # The council's forecast equals the profile in most years: drawn as a wide pale band under
    # the profile's thin dashed line, with its own markers, so both show where they coincide.
    forecast = {money["opening_year"]: money["opening_gbp"], **money["council_forecast_gbp"]}
    fx, fy = points(forecast)
    if fx:
        axes.plot(fx, fy, color=FORECAST_COLOUR, lw=7, alpha=0.35, solid_capstyle="round", zorder=2)
        axes.plot(fx, fy, color=FORECAST_COLOUR, lw=0, marker="^", markersize=9, zorder=5,
                  label="council forecast (Update 3; pale band)")
    px, py = points(money["sv_profile_gbp"])
    if px:
        axes.plot(px, py, color=PROFILE_COLOUR, lw=1.8, ls="--", marker="s", markersize=5, zorder=6,
                  label="Safety Valve profile")
    axes.annotate(f"outturn {opening:.1f}", (0, opening), textcoords="offset points", xytext=(6, -14), fontsize=9)
    for i, y in enumerate(years[1:], start=1):
        axes.annotate(f"{acc.loc[y, 'p50'] / GBP_M:.1f}", (i, acc.loc[y, "p50"] / GBP_M), textcoords="offset points",
                      xytext=(-10, 9), fontsize=9, color=FAN_COLOUR)
    axes.set_xticks(x, [f"{year_end_label(y)}\n({y})" for y in years])
    axes.set_ylabel("accumulated DSG deficit, GBP m")
    axes.set_title(f"Accumulated DSG deficit against the Safety Valve profile: {scenario}, {runs:,} runs\n"
                   f"Bands: {bands_text(uncertainty)}\n"
                   "(after the council's contributions, before the Department's instalments)", fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8.5)
    axes.set_ylim(bottom=0)
    return _png(figure)


def exceedance_chart(values_gbp: np.ndarray, profile_gbp: float | None, year: str, scenario: str, runs: int,
                     uncertainty: dict | None) -> bytes:
    """P(accumulated deficit > X) against X for one year, from the runs, the profile marked."""
    values = np.sort(np.asarray(values_gbp, dtype=float)) / GBP_M
    low, high = values[0], values[-1]
    if profile_gbp is not None:
        low, high = min(low, profile_gbp / GBP_M), max(high, profile_gbp / GBP_M)
    pad = max((high - low) * 0.08, 1.0)
    grid = np.linspace(low - pad, high + pad, 600)
    above = (values.size - np.searchsorted(values, grid, side="right")) / values.size
    figure, axes = plt.subplots(figsize=(9, 5.0))
    axes.plot(grid, above * 100, color=FAN_COLOUR, lw=2.4, drawstyle="steps-post",
              label=f"P(deficit > X), {runs:,} runs")
    if profile_gbp is not None:
        x = profile_gbp / GBP_M
        p = float((values > x).mean())
        axes.axvline(x, color=PROFILE_COLOUR, ls="--", lw=1.8, label=f"Safety Valve profile {x:,.1f}m")
        axes.plot([x], [p * 100], marker="o", color=PROFILE_COLOUR, zorder=5)
        axes.annotate(f"P(above the profile) = {p:.0%}", (x, p * 100), textcoords="offset points",
                      xytext=(8, -16 if p > 0.85 else 8), fontsize=9)
    median = float(np.median(values))
    axes.axvline(median, color=FAN_COLOUR, ls=":", lw=1.2, label=f"median {median:,.1f}m")
    axes.set_xlabel(f"X: accumulated DSG deficit at {year_end_label(year)}, GBP m")
    axes.set_ylabel("share of runs above X, %")
    axes.set_ylim(-2, 102)
    axes.set_title(f"How likely is the deficit at {year_end_label(year)} ({year}) to exceed X? {scenario}\n"
                   f"Spread: {bands_text(uncertainty)}", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize=8.5)
    return _png(figure)


def bridge_chart(bridge: pd.DataFrame, scenario: str) -> bytes:
    """Waterfall of the in-year deficit from the first year to the last, each year's change
    split into its components (outputs/bridge.py); means over runs, GBP m."""
    rows = bridge[bridge["scenario"] == scenario]
    components = list(COMPONENTS) + ([MITIGATIONS] if scenario != "baseline" else [])
    labels, bottoms, heights, colours = [], [], [], []
    changes: list[float | None] = []  # None: a year's level
    first = rows.iloc[0]
    level = first["in_year_deficit_before_gbp"] / GBP_M
    labels.append(first["previous_year"])
    bottoms.append(0.0)
    heights.append(level)
    colours.append(TOTAL_COLOUR)
    changes.append(None)
    for _, row in rows.iterrows():
        for component in components:
            change = row[f"{component}_gbp"] / GBP_M
            labels.append(BRIDGE_SHORT[component])
            bottoms.append(level if change >= 0 else level + change)
            heights.append(abs(change))
            colours.append(BRIDGE_COLOURS[component])
            changes.append(change)
            level += change
        labels.append(row["financial_year"])
        bottoms.append(0.0)
        heights.append(row["in_year_deficit_after_gbp"] / GBP_M)
        colours.append(TOTAL_COLOUR)
        changes.append(None)
    x = np.arange(len(labels))
    figure, axes = plt.subplots(figsize=(max(9.0, 0.55 * len(labels)), 5.4))
    axes.bar(x, heights, bottom=bottoms, color=colours, width=0.72, edgecolor="white")
    for xi, (b, h, _c, change) in enumerate(zip(bottoms, heights, colours, changes)):
        text = f"{h:,.1f}" if change is None else f"{change:+,.1f}"
        axes.annotate(text, (xi, b + h), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7.5,
                      fontweight="bold" if change is None else "normal")
    axes.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    axes.set_ylabel("in-year high-needs deficit, GBP m (mean over runs)")
    axes.set_title(f"What moved the in-year high-needs deficit, year on year: {scenario}\n"
                   "grey: the year's deficit; coloured: its change from the year before, by cause (means over runs)",
                   fontsize=10)
    axes.legend(handles=[Patch(color=TOTAL_COLOUR, label="in-year deficit")]
                + [Patch(color=BRIDGE_COLOURS[c], label=BRIDGE_LABELS[c]) for c in components],
                loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def ehcp_total_chart(totals: pd.DataFrame, reference: dict | None, scenario: str, runs: int,
                     uncertainty: dict | None) -> bytes:
    """All EHCPs each month (median, 90% band) against the SEN2 January actuals and the Safety
    Valve estimates the run carried (``reference``).

    Parameters
    ----------
    totals
        Indexed by month-end date, columns p05, p50, p95.
    """
    dates = pd.to_datetime(totals.index)
    figure, axes = plt.subplots(figsize=(9, 5.2))
    axes.fill_between(dates, totals["p05"], totals["p95"], color=FAN_COLOUR, alpha=0.25, label="90% of runs")
    axes.plot(dates, totals["p50"], color=FAN_COLOUR, lw=2.2, label="median of runs")
    if reference:
        actual = [(pd.Timestamp(r["month"] + "-01") + pd.offsets.MonthEnd(0), r["ehcps"])
                  for r in reference.get("ehcp_sen2_actuals", [])]
        if actual:
            xs, ys = zip(*actual)
            axes.plot(xs, ys, color="black", marker="o", lw=1.2, label="SEN2 actual (January census)")
        estimate = [(pd.Timestamp(r["month"] + "-01") + pd.offsets.MonthEnd(0), r["ehcps"])
                    for r in reference.get("ehcp_safety_valve_estimates", []) if r.get("age_band") == "total"]
        if estimate:
            xs, ys = zip(*estimate)
            axes.plot(xs, ys, color=FORECAST_COLOUR, marker="D", lw=0, markersize=8,
                      label="Safety Valve estimate")
    last = dates[-1]
    axes.annotate(f"{totals['p50'].iloc[-1]:,.0f}", (last, totals["p50"].iloc[-1]), textcoords="offset points",
                  xytext=(4, 4), fontsize=9, color=FAN_COLOUR)
    axes.set_ylabel("children and young people with an EHCP")
    axes.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    axes.set_title(f"All EHCPs, month end: {scenario}, {runs:,} runs, against the actuals and the Safety Valve "
                   f"estimates\nBand: {bands_text(uncertainty)}", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize=8.5)
    return _png(figure)


def ehcp_placement_chart(by_placement: pd.DataFrame, scenario: str) -> bytes:
    """EHCPs by placement each month (median and 90% band per placement), readable names.

    Parameters
    ----------
    by_placement
        Indexed by month-end date, columns (quantile, placement) with quantiles p05, p50, p95.
    """
    dates = pd.to_datetime(by_placement.index)
    figure, axes = plt.subplots(figsize=(9, 5.2))
    order = sorted(codes.PLACEMENTS, key=lambda p: -by_placement[("p50", p)].iloc[-1])
    for placement in order:
        colour = PLACEMENT_COLOURS[placement]
        axes.fill_between(dates, by_placement[("p05", placement)], by_placement[("p95", placement)], color=colour,
                          alpha=0.25)
        axes.plot(dates, by_placement[("p50", placement)], color=colour, lw=2,
                  label=f"{PLACEMENT_LABELS[placement]} ({by_placement[('p50', placement)].iloc[-1]:,.0f})")
    axes.set_ylabel("children and young people with an EHCP")
    axes.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    axes.set_title(f"EHCPs by placement, month end: {scenario} (median and 90% of runs;\n"
                   "legend in order of the last month's median, shown in brackets)", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return _png(figure)


def spend_chart(lines: pd.DataFrame) -> bytes:
    """High-needs spend by placement and the other lines (stacked medians) and the income (line);
    the place funding paid directly by the Department below zero, each bar labelled with net spend.

    Parameters
    ----------
    lines
        Median GBP, rows (kind, line), columns financial years.
    """
    lines = lines / GBP_M
    # Rows are (kind, line): one kind's rows are a frame of lines.
    spend = cast(pd.DataFrame, lines.loc["spend"])
    income = cast(pd.DataFrame, lines.loc["income"]).sum(axis=0)
    years = list(spend.columns)
    figure, axes = plt.subplots(figsize=(9, 5.2))
    bottom = np.zeros(len(years))
    for placement in codes.PLACEMENTS:
        line = f"plans_{placement}"
        if line not in spend.index:
            continue
        values = spend.loc[line].to_numpy()
        axes.bar(years, values, bottom=bottom, color=PLACEMENT_COLOURS[placement], label=PLACEMENT_LABELS[placement])
        bottom += values
    # Place funding the Department pays directly is a negative spend line (and a matching income
    # deduction): stacked into "other" it would hide part of the other lines, so it is drawn below
    # zero and the label above each bar is the net spend, the figure the income line is set against.
    deduction_line = "less_places_funded_directly"
    plan_lines = [f"plans_{p}" for p in codes.PLACEMENTS if f"plans_{p}" in spend.index]
    deduction = spend.loc[deduction_line].to_numpy() if deduction_line in spend.index else np.zeros(len(years))
    other = spend.drop(index=plan_lines + [line for line in (deduction_line,) if line in spend.index]).sum(axis=0)
    axes.bar(years, other.to_numpy(), bottom=bottom, color=OTHER_COLOUR, label="Other high-needs lines")
    bottom += other.to_numpy()
    if np.any(deduction != 0):
        axes.bar(years, deduction, color="#bbbbbb", hatch="//", edgecolor="#777777",
                 label="Less: place funding paid directly by the Department")
        axes.axhline(0, color="black", lw=0.8)
    for i, (gross, net) in enumerate(zip(bottom, bottom + deduction)):
        axes.annotate(f"{net:,.1f}", (i, gross), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
    axes.plot(years, income.to_numpy(), color="black", marker="o", lw=2, label="High-needs income")
    axes.set_ylabel("GBP m a year (median over runs)")
    axes.set_title("High-needs spend by placement (stacked, medians of each line) and income;\n"
                   "labels: net spend, after place funding paid directly (drawn below zero)", fontsize=10)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def scenario_chart(differences: pd.DataFrame, year: str, shown: int) -> bytes:
    """Each scenario's paired difference from the baseline in the accumulated deficit in
    ``year``: mean and 90% interval over runs, GBP m (the ``shown`` largest by size).

    Parameters
    ----------
    differences
        difference_summary rows of ``delta_accumulated_deficit_gbp`` in ``year`` with a
        ``label`` column (the scenario's name as shown).
    """
    rows = differences.reindex(differences["mean"].abs().sort_values(ascending=False).index).head(shown)
    rows = rows.sort_values("mean")
    y = np.arange(len(rows))
    figure, axes = plt.subplots(figsize=(9, max(2.6, 0.42 * len(rows) + 1.6)))
    colours = ["#2ca02c" if m < 0 else "#d62728" for m in rows["mean"]]
    axes.hlines(y, rows["p05"] / GBP_M, rows["p95"] / GBP_M, colors=colours, lw=3, alpha=0.6)
    axes.scatter(rows["mean"] / GBP_M, y, color=colours, zorder=3, s=40)
    for yi, (_, row) in zip(y, rows.iterrows()):
        axes.annotate(f"{row['mean'] / GBP_M:+,.1f}", (row["mean"] / GBP_M, yi), textcoords="offset points",
                      xytext=(0, 7), ha="center", fontsize=8)
    axes.axvline(0, color="black", lw=1)
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_yticks(y, rows["label"], fontsize=8.5)
    axes.set_xlabel(f"scenario minus baseline, accumulated DSG deficit at {year_end_label(year)}, GBP m "
                    "(mean, 90% interval over paired runs)")
    total = len(differences)
    which = f"the {shown} largest of {total} scenarios" if total > shown else f"{total} scenario{'s' * (total > 1)}"
    axes.set_title(f"What each scenario changes against the baseline, {year} ({which}):\n"
                   "green lowers the deficit, red raises it; paired by run (common random numbers)", fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)
