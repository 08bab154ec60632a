"""The money model: finance inputs and their sources, the cost level of 2023-24, the seed's own
deficit arithmetic, the yearly account per run, cost growth through the engine, and the
money outputs of `sendsim run`."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from sendsim.cli import main
from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.defaults import KENT_COHORT, KENT_PARAMETERS
from sendsim.inputs.errors import InputError
from sendsim.inputs.finance import KENT_FINANCE, load_finance, read_finance_rows, rows_from_table, with_rows
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.inputs.sen2.files import CASELOAD
from sendsim.inputs.sen2.files import number as sen2_number
from sendsim.inputs.sen2.files import read_table as read_sen2_table
from sendsim.money.book import FinanceBook
from sendsim.money.model import LINE_KINDS, cost_level_year, expected_plan_cost, run_money
from sendsim.money.prices import monthly_price_index, nominal_cost
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

DATA = KENT_FINANCE.parent / "data"
CALENDAR = Calendar(2024, 1, 51)
M = 1e6
# The cost-level tolerance: the 2023-24 in-year high-needs deficit within 2% of the outturn (41.8m).
COST_LEVEL_TOLERANCE = 0.02


def _source_values() -> dict[str, tuple[float, str]]:
    out = {}
    for name in ("seed_targets.csv", "kent_finance_public.csv"):
        frame = pd.read_csv(DATA / name)
        for row in frame.itertuples():
            try:
                out[f"{name}:{row.id}"] = (float(row.value), str(row.unit))
            except ValueError:  # a date (the end of the statutory override), not a number
                continue
    return out


@pytest.fixture(scope="module")
def finance() -> FinanceBook:
    return load_finance([KENT_FINANCE])


@pytest.fixture(scope="module")
def cohort_cost() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected annual cost of the January 2024 plans at 2023-24 prices by placement (places in
    other authorities' schools at their cost ratio, as the engine opens a run), the plans by
    placement and by age band and placement."""
    parameters = build_parameter_set(read_parameter_rows(KENT_PARAMETERS), CALENDAR)
    cohort, _ = load_cohort(KENT_COHORT, CALENDAR)
    active = cohort.status == codes.ACTIVE
    placement = cohort.placement[active].astype(np.int64)
    age = np.clip(CALENDAR.academic_age(cohort.birth_month[active]), 0, codes.MAX_AGE)
    cost = expected_plan_cost(placement, age, cohort.need[active].astype(np.int64), parameters["unit_cost"].values[0],
                              parameters["other_la_share"].values[0], parameters["other_la_cost_ratio"].values[0])
    bands = np.zeros((codes.N_AGE_BANDS, codes.N_PLACEMENTS))
    np.add.at(bands, (codes.AGE_BAND_OF_AGE[age], placement), 1)
    return cost, np.bincount(placement, minlength=codes.N_PLACEMENTS), bands


# ---- Sources -------------------------------------------------------------------------------------------
def test_every_finance_value_that_cites_a_figure_equals_it():
    """A row whose source is a vendored figure's id carries that figure (GBP m as GBP m,
    percent as a fraction); every other source is a web address or an assumption: the finance
    file is traceable to its sources."""
    values = _source_values()
    checked = 0
    for row in csv.DictReader(io.StringIO(KENT_FINANCE.read_text(encoding="utf-8"))):
        assert row["source"].strip(), row
        source = row["source"]
        # Rows whose cited id is context rather than the value itself (the note says how).
        context = ("hn_in_year_deficit_variance", "hnb_growth_high", "statutory_override_ends",
                   "schools_block_transfer")
        if source not in values or row["name"] in context:
            assert (source.startswith(("assumption", "https://", "http://")) or source in values
                    or source == "sen2_2025release_caseload.csv" or row["name"] in context), source
            continue
        expected, unit = values[source]
        value = float(row["value"])
        if unit.startswith("percent"):
            expected /= 100.0
        if "underspend" in source:
            expected = -expected  # an underspend lowers the deficit: negative in-year position
        assert value == pytest.approx(expected), (row["name"], row["financial_year"], source)
        checked += 1
    assert checked >= 25


def test_deduction_shares_are_the_sen2_shares(finance):
    """The shares of plans in providers whose place funding the Department pays directly are
    Kent's January 2024 SEN2 counts (academies and free schools, non-maintained schools)."""
    table = read_sen2_table(CASELOAD)
    row = table[(table.la_name == "Kent") & (table.breakdown_topic == "All EHC plans")
                & (table.time_period.astype(str) == "202324")].iloc[0]
    n = {c: sen2_number(row[c]) for c in row.index if c.startswith(("special_", "mainstream_"))}
    units = [c for c in n if c.endswith(("_senunit", "_resourced_provision"))]
    direct_units = [c for c in units if "academy" in c or "free_school" in c]
    expected = {"special": n["special_academy_free"] / (n["special_academy_free"] + n["special_la_maintained"]),
                "srp": sum(n[c] for c in direct_units) / sum(n[c] for c in units),
                "independent": n["special_non_maintained"] / (n["special_non_maintained"] + n["special_independent"])}
    for placement, share in expected.items():
        assert finance.in_force("deduction_share", 2024, placement=placement) == pytest.approx(share, abs=1e-6)


def test_pay_grants_rolled_in_are_kents_share_of_the_2025_26_grant(finance):
    """605m (the 2025-26 core schools budget grant for special schools and AP, NICs included)
    x Kent's 2024-25 share, 8.2m (decision 24/00118) of 280m (TPECG 135m + CSBG 145m)."""
    assert finance.pay_grants_rolled_in(2026) == pytest.approx((480 + 125) * 8.2 / (135 + 145) * M, abs=0.01 * M)
    assert finance.pay_grants_rolled_in(2025) == 0


def test_indirect_citations_hold(finance):
    values = _source_values()
    # The outturn variance is the note of the 40.9m figure ("about +0.9m"); the 2022-23 transfer
    # in GBP is the note of the 1% figure ("about 10.0m").
    notes = {r["id"]: r["note"] for r in csv.DictReader(open(DATA / "seed_targets.csv", encoding="utf-8"))}
    assert "+0.9m" in notes["hn_inyear_deficit_sv_2023_24"]
    assert finance.year_value("hn_in_year_deficit_variance", 2023) == pytest.approx(0.9 * M)
    public = {r["id"]: r["note"] for r in csv.DictReader(open(DATA / "kent_finance_public.csv", encoding="utf-8"))}
    assert "10.0m" in public["sb_transfer_2022_23"]
    assert finance.schools_block(2022) == pytest.approx(values["kent_finance_public.csv:sb_transfer_2022_23"][0]
                                                        and 10.0 * M / 0.01)


# ---- The cost level of 2023-24 (the reconciliation with the outturn) ------------------------------------------
def test_cost_level_2023_24(finance, cohort_cost):
    """The costed January 2024 cohort at 2023-24 prices, plus the other spend lines, set against
    the 2023-24 income derived from the sources, gives an in-year high-needs deficit within 5%
    of 41.8m (the 40.9m profile plus the 0.9m outturn variance)."""
    plan_cost, plans, bands = cohort_cost
    lines, deficit = cost_level_year(finance, 2023, plan_cost, plans, bands)
    target = finance.hn_in_year_outturn(2023)
    assert target == pytest.approx(41.8 * M)
    assert abs(deficit - target) <= COST_LEVEL_TOLERANCE * target, (deficit / M, target / M)
    # The pieces are of the right size: plans 350-360m, gross income about 340m.
    assert 350 * M < plan_cost.sum() < 360 * M
    income = sum(v for k, v in lines.items() if LINE_KINDS.get(k) == "income" and k != "hnb_deductions")
    assert 335 * M < income < 345 * M
    # The income is derived, not typed: the 2024-25 budget (allocation + the 15.2m transfer
    # of decision 23/00125) less the transfer, less the 2024-25 increase.
    assert lines["hnb_allocation_gross"] == pytest.approx(342.7 * M - 15.2 * M - 10 * M)
    assert lines["schools_block_transfer"] == pytest.approx(12.0 * M)  # decision 23/00006
    # Spend on the same basis as income: the deductions leave both sides.
    assert lines["less_places_funded_directly"] == pytest.approx(lines["hnb_deductions"])
    assert lines["hnb_deductions"] < -20 * M


def test_engine_prices_the_cohort_as_the_cost_level_test(cohort_cost, money_run):
    """The engine's first month costs the cohort at the same level (per-child draws, mean 1)."""
    plan_cost, _, _ = cohort_cost
    cost = ds.dataset(money_run / "cost", partitioning="hive").to_table().to_pandas()
    first = cost[pd.to_datetime(cost.date) == pd.Timestamp("2024-01-31")]
    annual = first.groupby("run")["cost_gbp"].sum() * 12
    assert annual.mean() == pytest.approx(plan_cost.sum(), rel=0.01)


# ---- The seed's own arithmetic -------------------------------------------------------------------------
def test_seed_accumulated_deficit_arithmetic_line_by_line(finance):
    """117.9m + 40.9m + 0.9m - 1.3m (schools block) - 1.4m (early years block) - 14.7m (the
    council) = 142.3m; the council's 14.7m is the balancing item, consistent with the public
    'more than 14m'."""
    lines = finance.reconcile(2023)
    names = [name for name, _ in lines]
    assert names[0] == "accumulated deficit 31 March 2023" and names[-1] == "accumulated deficit 31 March 2024"
    assert lines[0][1] == 117.9 * M and lines[-1][1] == 142.3 * M
    assert sum(v for _, v in lines[:-1]) == pytest.approx(lines[-1][1])
    council = -dict(lines)["council's contribution (balancing item)"]
    assert council == pytest.approx(14.7 * M, abs=1e3)
    public = _source_values()["kent_finance_public.csv:sv_council_contribution_2023_24"][0]
    assert council > public * M  # "more than 14m"
    # Every other year of the agreement shares the rest of the 82m evenly.
    years = finance.agreement_years()
    assert sum(finance.council_contribution(y) for y in years) == pytest.approx(82 * M)


def test_profile_basis_is_after_the_council_and_before_the_department(finance):
    """The profile's own arithmetic: 129.7m + the 40.1m in-year DSG target - an even sixth of the
    council's 82m = 156.1m (to 0.05m). Deducting the Department's instalment as well would miss
    by more than 16m; and the profile ends at 140.0m, exactly the Department's 140m, which
    clears it. The outturns are on the same basis: with the Department's instalment deducted
    the council's 2023-24 contribution would have to be negative."""
    values = _source_values()
    target_in_year = values["seed_targets.csv:hn_inyear_target_2023_24"][0] * M
    council_share = finance.scalar("council_contribution_total") / len(finance.agreement_years())
    reproduced = finance.profile(2022) + target_in_year - council_share
    assert reproduced == pytest.approx(finance.profile(2023), abs=0.05 * M)
    assert abs(reproduced - finance.dfe_instalment(2023) - finance.profile(2023)) > 16 * M
    last = finance.agreement_years()[-1]
    assert finance.profile(last) == pytest.approx(finance.scalar("dfe_instalment_total"))
    assert finance.council_contribution(2023) - finance.dfe_instalment(2023) < 0


# ---- The yearly account ----------------------------------------------------------------------------------
def _synthetic(finance: FinanceBook, spend_scale: np.ndarray) -> object:
    years = np.array([2023, 2024, 2025, 2026, 2027])
    complete = np.array([False, True, True, True, True])
    # One run number for all: the same draws of the allocation's growth, so that only the spend differs.
    runs = np.full(spend_scale.size, 7)
    base = np.array([0.3, 41, 19, 150, 80, 20, 28, 17, 4]) * M
    spend = spend_scale[:, None, None] * base[None, None, :] * (1.05 ** np.arange(5))[None, :, None]
    plans = np.full((runs.size, years.size), 20_000)
    return run_money(finance, runs, years, complete, spend, plans)


def test_account_identities_and_rules(finance):
    result = _synthetic(finance, np.linspace(0.85, 1.15, 31))
    assert [int(y) for y in result.years] == [2024, 2025, 2026, 2027]
    c = result.columns
    spend = sum(result.lines[k] for k, kind in LINE_KINDS.items() if kind == "spend")
    income = sum(result.lines[k] for k, kind in LINE_KINDS.items() if kind == "income")
    np.testing.assert_allclose(c["spend_gbp"], spend)
    np.testing.assert_allclose(c["in_year_deficit_gbp"], spend - income)
    other = sum(result.lines[b] for b in ("schools_block", "central_school_services_block", "early_years_block"))
    np.testing.assert_allclose(c["dsg_in_year_deficit_gbp"], c["in_year_deficit_gbp"] + other)
    previous = np.concatenate([np.full((31, 1), 142.3 * M), c["accumulated_deficit_gbp"][:, :-1]], axis=1)
    np.testing.assert_allclose(c["accumulated_deficit_gbp"],
                               previous + c["dsg_in_year_deficit_gbp"] - result.lines["council_contribution"])
    # The Department's instalment is paid exactly in the years that meet the profile.
    due = np.array([finance.dfe_instalment(int(y)) for y in result.years])
    np.testing.assert_allclose(result.lines["dfe_instalment"], np.where(result.meets_target, due, 0.0))
    before = np.concatenate([np.full((31, 1), result.opening_after_contributions_gbp),
                             c["accumulated_deficit_after_contributions_gbp"][:, :-1]], axis=1)
    np.testing.assert_allclose(c["accumulated_deficit_after_contributions_gbp"],
                               before + c["dsg_in_year_deficit_gbp"] - result.lines["council_contribution"]
                               - result.lines["dfe_instalment"])
    assert result.opening_after_contributions_gbp == pytest.approx((142.3 - 56.8 - 83.2 / 5) * M)
    # RAG by the documented rule; cleared when nothing is left after all contributions.
    variance = c["accumulated_deficit_gbp"] - c["sv_target_gbp"]
    tolerance = finance.scalar("rag_amber_tolerance") * c["sv_target_gbp"]
    expected = np.where(variance <= 0, 0, np.where(variance <= tolerance, 1, 2))
    np.testing.assert_array_equal(result.rag, expected)
    np.testing.assert_array_equal(result.cleared, c["accumulated_deficit_after_contributions_gbp"] <= 0)
    # Cheaper runs do better: the deficit is monotone in the spend.
    assert np.all(np.diff(c["accumulated_deficit_gbp"][:, -1]) > 0)
    assert result.meets_target[0].any() and not result.meets_target[-1].any()
    assert set(np.unique(result.rag)) == {0, 1, 2}


def test_instalments_unconditional_when_switched(finance):
    rows = rows_from_table("scenario.toml", "finance", {"rows": [
        {"name": "dfe_instalments_conditional", "value": 0, "unit": "flag", "source": "test: always paid"}]})
    always = _synthetic(with_rows(finance, rows), np.array([1.3]))
    assert not always.meets_target.any()
    np.testing.assert_allclose(always.lines["dfe_instalment"][0], 83.2 * M / 5)


# ---- Cost growth: one mechanism ----------------------------------------------------------------------------
def test_price_index_comes_from_cost_types(finance):
    """Each placement's price steps each April by its cost types' growth that financial year,
    from 1 in the run's first financial year."""
    index = monthly_price_index(finance, CALENDAR)
    special = codes.PLACEMENTS.index("special")
    independent = codes.PLACEMENTS.index("independent")
    april = [CALENDAR.month_index(y, 4) for y in (2024, 2025, 2026, 2027)]
    np.testing.assert_array_equal(index[:april[0]], 1.0)  # January-March 2024: 2023-24 prices
    # 2024-25: the authority's decided 2% (decision 23/00125); 2025-26: the special schools'
    # cost structure, less the teachers' award funded by a separate grant.
    assert index[april[0], special] == pytest.approx(1.02)
    borne = finance.provider_cost_growth("special", 2025, borne=True)
    assert index[april[1], special] == pytest.approx(1.02 * (1 + borne))
    assert 0 < borne < finance.provider_cost_growth("special", 2025)
    assert index[april[0] - 1, special] == 1.0 and index[april[1] - 1, special] == index[april[0], special]
    assert index[april[0], independent] == pytest.approx((49259 / 43734) ** 0.25)


def test_nominal_cost_is_base_cost_times_the_index(finance):
    base = np.random.default_rng(3).uniform(0, 1e6, (4, CALENDAR.n_months, codes.N_PLACEMENTS))
    index = monthly_price_index(finance, CALENDAR)
    np.testing.assert_array_equal(nominal_cost(base, index), base * index[None])


def test_a_cost_growth_override_changes_the_price_index(finance):
    """A scenario that raises support-staff pay awards from 2025-26 changes the price index of
    the placements whose providers employ support staff on the NJC spine (special schools
    among them) and of nothing else."""
    override = rows_from_table("scenario.toml", "finance", {"rows": [
        {"name": "pay_award", "financial_year": fy, "cost_type": "support_staff_pay", "value": 0.08,
         "unit": "fraction", "source": "test: pay growth stays high"} for fy in ("2025-26", "2026-27", "2027-28")]})
    before = monthly_price_index(finance, CALENDAR)
    after = monthly_price_index(with_rows(finance, override), CALENDAR)
    changed = np.flatnonzero(~np.isclose(before[-1], after[-1]))
    assert [codes.PLACEMENTS[p] for p in changed] == ["mainstream", "srp", "special", "fe", "alternative"]
    april_2025 = CALENDAR.month_index(2025, 4)
    np.testing.assert_array_equal(before[:april_2025], after[:april_2025])
    special = codes.PLACEMENTS.index("special")
    weight = 0.45  # support staff's share of a special school's cost (finance.csv)
    expected = np.prod([1 + weight * (0.08 - finance.cost_growth("support_staff_pay", y, "special"))
                        / (1 + finance.provider_cost_growth("special", y, borne=True)) for y in (2025, 2026, 2027)])
    assert after[-1, special] / before[-1, special] == pytest.approx(expected)


def test_price_growth_in_a_parameter_file_or_draws_is_refused_with_a_pointer(tmp_path):
    path = tmp_path / "growth.csv"
    path.write_text("parameter,placement,value,source\nprice_growth,special,0.05,test\n", encoding="utf-8")
    with pytest.raises(InputError, match="price_growth is not an engine parameter") as error:
        read_parameter_rows(path)
    assert "line 2" in str(error.value) and "growth.csv" in str(error.value) and "--finance" in str(error.value)


# ---- Validation ----------------------------------------------------------------------------------------------
KENT_TEXT = KENT_FINANCE.read_text(encoding="utf-8")


def _replace(old: str, new: str) -> str:
    assert old in KENT_TEXT, old
    return KENT_TEXT.replace(old, new, 1)


@pytest.mark.parametrize("text, column, message", [
    (_replace("name,financial_year", "name,year"), None, "unknown column"),
    (KENT_TEXT + "hnb_uplift,2025-26,,,,,0.03,fraction,test,\n", "name", "unknown finance item 'hnb_uplift'"),
    (_replace("spend_line,2023-24,hospital_education", "spend_line,2023-24,hospital"), "line", "needs a line"),
    (_replace(",,,special,teacher_pay,,0.35,", ",,,specials,teacher_pay,,0.35,"), "placement", "needs a placement"),
    (_replace("hnb_growth,2026-27,", "hnb_growth,2026-2027,"), "financial_year", "financial year like 2024-25"),
    (_replace("hnb_increase,2024-25,,,,,10,GBP m,kent_finance_public.csv:hnb_increase_2024_25",
              "hnb_increase,2024-25,,,,,10,GBP m,"), "source", "needs its source"),
    (_replace("hnb_budget,2024-25,,,,,342.7,GBP m", "hnb_budget,2024-25,,,,,342.7,percent"), "unit", "GBP m"),
    (_replace("hnb_growth,2026-27,,,,,0,", "hnb_growth,2026-27,,,,,3,"), "value", "must lie in"),
    (KENT_TEXT + "sv_profile,2024-25,,,,,170.5,GBP m,test,\n", "name", "repeats the row on line"),
    (_replace("rag_amber_tolerance,,", "rag_amber_tolerance,2024-25,"), "financial_year", "no financial year"),
])
def test_finance_errors_name_file_line_column_and_rule(tmp_path, text, column, message):
    path = tmp_path / "finance.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as error:
        load_finance([path])
    assert str(path) in str(error.value)
    if column is not None:
        assert error.value.column == column and error.value.row is not None


def test_weights_must_sum_to_one(tmp_path):
    path = tmp_path / "finance.csv"
    path.write_text(_replace("alternative,support_staff_pay,,0.40,", "alternative,support_staff_pay,,0.50,"),
                    encoding="utf-8")
    with pytest.raises(InputError, match="alternative sum to 1.1, not 1"):
        load_finance([path])


def test_override_file_layers_on_the_kent_file(tmp_path, finance):
    path = tmp_path / "no_transfer.csv"
    path.write_text("name,financial_year,value,unit,source\n"
                    "schools_block_transfer_share,2025-26,0,fraction,scenario: transfer switched off\n",
                    encoding="utf-8")
    layered = load_finance([KENT_FINANCE, path])
    assert layered.schools_block_transfer_gbp(2024) == finance.schools_block_transfer_gbp(2024) > 12 * M
    assert layered.schools_block_transfer_gbp(2025) == 0
    assert len(read_finance_rows(path)) == 1


# ---- `sendsim run` writes the money outputs -------------------------------------------------------------------
RUNS = 12


@pytest.fixture(scope="module")
def money_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("money") / "out"
    assert main(["run", "--runs", str(RUNS), "--out", str(out), "--quiet", "--no-flows"]) == 0
    return out


def _read(path: Path) -> pd.DataFrame:
    frame = ds.dataset(path, format="parquet", partitioning="hive").to_table().to_pandas()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame


def test_run_writes_deficit_finance_and_summary(money_run, capsys):
    deficit = _read(money_run / "deficit")
    assert len(deficit) == RUNS * 4
    assert sorted(deficit.groupby(["run", "financial_year"]).size().index.get_level_values(1).unique()) == [
        "2024-25", "2025-26", "2026-27", "2027-28"]
    assert (deficit.groupby(["run", "financial_year"]).size() == 1).all()
    for column in ("spend_gbp", "income_gbp", "in_year_deficit_gbp", "accumulated_deficit_gbp",
                   "accumulated_deficit_after_contributions_gbp", "sv_target_gbp", "meets_target", "scenario"):
        assert column in deficit.columns, column
    assert set(deficit.scenario) == {"baseline"}
    assert (deficit.meets_target == (deficit.accumulated_deficit_gbp <= deficit.sv_target_gbp)).all()
    finance_lines = _read(money_run / "finance")
    assert set(finance_lines.line) == set(LINE_KINDS)
    assert len(finance_lines) == RUNS * 4 * len(LINE_KINDS)
    # The plan lines are the engine's cost table summed to financial years (April to March).
    cost = _read(money_run / "cost")
    dates = pd.to_datetime(cost.date)
    fy = np.where(dates.dt.month >= 4, dates.dt.year, dates.dt.year - 1)
    cost = cost[fy == 2025]
    engine = cost.groupby(["run", "placement"])["cost_gbp"].sum()
    lines = finance_lines[(finance_lines.financial_year == "2025-26") & finance_lines.line.str.startswith("plans_")]
    ours = lines.assign(placement=lines.line.str.removeprefix("plans_")).set_index(["run", "placement"])["amount_gbp"]
    pd.testing.assert_series_equal(ours.reindex(engine.index), engine, check_names=False)
    summary = pd.read_parquet(money_run / "summary.parquet")
    assert list(summary.columns) == ["scenario", "financial_year", "metric", "mean", "p05", "p25", "p50", "p75", "p95",
                                     "prob_meets_target", "intervals_hold"]
    assert summary.intervals_hold.nunique() == 1 and "Monte Carlo noise" in summary.intervals_hold.iloc[0]
    acc = summary[summary.metric == "accumulated_deficit_gbp"].set_index("financial_year")
    expected = deficit.groupby("financial_year")["accumulated_deficit_gbp"].median()
    np.testing.assert_allclose(acc.loc[expected.index, "p50"], expected)
    manifest = json.loads((money_run / "manifest.json").read_text())
    assert manifest["inputs"]["finance"][0]["path"].endswith("finance.csv")
    assert {"deficit", "finance"} <= set(manifest["tables"])
    assert manifest["money"]["opening_gbp"] == 142.3 * M


def test_no_transfer_lever_moves_only_income(money_run, tmp_path):
    """Switching off the Schools Block transfer leaves the engine's runs identical (the engine
    does not see it) and raises each year's in-year deficit by exactly the transfer."""
    override = tmp_path / "no_transfer.csv"
    override.write_text("name,financial_year,value,unit,source\n"
                        "schools_block_transfer_share,2024-25,0,fraction,scenario: no transfer\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", "--runs", "4", "--out", str(out), "--quiet", "--no-flows", "--finance", str(override)]) == 0
    base = _read(money_run / "deficit").set_index(["run", "financial_year"]).sort_index()
    lever = _read(out / "deficit").set_index(["run", "financial_year"]).sort_index()
    base = base.loc[lever.index]
    np.testing.assert_allclose(lever.spend_gbp, base.spend_gbp)
    transfer = load_finance([KENT_FINANCE])
    expected = np.array([transfer.schools_block_transfer_gbp(int(fy[:4])) for _, fy in lever.index])
    np.testing.assert_allclose(lever.in_year_deficit_gbp - base.in_year_deficit_gbp, expected)
    assert (lever.accumulated_deficit_gbp.groupby(level=0).last()
            > base.accumulated_deficit_gbp.groupby(level=0).last()).all()


# ---- Income as allocated, spend on the same basis ------------------------------------------------------------
def test_the_deductions_leave_income_and_spend_alike(money_run):
    """The place funding the Department pays directly is deducted from the allocation and from
    spend in the same amount: the in-year deficit is gross spend minus gross income."""
    lines = _read(money_run / "finance").pivot_table(index=["run", "financial_year"], columns="line",
                                                      values="amount_gbp")
    np.testing.assert_allclose(lines["less_places_funded_directly"], lines["hnb_deductions"])
    assert (lines["hnb_deductions"] < -25 * M).all()
    deficit = _read(money_run / "deficit").set_index(["run", "financial_year"]).loc[lines.index]
    gross_spend = sum(lines[k] for k, kind in LINE_KINDS.items()
                      if kind == "spend" and k != "less_places_funded_directly")
    gross_income = sum(lines[k] for k, kind in LINE_KINDS.items() if kind == "income" and k != "hnb_deductions")
    np.testing.assert_allclose(deficit.in_year_deficit_gbp, gross_spend - gross_income, rtol=1e-12)


def test_a_net_reading_of_the_budget_adds_the_deductions_back(finance):
    """Read as net of the deductions, the same 342.7m gives a gross allocation higher by the
    anchor year's deductions (so the deficit lower by them): the basis is a stated choice."""
    net = with_rows(finance, rows_from_table("scenario.toml", "finance", {"rows": [
        {"name": "hnb_budget_is_gross", "value": 0, "unit": "flag", "source": "test: the budget read as net"}]}))
    years, complete = np.array([2023, 2024, 2025]), np.array([False, True, True])
    plans = np.tile(np.array([70, 5600, 1200, 6200, 1650, 1800, 830, 980, 1100]), (3, 3, 1))
    spend = np.full((3, 3, codes.N_PLACEMENTS), 40 * M)
    kwargs = dict(seed=1, plans_by_fy_placement=plans)
    gross_result = run_money(finance, np.arange(3), years, complete, spend, plans.sum(axis=2), **kwargs)
    net_result = run_money(net, np.arange(3), years, complete, spend, plans.sum(axis=2), **kwargs)
    added = plans[0, 1] @ finance.deduction_per_plan(2024)
    allocation = "hnb_allocation_gross"
    np.testing.assert_allclose(net_result.lines[allocation][:, 0] - gross_result.lines[allocation][:, 0], added)
    deficit = "in_year_deficit_gbp"
    np.testing.assert_allclose(gross_result.columns[deficit][:, 0] - net_result.columns[deficit][:, 0], added)


def test_allocation_growth_from_2026_27_is_drawn_per_run_with_common_random_numbers(finance):
    """2026-27 and 2027-28 are triangular draws within their sources' bounds; run r draws the
    same whatever the runs around it and whatever the scenario (a function of seed, run, year)."""
    years, complete = np.array([2023, 2024, 2025, 2026, 2027]), np.array([False, True, True, True, True])
    runs = np.arange(400)
    spend = np.zeros((runs.size, years.size, codes.N_PLACEMENTS))
    result = run_money(finance, runs, years, complete, spend, np.zeros((runs.size, years.size)), seed=5)
    gross = result.lines["hnb_allocation_gross"]
    growth_2026 = gross[:, 2] / gross[:, 1] - 1
    growth_2027 = gross[:, 3] / gross[:, 2] - 1
    assert np.all((growth_2026 >= -0.01) & (growth_2026 <= 0.01)) and growth_2026.std() > 0.002
    assert np.all((growth_2027 >= 0) & (growth_2027 <= 0.07))
    assert np.mean(growth_2027) == pytest.approx((0 + 0.0236 + 0.07) / 3, abs=0.004)  # the triangle's mean
    np.testing.assert_allclose(gross[:, :2], np.broadcast_to(finance.hnb_allocation(2024) + np.array([0, 21.5 * M]),
                                                             (runs.size, 2)))
    again = run_money(no_transfer := with_rows(finance, rows_from_table("s.toml", "finance", {"rows": [
        {"name": "schools_block_transfer_share", "financial_year": "2025-26", "value": 0, "unit": "fraction",
         "source": "test"}]})), runs[::-3], years, complete, spend[::-3], np.zeros((runs[::-3].size, years.size)),
        seed=5)
    np.testing.assert_allclose(again.lines["hnb_allocation_gross"], gross[::-3])
    assert no_transfer.schools_block_transfer_gbp(2025) == 0


def test_a_support_staff_pay_change_moves_special_school_spend(money_run, tmp_path):
    """support_staff_pay_10pct (awards of 10% a year from 2025-26): the engine's runs are the
    baseline's, and special-school spend rises by the price index of its support-staff share,
    from 2025-26 only (the seed's Risk 5: special schools use more support staff)."""
    out = tmp_path / "pay"
    assert main(["run", "--runs", "4", "--out", str(out), "--quiet", "--no-flows", "--scenario",
                 "support_staff_pay_10pct"]) == 0
    lines = _read(out / "finance")
    special = lines[lines.line == "plans_special"].pivot_table(index=["run", "financial_year"], columns="scenario",
                                                               values="amount_gbp")
    ratio = special["support_staff_pay_10pct"] / special["baseline"]
    by_year = ratio.groupby(level=1).mean()
    assert by_year["2024-25"] == pytest.approx(1.0)
    finance = load_finance([KENT_FINANCE])
    assert by_year["2025-26"] > 1.01 and by_year["2027-28"] > by_year["2026-27"] > by_year["2025-26"]
    # The size: 45% of a special school's cost is support staff, whose awards are unfunded from 2025-26.
    growth = 0.45 * (0.10 - finance.cost_growth("support_staff_pay", 2025, "special"))
    assert by_year["2025-26"] == pytest.approx(1 + growth / (1 + finance.provider_cost_growth("special", 2025, True)),
                                               rel=1e-6)
    changed = special.groupby(level=1).sum()
    assert (changed.loc["2027-28", "support_staff_pay_10pct"] - changed.loc["2027-28", "baseline"]) / 4 > 5 * M


def test_the_price_hold_caps_growth_in_undecided_years_only(finance, tmp_path):
    """The plan's 1% hold (the price_hold lever) caps each placement's price growth from its
    year, not the uplifts already decided; providers' costs go on rising underneath."""
    path = tmp_path / "hold.toml"
    path.write_text('name = "hold"\n[levers.price_hold]\nfrom = "2024-25"\ngrowth = 0.01\n', encoding="utf-8")
    from sendsim.inputs.scenarios import load_scenario
    scenario = load_scenario(path, read_parameter_rows(KENT_PARAMETERS), CALENDAR)
    held = with_rows(finance, scenario.finance_rows)
    for placement in codes.PLACEMENTS:
        if finance.price_decided(placement, 2024) is not None:  # decided in 2024-25 (all but interim tuition)
            assert held.price_growth(placement, 2024) == finance.price_growth(placement, 2024)
        else:
            assert held.price_growth(placement, 2024) == pytest.approx(0.01)
        for year in (2025, 2026, 2027):
            assert held.price_growth(placement, year) == pytest.approx(min(0.01, finance.price_growth(placement, year)))
    assert held.provider_cost_growth("special", 2026) == finance.provider_cost_growth("special", 2026) > 0.01
