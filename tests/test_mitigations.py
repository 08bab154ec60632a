"""Mitigations: reading, ramps and effects, delivery drawn per run with common random numbers,
runs that leave an undelivered mitigation out, and the mitigation log of the built-in sv_plan
adding up to its paired difference against the baseline."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sendsim.cli import main
from sendsim.inputs.defaults import KENT_PARAMETERS
from sendsim.inputs.errors import InputError
from sendsim.inputs.mitigations import align_epochs, delivered, read_mitigations
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.inputs.scenarios import builtin_path, load_scenario
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar
from sendsim.simcore.model import compile_model, epoch_starts

CALENDAR = Calendar(2024, 1, 51)
ROWS = read_parameter_rows(KENT_PARAMETERS)
BASE = build_parameter_set(ROWS, CALENDAR)
M = 1e6


def mitigation(**changes) -> dict:
    entry = {"name": "panels", "source": "test", "start": "2024-06", "ramp_months": 4, "delivery": 1.0,
             "delivery_source": "test", "effect": {"kind": "scale", "parameter": "p_assess", "factor": 0.5}}
    entry.update(changes)
    return entry


def read(out: Path, table: str) -> pd.DataFrame:
    frame = pd.read_parquet(out / table)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(str)
    return frame


# ---- Reading and effects ---------------------------------------------------------------------------
def test_a_scale_effect_ramps_linearly_from_its_start():
    (m,) = read_mitigations("s.toml", [mitigation()])
    changed = m.apply(BASE, CALENDAR)
    start = CALENDAR.month_index(2024, 6)
    base = float(BASE["p_assess"].at_month(start))
    assert float(changed["p_assess"].at_month(start - 1)) == base
    for k in range(6):
        expected = base * (1 - 0.5 * min(1.0, (k + 1) / 4))
        assert float(changed["p_assess"].at_month(start + k)) == pytest.approx(expected)
    assert m.year_fraction(CALENDAR, 2024) == pytest.approx((0.25 + 0.5 + 0.75 + 7) / 12)


def test_a_shift_moves_mass_and_keeps_every_distribution_whole():
    (m,) = read_mitigations("s.toml", [mitigation(
        ramp_months=0, target={"age": "5-15"},
        effect={"kind": "shift", "parameter": "first_placement", "from": ["special", "independent"],
                "to": "mainstream", "share": 0.3})])
    changed = m.apply(BASE, CALENDAR)
    month = CALENDAR.month_index(2024, 7)
    before, after = BASE["first_placement"].at_month(month), changed["first_placement"].at_month(month)
    np.testing.assert_allclose(after.sum(axis=-1), before.sum(axis=-1))
    school = slice(5, 16)
    np.testing.assert_allclose(after[school, :, codes.SPECIAL], 0.7 * before[school, :, codes.SPECIAL])
    moved = 0.3 * (before[school, :, codes.SPECIAL] + before[school, :, codes.INDEPENDENT])
    np.testing.assert_allclose(after[school, :, codes.MAINSTREAM], before[school, :, codes.MAINSTREAM] + moved)
    np.testing.assert_array_equal(after[:5], before[:5])  # outside the target ages: unchanged


def test_money_effects_become_finance_rows_with_the_years_average():
    (m,) = read_mitigations("s.toml", [mitigation(
        start="2024-10", ramp_months=6, target={"placement": "independent"},
        effect={"kind": "price_saving", "share": 0.04})])
    rows = {r.financial_year: r.value for r in m.finance_rows(CALENDAR)}
    assert rows[2024] == pytest.approx(0.04 * (1 + 2 + 3 + 4 + 5 + 6) / 6 / 12)
    assert rows[2025] == pytest.approx(0.04)
    assert 2023 not in rows


@pytest.mark.parametrize("change, key, message", [
    ({"effect": {"kind": "teleport"}}, "mitigation[0].effect.kind", "needs kind"),
    ({"effect": {"kind": "scale", "parameter": "first_placement", "factor": 2}}, "mitigation[0].effect.parameter",
     "a scale effect changes one of"),
    ({"start": "2024-13"}, "mitigation[0].start", "must be a month"),
    ({"delivery": 1.5}, "mitigation[0].delivery", "out of range"),
    ({"source": ""}, "mitigation[0].source", "states its source"),
    ({"colour": "red"}, "mitigation[0]", "unknown key"),
    ({"target": {"age": "30-40"}}, "mitigation[0].target.age", "age range"),
    ({"target": {"need": "asd"}, "effect": {"kind": "price_hold", "growth": 0.01}}, "mitigation[0].effect",
     "not needs"),
])
def test_mitigation_errors_name_the_file_key_and_rule(change, key, message):
    with pytest.raises(InputError, match=message) as error:
        read_mitigations("plan.toml", [mitigation(**change)])
    assert error.value.key == key and "plan.toml" in str(error.value)


def test_sets_of_different_runs_are_aligned_to_compile_together():
    (m,) = read_mitigations("s.toml", [mitigation()])
    sets = align_epochs([BASE, m.apply(BASE, CALENDAR)])
    assert np.array_equal(epoch_starts(sets[0]), epoch_starts(sets[1]))
    model = compile_model(sets, CALENDAR.n_months, CALENDAR.start_calendar_month)
    # The padded set is the base month by month (a duplicated epoch changes nothing).
    np.testing.assert_array_equal(model.p_assess[0][model.epoch_of_month],
                                  [BASE["p_assess"].at_month(t) for t in range(CALENDAR.n_months)])


# ---- Delivery: a pure function of (seed, run, mitigation) ----------------------------------------------
def test_delivery_draws_are_common_random_numbers():
    plan = load_scenario(builtin_path("sv_plan"), ROWS, CALENDAR)
    runs = np.arange(2000)
    mask = delivered(tuple(plan.mitigations), 1, runs)
    # The same run draws the same, whatever the other runs; another seed draws afresh.
    np.testing.assert_array_equal(delivered(tuple(plan.mitigations), 1, runs[::-7]), mask[::-7])
    assert not np.array_equal(delivered(tuple(plan.mitigations), 2, runs), mask)
    # Each mitigation is delivered in about its probability of runs, independently of the others.
    rates = mask.mean(axis=0)
    probabilities = np.array([m.delivery for m in plan.mitigations])
    assert np.all(np.abs(rates - probabilities) < 4 * np.sqrt(probabilities * (1 - probabilities) / runs.size) + 1e-9)
    assert abs(np.corrcoef(mask[:, 0], mask[:, 2])[0, 1]) < 0.1


def test_an_undelivered_mitigation_leaves_the_run_as_the_baseline(tmp_path):
    """A mitigation never delivered: every table equals the baseline's; always delivered: the
    same until its start, different after."""
    def scenario(name: str, delivery: float) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(f'name = "{name}"\n\n[[mitigation]]\nname = "tighter_panels"\nsource = "test"\n'
                        f'start = "2024-09"\nramp_months = 3\ndelivery = {delivery}\ndelivery_source = "test"\n'
                        'effect = { kind = "scale", parameter = "p_assess", factor = 0.5 }\n', encoding="utf-8")
        return path
    out = tmp_path / "out"
    assert main(["run", "--runs", "4", "--months", "15", "--out", str(out), "--quiet", "--no-flows",
                 "--scenario", str(scenario("never", 0.0)), "--scenario", str(scenario("always", 1.0))]) == 0
    stock = read(out, "stock")
    key = ["run", "date", "age_band", "placement", "need"]

    def of(name: str) -> pd.DataFrame:
        return stock[stock.scenario == name].drop(columns="scenario").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(of("never"), of("baseline"))
    before = pd.Timestamp("2024-09-01")
    early = [frame[pd.to_datetime(frame.date) < before].reset_index(drop=True)
             for frame in (of("always"), of("baseline"))]
    pd.testing.assert_frame_equal(*early)
    assert not of("always").equals(of("baseline"))
    log = read(out, "mitigation_log")
    assert (log[log.scenario == "never"].saving_accumulated_gbp == 0).all()


# ---- The built-in plan and its log ----------------------------------------------------------------------
RUNS = 6


@pytest.fixture(scope="module")
def sv_plan_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sv_plan") / "out"
    assert main(["run", "--scenario", "sv_plan", "--runs", str(RUNS), "--months", "27", "--chunk-size", "4",
                 "--out", str(out), "--quiet", "--no-flows"]) == 0
    return out


def test_the_mitigation_log_adds_up_to_the_paired_difference(sv_plan_run):
    """Sequential attribution: each run's savings add up exactly to the baseline minus sv_plan,
    in every year, for the accumulated and the in-year deficit."""
    log = read(sv_plan_run, "mitigation_log")
    plan = load_scenario(builtin_path("sv_plan"), ROWS, CALENDAR)
    assert list(log.sort_values("order").mitigation.unique()) == [m.name for m in plan.mitigations]
    assert len(log) == RUNS * 2 * len(plan.mitigations)
    total = log.groupby(["run", "financial_year"])[["saving_accumulated_gbp", "saving_in_year_gbp"]].sum()
    columns = ["accumulated_deficit_gbp", "in_year_deficit_gbp"]
    deficit = read(sv_plan_run, "deficit").set_index(["scenario", "run", "financial_year"])[columns]
    paired = deficit.loc["baseline"] - deficit.loc["sv_plan"]
    np.testing.assert_allclose(total.saving_accumulated_gbp, paired.accumulated_deficit_gbp.loc[total.index],
                               atol=1e-3)
    np.testing.assert_allclose(total.saving_in_year_gbp, paired.in_year_deficit_gbp.loc[total.index], atol=1e-3)
    difference = read(sv_plan_run, "difference").set_index(["run", "financial_year"])
    np.testing.assert_allclose(-difference.delta_accumulated_deficit_gbp.loc[total.index],
                               total.saving_accumulated_gbp, atol=1e-3)
    # Not delivered: no saving; the plan saves something in this short run.
    assert (log[~log.delivered].saving_accumulated_gbp.abs() < 1e-6).all()
    assert total.saving_accumulated_gbp.sum() > 0
    summary = pd.read_parquet(sv_plan_run / "mitigation_summary.parquet")
    assert set(summary.mitigation) == {m.name for m in plan.mitigations}
    assert {"delivery_probability", "delivered_share", "p05", "p50", "p95"} <= set(summary.columns)


def test_a_mitigation_of_the_modellers_file_starting_after_the_run_is_refused(tmp_path, capsys):
    path = tmp_path / "late.toml"
    path.write_text('name = "late"\n\n[[mitigation]]\nname = "late_measure"\nsource = "test"\nstart = "2030-09"\n'
                    'delivery = 1\ndelivery_source = "test"\neffect = { kind = "scale", parameter = "p_assess", '
                    'factor = 0.5 }\n', encoding="utf-8")
    assert main(["run", "--runs", "2", "--months", "15", "--out", str(tmp_path / "out"), "--quiet",
                 "--scenario", str(path)]) == 2
    assert "late_measure starts in 2030-09, after the end of the run" in capsys.readouterr().err
