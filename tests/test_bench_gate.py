"""The CI speed gate (benchmarks/gate.py) fails on a deliberately slowed engine and passes on
the engine as it is; its verdict, floors file, JSON output and cache check work as documented.

The slowed engine is the real one doing three times the work for the same runs (each chunk
simulated three times, the child-months counted once): a regression that triples the cost
of a child-month. Both ratios are measured against the yardsticks in the same rounds, so
the verdict does not depend on how busy the machine is.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import gate
from benchmarks.workloads import EngineTiming, kent_baseline, run_engine
from sendsim.simcore.engine import simulate

SLOWDOWN = 3
QUICK = gate.GateConfig(rounds=3, engine_runs=3, reference_runs=1, limit_runs=24, toy_runs=8, scaling_pairs=3,
                        scaling_runs=4, end_to_end=0, warm_start_check=False)


def slowed_engine(workload, runs, threads, **options) -> EngineTiming:
    """The engine, made ``SLOWDOWN`` times slower by repeating the same simulation."""
    timing = run_engine(workload, runs, threads, **options)
    for _ in range(SLOWDOWN - 1):
        again = run_engine(workload, runs, threads, **{**options, "keep": False})
        timing.seconds += again.seconds
        timing.cpu_seconds += again.cpu_seconds
    return timing


@pytest.fixture(scope="module")
def floors():
    return gate.load_floors()


@pytest.fixture(scope="module")
def workload():
    return kent_baseline()


def test_gate_fails_on_a_slowed_engine_and_passes_the_engine(workload, floors):
    real = gate.measure(QUICK, workload=workload, log=lambda text: None)
    slow = gate.measure(QUICK, engine=slowed_engine, workload=workload, log=lambda text: None)
    assert gate.evaluate(real, floors) == [], real
    failures = gate.evaluate(slow, floors)
    assert any("speedup_over_numpy_reference" in f for f in failures), failures
    assert any("share_of_limit" in f for f in failures), failures
    # The figures are what the gate says they are: both ratios fell by about the slowdown.
    assert slow["speedup_over_numpy_reference"] < real["speedup_over_numpy_reference"] / 2
    assert slow["share_of_limit"] < real["share_of_limit"] / 2
    assert 1.0 < real["engine_draws_per_child_month"] < 2.0
    assert real["engine_draws_per_child_month"] == slow["engine_draws_per_child_month"]  # same runs, same draws


def test_verdict_names_each_ratio_below_its_floor(floors):
    rounds = [{"speedup": 1.0, "share_of_limit": 0.01}]
    figures = {"speedup_over_numpy_reference": floors["speedup_over_numpy_reference"] * 1.01,
               "share_of_limit": floors["share_of_limit"] * 0.99, "rounds": rounds}
    failures = gate.evaluate(figures, floors)
    assert len(failures) == 1 and failures[0].startswith("share_of_limit")
    figures["warm_start"] = {"cache_misses": 2}
    assert any("recompiled" in f for f in gate.evaluate(figures, floors))


def test_floors_file_is_checked(tmp_path):
    bad = tmp_path / "floors.json"
    bad.write_text(json.dumps({"speedup_over_numpy_reference": 2.0}))
    with pytest.raises(ValueError, match="share_of_limit"):
        gate.load_floors(bad)


def test_gate_command_writes_figures_and_exits_1_below_the_floors(tmp_path, capsys):
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"speedup_over_numpy_reference": 1e6, "share_of_limit": 1e6}))
    out = tmp_path / "figures.json"
    code = gate.main(["--out", str(out), "--rounds", "2", "--floors", str(floors), "--no-warm-start",
                      "--end-to-end", "0"])
    assert code == 1
    figures = json.loads(out.read_text())
    assert figures["passed"] is False and len(figures["failures"]) == 2
    for key in ("engine_child_months_per_second_per_core", "numpy_reference_child_months_per_second",
                "limit_draws_per_second_per_core", "speedup_over_numpy_reference", "share_of_limit",
                "toy_child_months_per_second_per_core"):
        assert figures[key] > 0, key
    assert "SPEED GATE FAILED" in capsys.readouterr().err


def test_a_fresh_process_loads_the_engine_from_the_cache(workload):
    # Compile (or load) the engine for the signature a run uses, so the cache holds it...
    list(simulate(workload.cohort, workload.model, workload.calendar, seed=1, runs=np.arange(1)))
    # ... then a new process must load it rather than compile it again.
    figures = gate.warm_start()
    assert figures["cache_misses"] == 0 and figures["cache_hits"] >= 1, figures
    assert figures["child_months"] > 0


def test_optional_ratios_are_checked_when_the_floors_name_them(floors):
    # Scaling and the end-to-end ratio fail the gate below their floors, name their rounds,
    # and are skipped when not measured (--end-to-end 0) or without a floor.
    figures = {"speedup_over_numpy_reference": 1e6, "share_of_limit": 1e6, "rounds": [],
               "two_thread_scaling": 1.1, "scaling_pairs": [{"scaling": 1.1}],
               "end_to_end_over_toy": 0.1, "end_to_end": [{"over_toy": 0.1}]}
    strict = dict(floors, two_thread_scaling=1.5, end_to_end_over_toy=0.5)
    failures = gate.evaluate(figures, strict)
    assert len(failures) == 2 and failures[0].startswith("two_thread_scaling") and "1.100" in failures[0]
    assert failures[1].startswith("end_to_end_over_toy")
    del figures["end_to_end_over_toy"]
    assert len(gate.evaluate(figures, strict)) == 1
    assert gate.evaluate(figures, {k: floors[k] for k in gate.REQUIRED_FLOORS}) == []


def test_end_to_end_measures_a_real_run():
    figures = gate.measure_end_to_end(toy_rate=1e8, log=lambda text: None, runs=8)
    assert figures["runs"] == 8 and figures["child_months"] > 0 and figures["seconds"] > 0
    assert figures["over_toy"] == figures["child_months"] / figures["seconds"] / 1e8
