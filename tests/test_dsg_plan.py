"""The DSG management plan workbook of `sendsim report`: written for a run with the baseline and
sv_plan, laid out as the DfE template (sheets, headers, number formats), its totals equal to the
Parquet tables; a run without a mitigated scenario says what is missing."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sendsim.cli import main
from sendsim.outputs.dsg_plan import COUNT_FORMAT, DSG_PLAN_FILE, MONEY_FORMAT, PERCENT_FORMAT

RUNS = 5
YEARS = ["2024-25", "2025-26", "2026-27", "2027-28"]
SHEETS = ["Financial summary", "Deficit distribution", "Statutory override", "Children and young people",
          "Workstream log", "Notes"]


def read(out: Path, table: str) -> pd.DataFrame:
    frame = pd.read_parquet(out / table)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame


@pytest.fixture(scope="module")
def plan_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dsg") / "out"
    assert main(["run", "--scenario", "sv_plan", "--runs", str(RUNS), "--chunk-size", "5", "--out", str(out),
                 "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    return out


def blocks(sheet) -> dict[tuple[str, str, int], dict[str, list]]:
    """The financial summary's blocks: (scenario, statistic, run) -> row label -> values by year."""
    out: dict = {}
    current = None
    for row in sheet.iter_rows(values_only=True):
        label = row[0]
        if isinstance(label, str):
            match = re.match(r"^(\w+) \((\w+)\): (.+), run (\d+)$", label)
            if match:
                current = out.setdefault((match.group(2), match.group(3), int(match.group(4))), {})
                continue
        if current is not None and label is not None and any(isinstance(v, float) for v in row[1:]):
            current[label] = list(row[1:1 + len(YEARS)])
    return out


def test_the_workbook_has_the_template_sheets_headers_and_formats(plan_run):
    path = plan_run / "report" / DSG_PLAN_FILE
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == SHEETS
    summary = book["Financial summary"]
    headers = [[c.value for c in row] for row in summary.iter_rows() if row[0].value in ("Income", "Expenditure by "
                                                                                       "provision type", "Position")]
    assert len(headers) == 4 * 3 and all(h[1:1 + len(YEARS)] == YEARS for h in headers)
    formats = {c.number_format for row in summary.iter_rows(min_col=2) for c in row if isinstance(c.value, float)}
    assert formats == {MONEY_FORMAT}
    distribution = book["Deficit distribution"]
    for row in distribution.iter_rows():
        if row[0].value and str(row[0].value).startswith("P("):
            assert all(c.number_format == PERCENT_FORMAT for c in row[1:] if c.value is not None)
    children = book["Children and young people"]
    header = [c.value for c in next(r for r in children.iter_rows() if r[0].value == "Age band")]
    assert header[1:3] == ["SV estimate Jan 2024", "SV estimate Jan 2025"] and "Mitigated Jan 2028" in header
    band_rows = {r[0].value: r for r in children.iter_rows() if r[0].value in ("under_5", "total")}
    assert band_rows["under_5"][1].value == 488 and band_rows["under_5"][1].number_format == COUNT_FORMAT
    log = book["Workstream log"]
    names = [r[0].value for r in log.iter_rows(min_row=4) if r[0].value and not str(r[0].value).startswith("Total")]
    assert names[:3] == ["independent_vfm_review", "nhs_joint_funding", "post16_pathways"]


def test_the_workbook_totals_equal_the_parquet_tables(plan_run):
    book = openpyxl.load_workbook(plan_run / "report" / DSG_PLAN_FILE)
    deficit = read(plan_run, "deficit").set_index(["scenario", "run", "financial_year"])
    found = blocks(book["Financial summary"])
    assert {(s, stat) for s, stat, _ in found} == {(s, stat) for s in ("baseline", "sv_plan")
                                                  for stat in ("median", "prudent (80th percentile)")}
    for (scenario, statistic, run), rows in found.items():
        truth = deficit.loc[(scenario, run)].loc[YEARS]
        for label, column in (("Total income (net)", "income_gbp"), ("Total expenditure (net)", "spend_gbp"),
                              ("In-year high-needs deficit (expenditure - income)", "in_year_deficit_gbp"),
                              ("Accumulated DSG deficit at 31 March (profile basis)", "accumulated_deficit_gbp"),
                              ("Accumulated deficit after the Department's payments",
                               "accumulated_deficit_after_contributions_gbp")):
            np.testing.assert_allclose(rows[label], truth[column] / 1e6, rtol=1e-12, err_msg=f"{scenario} {label}")
        # The lines add up to the totals: income gross to net, expenditure by provision type.
        labels = list(rows)
        income = labels[labels.index("High Needs Block allocation, gross (before deductions)"):
                        labels.index("Total income (net)")]
        income.remove("High Needs Block allocation, net")
        np.testing.assert_allclose(np.sum([rows[k] for k in income], axis=0), rows["Total income (net)"], rtol=1e-9)
        spend = labels[labels.index("Total income (net)") + 1:labels.index("Total expenditure (net)")]
        np.testing.assert_allclose(np.sum([rows[k] for k in spend], axis=0), rows["Total expenditure (net)"], rtol=1e-9)
        # The run is the quantile of the accumulated deficit in the last year.
        last = deficit.xs(YEARS[-1], level="financial_year").loc[scenario]["accumulated_deficit_gbp"]
        q = 0.5 if statistic == "median" else 0.8
        assert last.loc[run] == np.quantile(last.to_numpy(), q, method="inverted_cdf")
    log = book["Workstream log"]
    total = next(r for r in log.iter_rows(values_only=True) if r[0] == "Total (the paired difference, mean)")
    acc = deficit["accumulated_deficit_gbp"]
    paired = (acc.loc["baseline"] - acc.loc["sv_plan"]).groupby(
        level="financial_year").mean()
    np.testing.assert_allclose([total[8 + 3 * k] for k in range(len(YEARS))], paired.loc[YEARS] / 1e6, atol=1e-9)
    override = book["Statutory override"]
    rows = {r[0]: r for r in override.iter_rows(values_only=True) if r[0]}
    after = deficit.xs("2027-28", level="financial_year")["accumulated_deficit_after_contributions_gbp"]
    assert rows["Unmitigated (baseline)"][1] == pytest.approx(after.loc["baseline"].quantile(0.5) / 1e6)


def test_report_says_what_is_missing_without_a_mitigated_scenario(tmp_path, capsys):
    out = tmp_path / "base"
    assert main(["run", "--runs", "3", "--months", "15", "--out", str(out), "--quiet", "--no-flows"]) == 0
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "no DSG management plan workbook" in text and "--scenario sv_plan" in text
    assert not (out / "report" / DSG_PLAN_FILE).exists()
