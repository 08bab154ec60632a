"""Parameter draws: run r uses draw r; overrides act like parameter-file rows."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sendsim.api import RunSpec, resolve_run
from sendsim.cli import main
from sendsim.inputs.defaults import KENT_PARAMETERS
from sendsim.inputs.draws import load_draws, parameter_sets_for_draws
from sendsim.inputs.errors import InputError
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar

CALENDAR = Calendar(2024, 1, 13)


def _draws(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "draws.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_draw_overrides_cells_like_a_parameter_row(tmp_path):
    path = _draws(tmp_path, pd.DataFrame({
        "draw": [0, 1],
        "p_assess": [0.2, 0.7],
        "review_cease@age=16-19": [0.3, 0.05],
        "move@age=all,placement=mainstream,to=special": [0.01, 0.002],
    }))
    draws = load_draws(path)
    rows = read_parameter_rows(KENT_PARAMETERS)
    base = build_parameter_set(rows, CALENDAR)
    sets = parameter_sets_for_draws(rows, draws, np.array([1, 0]), CALENDAR)
    assert sets[0]["p_assess"].values[-1] == 0.7 and sets[1]["p_assess"].values[-1] == 0.2
    cease = sets[1]["review_cease"].values[0]
    assert (cease[16:20] == 0.3).all()
    np.testing.assert_array_equal(cease[:16], base["review_cease"].values[0][:16])
    move = sets[0]["move"].values[0]
    assert (move[:, codes.MAINSTREAM, codes.SPECIAL] == 0.002).all()
    # The stay probability ("rest") follows the override, and rows still sum to one.
    np.testing.assert_allclose(move.sum(axis=-1), 1.0)
    np.testing.assert_array_equal(sets[0]["unit_cost"].values, base["unit_cost"].values)  # untouched


@pytest.mark.parametrize("frame,message", [
    (pd.DataFrame({"p_asess": [0.1]}), "unknown parameter"),
    (pd.DataFrame({"p_assess": [1.5]}), "outside the range"),
    (pd.DataFrame({"review_cease@age=30": [0.1]}), "age"),
    (pd.DataFrame({"review_cease@colour=red": [0.1]}), "unknown dimension"),
    (pd.DataFrame({"draw": [1], "p_assess": [0.1]}), "0, 1, 2"),
])
def test_bad_draws_are_clear_errors(tmp_path, frame, message):
    with pytest.raises(InputError, match=message):
        load_draws(_draws(tmp_path, frame))


def test_run_uses_draw_r_for_run_r(tmp_path):
    # Two draws far apart in the decision to assess: run 0 and run 1 differ accordingly, and
    # run 0 equals a run with the same parameters given as a CSV override.
    path = _draws(tmp_path, pd.DataFrame({"p_assess": [0.05, 0.95]}))
    out = tmp_path / "draws_out"
    assert main(["run", "--runs", "2", "--months", "13", "--out", str(out), "--params", str(path), "--quiet",
                 "--chunk-size", "2"]) == 0
    flows = pd.read_parquet(out / "flows")
    agreed = flows[flows.event == "agreed_to_assess"].groupby("run")["count"].sum()
    assert agreed[1] > 5 * agreed[0]
    csv = tmp_path / "p.csv"
    csv.write_text("parameter,value\np_assess,0.05\n")
    out2 = tmp_path / "csv_out"
    assert main(["run", "--runs", "1", "--months", "13", "--out", str(out2), "--params", str(csv), "--quiet",
                 "--no-draws"]) == 0
    a = pd.read_parquet(out / "stock").query("run == 0").drop(columns="scenario").reset_index(drop=True)
    b = pd.read_parquet(out2 / "stock").drop(columns="scenario").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_more_runs_than_draws_reuse_the_draws_in_turn(tmp_path):
    """Run r uses draw r modulo the number of draws: runs 0 and 2 share draw 0's parameters (but
    not their random numbers), and the manifest says so."""
    path = _draws(tmp_path, pd.DataFrame({"p_assess": [0.05, 0.95]}))
    spec = RunSpec(out=tmp_path / "o", runs=4, months=13, params=(path,))
    resolved = resolve_run(spec)
    sets = resolved.draw_parameter_sets(resolved.baseline, np.arange(4))
    assert [float(s["p_assess"].values[0]) for s in sets] == [0.05, 0.95, 0.05, 0.95]
    out = tmp_path / "o"
    assert main(["run", "--runs", "4", "--months", "13", "--out", str(out), "--params", str(path), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert "run r uses draw r modulo 2" in manifest["uncertainty"]["bands"]
    flows = pd.read_parquet(out / "flows")
    agreed = flows[flows.event == "agreed_to_assess"].groupby("run")["count"].sum()
    assert agreed[2] < agreed[1] / 5 and agreed[3] > 5 * agreed[0]


def test_central_values_are_the_draws_means_for_every_run(tmp_path):
    path = _draws(tmp_path, pd.DataFrame({"p_assess": [0.2, 0.4, 0.9]}))
    resolved = resolve_run(RunSpec(out=tmp_path / "o", runs=3, months=13, params=(path,), central=True))
    assert resolved.draws is None and float(resolved.base_set["p_assess"].values[0]) == pytest.approx(0.5)
    out = tmp_path / "o"
    assert main(["run", "--runs", "2", "--months", "13", "--out", str(out), "--params", str(path), "--central",
                 "--quiet"]) == 0
    assert "Monte Carlo noise only" in json.loads((out / "manifest.json").read_text())["uncertainty"]["bands"]


def test_draw_sets_from_the_layout_equal_the_sets_built_row_by_row():
    # The fitted draws filled into a layout worked out once give exactly the sets built from
    # each draw's rows (every parameter, every epoch, bit for bit).
    from sendsim.inputs.defaults import KENT_DRAWS
    from sendsim.inputs.draws import _parameter_sets_row_by_row

    draws = load_draws(KENT_DRAWS)
    rows = read_parameter_rows(KENT_PARAMETERS)
    base = build_parameter_set(rows, CALENDAR)
    numbers = np.array([3, 0, 999, 17])
    fast = parameter_sets_for_draws(rows, draws, numbers, CALENDAR, base)
    slow = _parameter_sets_row_by_row(rows, draws, numbers, CALENDAR, base)
    for a, b in zip(fast, slow):
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name].starts, b[name].starts)
            assert a[name].values.dtype == b[name].values.dtype
            np.testing.assert_array_equal(a[name].values, b[name].values)


def test_a_draw_breaking_a_rule_is_named_as_before(tmp_path):
    # Draw 1 makes the move row of mainstream sum past one: the layout's check finds it and the
    # row-by-row build words the error (the draw and its line).
    path = _draws(tmp_path, pd.DataFrame({"move@age=all,placement=mainstream,to=special": [0.01, 0.9],
                                          "move@age=all,placement=mainstream,to=srp": [0.01, 0.9]}))
    draws = load_draws(path)
    rows = read_parameter_rows(KENT_PARAMETERS)
    parameter_sets_for_draws(rows, draws, np.array([0]), CALENDAR)
    with pytest.raises(InputError, match="draw 1"):
        parameter_sets_for_draws(rows, draws, np.array([0, 1]), CALENDAR)
