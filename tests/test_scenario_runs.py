"""Scenarios run end to end: every built-in, identical to the baseline before its levers,
paired differences with lower variance than unpaired ones, and a sweep of 100 scenarios."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendsim.cli import main
from sendsim.inputs.scenarios import builtin_names


def read(out: Path, table: str) -> pd.DataFrame:
    frame = pd.read_parquet(out / table)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame


@pytest.fixture(scope="module")
def all_scenarios(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scenarios") / "out"
    assert main(["run", "--all-scenarios", "--runs", "6", "--months", "27", "--chunk-size", "3", "--out", str(out),
                 "--quiet"]) == 0
    return out


def test_every_builtin_scenario_runs(all_scenarios):
    scenarios = read(all_scenarios, "stock")["scenario"].unique()
    assert sorted(scenarios) == builtin_names()
    described = pd.read_parquet(all_scenarios / "scenarios.parquet")
    assert sorted(described["scenario"]) == builtin_names()
    deficit = read(all_scenarios, "deficit")
    assert deficit.groupby("scenario").size().eq(6 * 2).all()  # 6 runs x 2 complete financial years
    difference = read(all_scenarios, "difference")
    assert sorted(difference["scenario"].unique()) == sorted(set(builtin_names()) - {"baseline"})
    manifest = json.loads((all_scenarios / "manifest.json").read_text())
    assert sorted(manifest["scenarios"]) == builtin_names()
    assert {"difference", "deficit", "finance"} <= set(manifest["tables"])


def test_each_scenario_equals_the_baseline_before_its_effective_date(all_scenarios):
    described = pd.read_parquet(all_scenarios / "scenarios.parquet").set_index("scenario")
    keys = {"stock": ["run", "date", "age_band", "placement", "need"],
            "flows": ["run", "date", "event", "from_placement", "to_placement"], "cost": ["run", "date", "placement"]}
    tables = {name: read(all_scenarios, name) for name in keys}
    checked = 0
    for scenario, row in described.iterrows():
        if scenario == "baseline" or row["first_effective"] is None:
            continue
        effective = pd.Timestamp(row["first_effective"] + "-01")
        for name, key in keys.items():
            frame = tables[name]
            before = frame[pd.to_datetime(frame["date"]) < effective]
            a = before[before.scenario == scenario].drop(columns="scenario").sort_values(key).reset_index(drop=True)
            b = before[before.scenario == "baseline"].drop(columns="scenario").sort_values(key).reset_index(drop=True)
            assert len(a) > 0, (scenario, name)
            pd.testing.assert_frame_equal(a, b, obj=f"{scenario} {name} before {row['first_effective']}")
            checked += 1
        # After the date: engine levers change the flows; money levers (block transfer, cost
        # growth) leave them identical, and cost growth changes the engine's costs.
        money_only = scenario in ("no_block_transfer", "support_staff_pay_10pct")
        for name in ("flows", "cost"):
            frame = tables[name]
            after = frame[pd.to_datetime(frame["date"]) >= effective]
            a = after[after.scenario == scenario].drop(columns="scenario").sort_values(keys[name])
            b = after[after.scenario == "baseline"].drop(columns="scenario").sort_values(keys[name])
            same = a.reset_index(drop=True).equals(b.reset_index(drop=True))
            expected_same = money_only and (name == "flows" or scenario == "no_block_transfer")
            assert same == expected_same, (scenario, name)
    assert checked >= 3 * 5


def test_paired_differences_have_lower_variance_than_unpaired(tmp_path):
    out = tmp_path / "paired"
    # The central parameter values for every run: the pairing of Monte Carlo noise is what is tested.
    assert main(["run", "--scenario", "assessment_tightening_reversed", "--runs", "30", "--months", "27",
                 "--chunk-size", "15", "--out", str(out), "--quiet", "--no-flows", "--central"]) == 0
    summary = pd.read_parquet(out / "difference_summary.parquet")
    row = summary[(summary.metric == "delta_accumulated_deficit_gbp") & (summary.financial_year == "2025-26")].iloc[0]
    # Unpaired: the variance of the difference of two independent runs, var(s) + var(b).
    deficit = read(out, "deficit")
    deficit = deficit[deficit.financial_year == "2025-26"].pivot(index="run", columns="scenario",
                                                                 values="accumulated_deficit_gbp")
    paired = np.var(deficit["assessment_tightening_reversed"] - deficit["baseline"], ddof=1)
    unpaired = np.var(deficit["assessment_tightening_reversed"], ddof=1) + np.var(deficit["baseline"], ddof=1)
    assert row["var_paired"] == pytest.approx(paired) and row["var_unpaired"] == pytest.approx(unpaired)
    assert row["variance_ratio"] < 0.5, row["variance_ratio"]
    assert row["mean"] > 0 and row["prob_lower"] == 0.0  # assessing more children costs more, in every run
    difference = read(out, "difference")
    assert len(difference) == 30 * 2
    assert sorted(difference.columns) == sorted(["scenario", "run", "financial_year", "delta_spend_gbp",
                                                 "delta_in_year_deficit_gbp", "delta_accumulated_deficit_gbp"])


def test_a_sweep_of_100_scenarios_in_one_command(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('''
name = "grid"
design = "grid"
[[factor]]
lever = "decision_to_assess"
from = "2024-06"
values = [0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]
[[factor]]
lever = "special_places"
from = "2024-09"
values = [0, 25, 50, 75, 100, 125, 150, 175, 200, 225]
''')
    out = tmp_path / "sweep_out"
    assert main(["sweep", str(sweep), "--runs", "2", "--months", "15", "--out", str(out), "--quiet",
                 "--no-flows"]) == 0
    described = pd.read_parquet(out / "scenarios.parquet")
    assert len(described) == 101 and set(described.columns) >= {"sweep_decision_to_assess", "sweep_special_places"}
    stock = read(out, "stock")
    assert stock["scenario"].nunique() == 101
    summary = pd.read_parquet(out / "difference_summary.parquet")
    assert summary["scenario"].nunique() == 100
    # The levers act: agreeing to assess more requests lengthens the assessment queue (capacity
    # binds), by the end of the run, in step with the decision-to-assess level.
    pipeline = read(out, "pipeline")
    last = pipeline[(pipeline.measure == "assessments_open") & (pd.to_datetime(pipeline.date) == "2025-03-31")]
    queue = last.groupby("scenario")["value"].mean().rename("queue").reset_index().merge(described, on="scenario")
    by_assess = queue.groupby("sweep_decision_to_assess")["queue"].mean()
    assert np.corrcoef(by_assess.index, by_assess.values)[0, 1] > 0.95


def test_a_lever_dated_after_the_run_is_refused(tmp_path, capsys):
    late = tmp_path / "late.toml"
    late.write_text('name = "late"\n[levers.decision_to_assess]\nfrom = "2030-01"\nvalue = 0.5\n')
    assert main(["run", "--scenario", str(late), "--runs", "1", "--months", "3", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 2
    assert "after the end of the run" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    # A built-in scenario on a short run simply stops before its later dates.
    assert main(["run", "--scenario", "third_special_school", "--runs", "1", "--months", "3", "--out",
                 str(tmp_path / "b"), "--quiet"]) == 0
