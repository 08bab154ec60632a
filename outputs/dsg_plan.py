"""The DSG management plan workbook: a finished run laid out as the Department's DSG deficit
management plan template (years across), for a finance team to copy into the template or a
Safety Valve return.

It needs a run holding the baseline (unmitigated) and a scenario with mitigations (mitigated:
``sv_plan`` if present); :func:`dsg_plan_status` says what is missing otherwise. Sheets:

- ``Financial summary``: the high-needs block year by year, income gross to net (the
  allocation before the Department's deductions, the deductions, the net allocation, the
  transfers and other income), expenditure by provision type, the in-year and accumulated
  positions, the Safety Valve profile and the Department's payments; four blocks: unmitigated
  and mitigated, each at the median and at a prudent 80th percentile. A block is one run (the
  run at that quantile of the accumulated deficit in the last year), so that its lines add up
  to its totals exactly;
- ``Deficit distribution``: the accumulated deficit's quantiles, the probability of meeting the
  profile and of each instalment being withheld, by year and scenario;
- ``Statutory override``: the deficit after the Department's payments when the override ends,
  and the risk on each instalment;
- ``Children and young people``: EHCPs by age band against the Safety Valve estimates, EHCPs by
  provision type, new and ceased plans (with the flows table), cost per place (spend over the
  year's average plans);
- ``Workstream log``: each mitigation with its start, ramp, probability of delivery and sources,
  and its saving per year with a 90% interval (the mitigation log);
- ``Notes``: the basis of every figure.

Money is in GBP millions (number format ``#,##0.0``), probabilities as percentages, plans as
whole numbers.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from sendsim.money.model import PLAN_LINES
from sendsim.money.schema import SPEND_LINES
from sendsim.outputs.store import table_folder
from sendsim.simcore import codes

DSG_PLAN_FILE = "dsg_management_plan.xlsx"
BASELINE = "baseline"
PREFERRED_MITIGATED = "sv_plan"
GBP_M = 1e6
MONEY_FORMAT = "#,##0.0;[Red]-#,##0.0"
PERCENT_FORMAT = "0%"
COUNT_FORMAT = "#,##0"
GBP_FORMAT = "#,##0"
QUANTILES = {"median": 0.5, "prudent (80th percentile)": 0.8}
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)

PROVISION_LABELS = {
    "plans_early_years": "Early years settings (plans)",
    "plans_mainstream": "Mainstream schools: top-up funding (plans)",
    "plans_srp": "Resourced provision and SEN units (plans)",
    "plans_special": "Maintained special schools and special academies (plans)",
    "plans_independent": "Independent and non-maintained special schools (plans)",
    "plans_fe": "FE colleges (plans)",
    "plans_post16_specialist": "Specialist post-16 institutions (plans)",
    "plans_alternative": "Alternative provision and EOTAS (plans)",
    "plans_no_place": "Interim tuition, no place named (plans)",
    "specialist_teaching_service": "Specialist teaching and learning service (STLS)",
    "mainstream_without_plan": "High-needs funding for mainstream pupils without a plan",
    "alternative_provision_without_plan": "Pupil referral units and AP without a plan",
    "hospital_education": "Hospital education",
    "early_years_inclusion": "SEN inclusion fund (early years)",
    "pay_grants_passed_on": "Pay and pension grants passed to special schools and AP",
    "less_places_funded_directly": "Less: place funding paid directly by the Department",
}
INCOME_ROWS = (("hnb_allocation_gross", "High Needs Block allocation, gross (before deductions)"),
               ("hnb_deductions", "Less: deductions for places funded directly (academies, FE, SPIs, NMSS)"),
               (None, "High Needs Block allocation, net"),
               ("schools_block_transfer", "Schools Block transfer"),
               ("pay_grants_rolled_in", "Pay and pension grants rolled into the block"),
               ("early_years_block_contribution", "Early Years Block contribution"),
               ("ola_recharges", "Recharges for other authorities' looked-after children"),
               ("health_contribution", "NHS joint funding"))
OTHER_BLOCK_LABELS = {"schools_block": "Schools Block in-year position",
                      "central_school_services_block": "Central School Services Block in-year position",
                      "early_years_block": "Early Years Block in-year position"}


# ---- Reading ---------------------------------------------------------------------------------------
def _read(path: Path) -> pd.DataFrame:
    """A partitioned table (every scenario's folder below ``path``; the scenario is a column)."""
    frame = ds.dataset(path, format="parquet").to_table().to_pandas()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame


def mitigated_scenario(out: Path) -> str | None:
    """The mitigated scenario of a run: sv_plan if it has a mitigation log, else the first that has."""
    folder = out / "mitigation_log"
    if not folder.is_dir():
        return None
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.parquet")))
    if not names:
        return None
    return PREFERRED_MITIGATED if PREFERRED_MITIGATED in names else names[0]


def dsg_plan_status(out: str | Path) -> str | None:
    """None if the run can give the DSG management plan; else what is missing, in words."""
    out = Path(out)
    if not (out / table_folder("deficit", BASELINE)).is_dir() or not (out / "finance").is_dir():
        return "the run has no money tables for the baseline"
    if mitigated_scenario(out) is None:
        return ("the run holds no scenario with mitigations (the mitigated plan): run it with --scenario sv_plan "
                "(or a scenario file with [[mitigation]] tables) beside the baseline")
    return None


def representative_run(deficit: pd.DataFrame, year: str, quantile: float) -> int:
    """The run whose accumulated deficit in ``year`` is that quantile over runs (an actual run:
    the lowest run number among ties)."""
    values = deficit[deficit.financial_year == year].set_index("run")["accumulated_deficit_gbp"].sort_index()
    value = np.quantile(values.to_numpy(), quantile, method="inverted_cdf")
    return int(values.index[values.to_numpy() == value][0])


# ---- Writing helpers ----------------------------------------------------------------------------------
class Sheet:
    """Writes rows into a worksheet, keeping the row counter and the number formats."""

    def __init__(self, workbook: Workbook, title: str) -> None:
        self.ws = workbook.create_sheet(title)
        self.row = 1

    def title(self, text: str) -> None:
        self.ws.cell(self.row, 1, text).font = Font(bold=True, size=13)
        self.row += 2

    def note(self, text: str) -> None:
        cell = self.ws.cell(self.row, 1, text)
        cell.alignment = Alignment(wrap_text=False)
        self.row += 1

    def header(self, values: list) -> None:
        for k, value in enumerate(values, start=1):
            cell = self.ws.cell(self.row, k, value)
            cell.font, cell.fill = BOLD, HEADER_FILL
        self.row += 1

    def line(self, label: str, values: list, number_format: str, bold: bool = False, first: int = 2) -> None:
        cell = self.ws.cell(self.row, 1, label)
        if bold:
            cell.font = BOLD
        for k, value in enumerate(values, start=first):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            c = self.ws.cell(self.row, k, float(value) if not isinstance(value, str) else value)
            if not isinstance(value, str):
                c.number_format = number_format
            if bold:
                c.font = BOLD
        self.row += 1

    def gap(self, rows: int = 1) -> None:
        self.row += rows

    def widths(self, first: int, others: int, count: int) -> None:
        self.ws.column_dimensions["A"].width = first
        for k in range(2, count + 2):
            self.ws.column_dimensions[get_column_letter(k)].width = others


# ---- Sheets ---------------------------------------------------------------------------------------------
def _financial_block(sheet: Sheet, finance: pd.DataFrame, deficit: pd.DataFrame, years: list[str], run: int) -> None:
    lines = finance[finance.run == run].pivot_table(index="line", columns="financial_year", values="amount_gbp",
                                                    aggfunc="sum").reindex(columns=years) / GBP_M
    row = deficit[deficit.run == run].set_index("financial_year").reindex(years)

    def values(line: str) -> list:
        return list(lines.loc[line]) if line in lines.index else [0.0] * len(years)
    sheet.header(["Income"] + years)
    for key, label in INCOME_ROWS:
        if key is None:
            net = [a + b for a, b in zip(values("hnb_allocation_gross"), values("hnb_deductions"))]
            sheet.line(label, net, MONEY_FORMAT, bold=True)
        else:
            sheet.line(label, values(key), MONEY_FORMAT)
    sheet.line("Total income (net)", list(row["income_gbp"] / GBP_M), MONEY_FORMAT, bold=True)
    sheet.header(["Expenditure by provision type"] + years)
    for line in PLAN_LINES + SPEND_LINES + ("less_places_funded_directly",):
        sheet.line(PROVISION_LABELS[line], values(line), MONEY_FORMAT)
    sheet.line("Total expenditure (net)", list(row["spend_gbp"] / GBP_M), MONEY_FORMAT, bold=True)
    sheet.header(["Position"] + years)
    sheet.line("In-year high-needs deficit (expenditure - income)", list(row["in_year_deficit_gbp"] / GBP_M),
               MONEY_FORMAT, bold=True)
    for block, label in OTHER_BLOCK_LABELS.items():
        sheet.line(label, values(block), MONEY_FORMAT)
    sheet.line("DSG in-year deficit", list(row["dsg_in_year_deficit_gbp"] / GBP_M), MONEY_FORMAT)
    sheet.line("Less: the council's contribution", [-v for v in values("council_contribution")], MONEY_FORMAT)
    sheet.line("Accumulated DSG deficit at 31 March (profile basis)", list(row["accumulated_deficit_gbp"] / GBP_M),
               MONEY_FORMAT, bold=True)
    sheet.line("Safety Valve profile", list(row["sv_target_gbp"] / GBP_M), MONEY_FORMAT)
    sheet.line("Variance against the profile (+ above)", list(row["variance_gbp"] / GBP_M), MONEY_FORMAT)
    sheet.line("The Department's instalment paid", values("dfe_instalment"), MONEY_FORMAT)
    sheet.line("Accumulated deficit after the Department's payments",
               list(row["accumulated_deficit_after_contributions_gbp"] / GBP_M), MONEY_FORMAT, bold=True)


def financial_summary(workbook: Workbook, finance: pd.DataFrame, deficit: pd.DataFrame, scenarios: dict[str, str],
                      years: list[str]) -> dict[tuple[str, str], int]:
    """The high-needs block year by year, four blocks; returns the run of each (scenario, statistic)."""
    sheet = Sheet(workbook, "Financial summary")
    sheet.title("Financial plan: High Needs Block (GBP m, years across)")
    sheet.note("Each block is one run of the simulation: the run at the median (or 80th percentile) of the accumulated "
               f"deficit at 31 March {int(years[-1][:4]) + 1}, so that its lines add up to its totals.")
    sheet.gap()
    chosen = {}
    for label, scenario in scenarios.items():
        for statistic, quantile in QUANTILES.items():
            frame = deficit[deficit.scenario == scenario]
            run = representative_run(frame, years[-1], quantile)
            chosen[(scenario, statistic)] = run
            sheet.ws.cell(sheet.row, 1, f"{label} ({scenario}): {statistic}, run {run}").font = Font(bold=True, size=12)
            sheet.row += 1
            _financial_block(sheet, finance[finance.scenario == scenario], frame, years, run)
            sheet.gap()
    sheet.widths(62, 12, len(years))
    return chosen


def deficit_distribution(workbook: Workbook, deficit: pd.DataFrame, scenarios: dict[str, str], years: list[str],
                         money: dict) -> None:
    sheet = Sheet(workbook, "Deficit distribution")
    sheet.title("Accumulated DSG deficit over runs (GBP m; profile basis: after the council's contributions, "
                "before the Department's instalments)")
    for label, scenario in scenarios.items():
        frame = deficit[deficit.scenario == scenario]
        by_year = frame.groupby("financial_year")
        sheet.header([f"{label} ({scenario})"] + years)
        for name, q in (("5th percentile", 0.05), ("median", 0.5), ("80th percentile (prudent)", 0.8),
                        ("95th percentile", 0.95)):
            sheet.line(name, [by_year["accumulated_deficit_gbp"].quantile(q).get(y, np.nan) / GBP_M for y in years],
                       MONEY_FORMAT)
        sheet.line("Safety Valve profile", [money["sv_profile_gbp"].get(y, np.nan) / GBP_M for y in years],
                   MONEY_FORMAT)
        meets = by_year["meets_target"].mean()
        sheet.line("P(meets the profile)", [meets.get(y, np.nan) for y in years], PERCENT_FORMAT, bold=True)
        sheet.line("P(the Department's instalment is withheld)", [1 - meets.get(y, np.nan) for y in years],
                   PERCENT_FORMAT)
        sheet.gap()
    sheet.widths(48, 12, len(years))


def override_exposure(workbook: Workbook, deficit: pd.DataFrame, finance: pd.DataFrame, scenarios: dict[str, str],
                      years: list[str], money: dict) -> None:
    sheet = Sheet(workbook, "Statutory override")
    end = money.get("statutory_override_ends") or years[-1]
    if end not in years:  # a run that stops before the override ends: its last year, said so
        sheet.note(f"The override ends after {end}, beyond this run; the table shows {years[-1]}, the run's last year.")
        end = years[-1]
    sheet.title(f"The deficit after the Department's payments when the statutory override ends (31 March "
                f"{int(end[:4]) + 1}), GBP m")
    sheet.header(["Scenario", "median", "80th percentile", "95th percentile", "P(deficit cleared)"])
    for label, scenario in scenarios.items():
        values = deficit[(deficit.scenario == scenario) & (deficit.financial_year == end)]
        after = values["accumulated_deficit_after_contributions_gbp"] / GBP_M
        sheet.line(f"{label} ({scenario})", [after.quantile(0.5), after.quantile(0.8), after.quantile(0.95)],
                   MONEY_FORMAT)
        sheet.ws.cell(sheet.row - 1, 5, float(values["deficit_cleared"].mean())).number_format = PERCENT_FORMAT
    sheet.gap()
    sheet.note("The Department's instalments: due if the year meets the profile (dfe_instalments_conditional); the "
               "risk on each is the probability that it is withheld.")
    due = money.get("dfe_instalment_due_gbp", {})
    header = ["Instalment"] + years
    sheet.header(header)
    sheet.line("Due (GBP m)", [due.get(y, np.nan) / GBP_M for y in years], MONEY_FORMAT)
    for label, scenario in scenarios.items():
        frame = deficit[deficit.scenario == scenario].groupby("financial_year")["meets_target"].mean()
        sheet.line(f"P(withheld), {label.lower()}", [1 - frame.get(y, np.nan) for y in years], PERCENT_FORMAT)
        paid = finance[(finance.scenario == scenario) & (finance.line == "dfe_instalment")].groupby(
            "financial_year")["amount_gbp"].mean()
        sheet.line(f"Expected paid (GBP m), {label.lower()}", [paid.get(y, np.nan) / GBP_M for y in years],
                   MONEY_FORMAT)
    sheet.widths(44, 14, len(years) + 1)


def _january_stock(out: Path, scenario: str) -> pd.DataFrame:
    """Plans at each January by run, age band and placement."""
    table = ds.dataset(out / table_folder("stock", scenario), format="parquet").to_table(
        columns=["run", "date", "age_band", "placement", "count"])
    table = table.set_column(2, "age_band", table.column("age_band").cast(pa.string()))
    table = table.set_column(3, "placement", table.column("placement").cast(pa.string()))
    frame = table.to_pandas()
    dates = pd.to_datetime(frame.date)
    return frame[dates.dt.month == 1].assign(january=dates[dates.dt.month == 1].dt.year)


def children_and_young_people(workbook: Workbook, out: Path, finance: pd.DataFrame, scenarios: dict[str, str],
                              years: list[str], money: dict) -> None:
    sheet = Sheet(workbook, "Children and young people")
    sheet.title("EHCPs by age band at each January (median over runs), against the Safety Valve estimates")
    stocks = {scenario: _january_stock(out, scenario) for scenario in scenarios.values()}
    januaries = sorted(next(iter(stocks.values())).january.unique())
    estimates = money.get("sv_ehcp_estimates", {})
    estimate_years = sorted(estimates)
    header = ["Age band"] + [f"SV estimate Jan {int(y[:4]) + 1}" for y in estimate_years]
    for label in scenarios:
        header += [f"{label} Jan {j}" for j in januaries]
    sheet.header(header)
    bands = list(codes.AGE_BANDS)
    for band in bands + ["total"]:
        row = [sum(estimates[y].values()) if band == "total" else estimates[y].get(band) for y in estimate_years]
        for scenario in scenarios.values():
            frame = stocks[scenario]
            if band != "total":
                frame = frame[frame.age_band == band]
            per_run = frame.groupby(["january", "run"])["count"].sum().groupby(level=0).median()
            row += [per_run.get(j, np.nan) for j in januaries]
        sheet.line(band, row, COUNT_FORMAT, bold=band == "total")
    sheet.gap()
    sheet.note("EHCPs by provision type at each January (median over runs)")
    header = ["Provision type"]
    for label in scenarios:
        header += [f"{label} Jan {j}" for j in januaries]
    sheet.header(header)
    for placement in codes.PLACEMENTS:
        row = []
        for scenario in scenarios.values():
            frame = stocks[scenario]
            per_run = frame[frame.placement == placement].groupby(["january", "run"])["count"].sum()
            row += [per_run.groupby(level=0).median().get(j, 0.0) for j in januaries]
        sheet.line(placement, row, COUNT_FORMAT)
    sheet.gap()
    flows_folder = out / "flows"
    if flows_folder.is_dir():
        sheet.note("New and ceased plans per financial year (median over runs)")
        sheet.header(["Plans"] + [f"{label} {y}" for label in scenarios for y in years])
        new: list[float] = []
        ceased: list[float] = []
        for scenario in scenarios.values():
            flows = _read(out / table_folder("flows", scenario))
            dates = pd.to_datetime(flows.date)
            flows = flows.assign(financial_year=[f"{y}-{(y + 1) % 100:02d}" for y in
                                                 np.where(dates.dt.month >= 4, dates.dt.year, dates.dt.year - 1)])
            is_new = flows.event.isin(["new_plan", "arrival"])
            is_ceased = flows.event.str.startswith("review_ceased") | flows.event.isin(["max_age", "moved_away"])
            for mask, target in ((is_new, new), (is_ceased, ceased)):
                per_run = flows[mask].groupby(["financial_year", "run"])["count"].sum().groupby(level=0).median()
                target += [per_run.get(y, 0.0) for y in years]
        sheet.line("new plans and arrivals", new, COUNT_FORMAT)
        sheet.line("ceased plans and moves away", ceased, COUNT_FORMAT)
        sheet.gap()
    else:
        sheet.note("New and ceased plans: the run was made with --no-flows (no flows table).")
        sheet.gap()
    sheet.note("Cost per place (GBP a year): the year's spend on the provision over its average plans in the year "
               "(month-end counts), median over runs")
    sheet.header(["Provision type"] + [f"{label} {y}" for label in scenarios for y in years])
    for placement in codes.PLACEMENTS:
        row = []
        for scenario in scenarios.values():
            spend = finance[(finance.scenario == scenario) & (finance.line == f"plans_{placement}")].set_index(
                ["financial_year", "run"])["amount_gbp"]
            plans = _average_plans(out, scenario, placement)
            ratio = (spend / plans.reindex(spend.index)).groupby(level=0).median()
            row += [ratio.get(y, np.nan) for y in years]
        sheet.line(placement, row, GBP_FORMAT)
    sheet.widths(30, 14, len(header))


def _average_plans(out: Path, scenario: str, placement: str) -> pd.Series:
    """Average month-end plans in each financial year by run, for one placement."""
    table = ds.dataset(out / table_folder("stock", scenario), format="parquet").to_table(
        columns=["run", "date", "placement", "count"])
    table = table.set_column(2, "placement", table.column("placement").cast(pa.string()))
    frame = table.to_pandas()
    frame = frame[frame.placement == placement]
    dates = pd.to_datetime(frame.date)
    fy = np.where(dates.dt.month >= 4, dates.dt.year, dates.dt.year - 1)
    frame = frame.assign(financial_year=[f"{y}-{(y + 1) % 100:02d}" for y in fy])
    monthly = frame.groupby(["financial_year", "run", "date"])["count"].sum()
    return monthly.groupby(level=[0, 1]).mean()


def workstream_log(workbook: Workbook, out: Path, scenario: str, years: list[str], records: list[dict]) -> None:
    sheet = Sheet(workbook, "Workstream log")
    sheet.title(f"Workstream log: the mitigations of {scenario} and their savings (GBP m, the accumulated deficit "
                "at 31 March; sequential attribution over paired runs)")
    summary = pd.read_parquet(out / "mitigation_summary.parquet")
    summary = summary[summary.scenario == scenario]
    described = {r["name"]: r for r in records}
    header = ["Workstream", "Description", "Start", "Ramp (months)", "P(delivered)", "Delivered in runs",
              "Source of the effect", "Source of the delivery probability"]
    for y in years:
        header += [f"{y} mean", f"{y} p05", f"{y} p95"]
    sheet.header(header)
    for _name, group in summary.sort_values("order").groupby("order", sort=True):
        group = group.set_index("financial_year")
        mitigation = str(group["mitigation"].iloc[0])
        record = described.get(mitigation, {})
        sheet.ws.cell(sheet.row, 1, mitigation)
        for k, text in enumerate((record.get("description", ""), record.get("start", "")), start=2):
            sheet.ws.cell(sheet.row, k, text)
        cell = sheet.ws.cell(sheet.row, 4, record.get("ramp_months"))
        cell.number_format = COUNT_FORMAT
        cell = sheet.ws.cell(sheet.row, 5, float(group["delivery_probability"].iloc[0]))
        cell.number_format = PERCENT_FORMAT
        cell = sheet.ws.cell(sheet.row, 6, float(group["delivered_share"].iloc[0]))
        cell.number_format = PERCENT_FORMAT
        sheet.ws.cell(sheet.row, 7, record.get("source", ""))
        sheet.ws.cell(sheet.row, 8, record.get("delivery_source", ""))
        column = 9
        for y in years:
            for statistic in ("mean", "p05", "p95"):
                value = group[statistic].get(y, np.nan)
                if not np.isnan(value):
                    sheet.ws.cell(sheet.row, column, float(value) / GBP_M).number_format = MONEY_FORMAT
                column += 1
        sheet.row += 1
    totals = summary.groupby("financial_year")["mean"].sum()
    sheet.ws.cell(sheet.row, 1, "Total (the paired difference, mean)").font = BOLD
    column = 9
    for y in years:
        sheet.ws.cell(sheet.row, column, float(totals.get(y, 0.0)) / GBP_M).number_format = MONEY_FORMAT
        column += 3
    sheet.row += 1
    sheet.ws.column_dimensions["A"].width = 28
    sheet.ws.column_dimensions["B"].width = 60
    for k in range(3, len(header) + 1):
        sheet.ws.column_dimensions[get_column_letter(k)].width = 12


def notes(workbook: Workbook, manifest: dict, scenarios: dict[str, str]) -> None:
    sheet = Sheet(workbook, "Notes")
    sheet.title("Notes")
    money = manifest["money"]
    for text in (
            f"Runs: {manifest.get('runs')} per scenario, seed {manifest.get('seed')}, {manifest.get('start')} to "
            f"{manifest.get('end')}; spread: {manifest.get('uncertainty', {}).get('bands', '')}.",
            "Scenarios: " + "; ".join(f"{label} = {scenario}" for label, scenario in scenarios.items()) + ".",
            f"Opening position: accumulated DSG deficit {money['opening_gbp'] / GBP_M:.1f}m at the end of "
            f"{money['opening_year']} (outturn).",
            "Basis: the accumulated deficit is after the council's contributions and before the Department's "
            "instalments (the Safety Valve profile's basis); the last rows deduct the instalments paid.",
            "Income gross to net: the allocation before the Department's deductions for places it funds directly "
            "(academy, free school, FE, specialist post-16 and non-maintained places); the same place funding leaves "
            "expenditure, so the in-year deficit is the same on either basis.",
            "Expenditure by provision type: plans are the simulated placements at each month's prices; the other lines "
            "are the high-needs lines outside individual plans (docs/money.md).",
            "Mitigated: the scenario's mitigations, each delivered in a run with its probability; unmitigated: the "
            "baseline. Workstream savings: sequential attribution over paired runs (they add up to the paired "
            "difference).",
            "Money in GBP millions unless a column says otherwise; probabilities are shares of runs."):
        sheet.note(text)
    sheet.ws.column_dimensions["A"].width = 140


def write_dsg_plan(out: str | Path, path: str | Path) -> Path:
    """Write the DSG management plan workbook of the finished run in ``out`` to ``path``
    (:func:`dsg_plan_status` must be None)."""
    out, path = Path(out), Path(path)
    missing = dsg_plan_status(out)
    if missing is not None:
        raise ValueError(f"no DSG management plan: {missing}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    money = manifest["money"]
    mitigated = mitigated_scenario(out)
    if mitigated is None:  # (dsg_plan_status has said so above)
        raise ValueError("no DSG management plan: the run has no scenario with a mitigation log")
    scenarios = {"Unmitigated": BASELINE, "Mitigated": mitigated}
    deficit = _read(out / "deficit")
    finance = _read(out / "finance")
    years = list(money["years"])
    workbook = Workbook()
    workbook.remove(workbook.active)
    financial_summary(workbook, finance, deficit, scenarios, years)
    deficit_distribution(workbook, deficit, scenarios, years, money)
    override_exposure(workbook, deficit, finance, scenarios, years, money)
    children_and_young_people(workbook, out, finance, scenarios, years, money)
    workstream_log(workbook, out, mitigated, years, manifest.get("mitigations", {}).get(mitigated, []))
    notes(workbook, manifest, scenarios)
    workbook.save(path)
    return path
