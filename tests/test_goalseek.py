"""`sendsim goalseek`: a lever with a known answer, found to the tolerance, on common random numbers."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sendsim.api import RunSpec, resolve_run
from sendsim.api.goalseek import crossing, goal_seek, set_path, template_of
from sendsim.cli import main
from sendsim.inputs.errors import InputError

RUNS, MONTHS = 12, 15  # January 2024 to March 2025: one complete year, 2024-25


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    return resolve_run(RunSpec(out=tmp_path_factory.mktemp("gs") / "unused", runs=RUNS, months=MONTHS, progress=False,
                               record_flows=False))


def test_the_block_transfer_that_meets_the_2024_25_profile_has_a_known_answer(resolved, tmp_path):
    """Raising the Schools Block transfer share s from 2024-25 lowers every run's 2024-25
    deficit by (s - 1.2%) x the Schools Block, and nothing else: the share at which half the
    runs meet the profile is 1.2% + the 6th smallest excess over the profile (of 12) / the block."""
    out = tmp_path / "base"
    assert main(["run", "--runs", str(RUNS), "--months", str(MONTHS), "--out", str(out), "--quiet", "--no-flows"]) == 0
    deficit = pd.read_parquet(out / "deficit")
    excess = np.sort((deficit.accumulated_deficit_gbp - deficit.sv_target_gbp).to_numpy())
    block = resolved.finance.schools_block(2024)
    answer = 0.012 + excess[math.ceil(0.5 * RUNS) - 1] / block
    template, file = template_of(None)
    set_path(template, "levers.block_transfer.from", "2024-25")
    tolerance = 1e-5
    result = goal_seek(resolved, template, file, "levers.block_transfer.share", low=0.0, high=0.1, year="2024-25",
                       probability=0.5, tolerance=tolerance, bootstrap=100)
    assert answer <= result.value <= answer + tolerance
    assert result.probability_at_value >= 0.5
    assert result.simulations == 1  # one simulation, re-priced: the lever is money only
    assert result.interval[0] <= result.value + tolerance and result.interval[1] >= answer - tolerance
    assert result.interval[1] - result.interval[0] < 0.02


def test_goalseek_refuses_a_range_that_does_not_bracket_the_target(resolved):
    template, file = template_of(None)
    set_path(template, "levers.block_transfer.from", "2024-25")
    with pytest.raises(InputError, match="does not bracket"):
        goal_seek(resolved, template, file, "levers.block_transfer.share", low=0.0, high=0.001, year="2024-25",
                  probability=0.5, bootstrap=10)


def test_a_mitigation_is_addressed_by_name():
    table = {"name": "x",
             "mitigation": [{"name": "a", "effect": {"share": 0.1}}, {"name": "b", "effect": {"share": 0.2}}]}
    set_path(table, "mitigation.b.effect.share", 0.5)
    assert table["mitigation"][1]["effect"]["share"] == 0.5 and table["mitigation"][0]["effect"]["share"] == 0.1
    with pytest.raises(InputError, match="no mitigation 'c'"):
        set_path(table, "mitigation.c.effect.share", 0.5)


def test_crossing_interpolates_between_evaluations():
    values = np.array([0.0, 1.0, 2.0])
    assert crossing(values, np.array([0.0, 0.4, 0.8]), 0.6, increasing=True) == pytest.approx(1.5)
    assert crossing(values, np.array([0.8, 0.4, 0.0]), 0.6, increasing=False) == pytest.approx(0.5)
    assert math.isnan(crossing(values, np.array([0.0, 0.1, 0.2]), 0.6, increasing=True))


def test_the_command_prints_the_value_and_its_interval(capsys):
    assert main(["goalseek", "--vary", "levers.block_transfer.share", "--set", "levers.block_transfer.from=2024-25",
                 "--low", "0", "--high", "0.1", "--year", "2024-25", "--runs", "6", "--months", str(MONTHS),
                 "--bootstrap", "20"]) == 0
    text = capsys.readouterr().out
    assert "value" in text and "90% interval" in text and "P(meets) there" in text
