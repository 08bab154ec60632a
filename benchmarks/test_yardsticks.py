"""The two yardsticks and the engine's two ratios, as the CI gate measures them.

- the NumPy reference (``benchmarks/numpy_reference.py``) on the Kent baseline, one thread;
- the limit (``benchmarks/limit.py``): counter-based draws and table lookups per second, per
  core and on all cores;

One-thread figures are timed in CPU time of the process (per core, whatever else runs on the
machine), all-core figures in wall time.
- the ratios, measured side by side in interleaved rounds (``benchmarks.gate.measure``), with
  the targets: the engine at least 10 times the NumPy reference and at no less than 0.35
  of the limit per core (docs/benchmarks.md).
"""
from __future__ import annotations

import time

import numba
import numpy as np
import pytest

from benchmarks import gate
from benchmarks.limit import limit_workload, run_limit
from benchmarks.numpy_reference import simulate_numpy
from benchmarks.toy import run_toy, toy_workload
from benchmarks.workloads import BENCHMARK_SEED

TARGET_SPEEDUP = 10.0       # target: at least 10 times faster than the NumPy reference
TARGET_SHARE_OF_LIMIT = 0.35  # target: at least 0.35 of the limit per core
LIMIT_RUNS_PER_CORE = 48    # about 0.15 s on one core
GATE_ROUNDS = 9


@pytest.mark.benchmark(timer=time.process_time)
def test_measure_numpy_reference_kent(benchmark, kent, report):
    simulate_numpy(kent.cohort, kent.model, kent.calendar, seed=BENCHMARK_SEED, runs=np.array([99]))  # warm-up
    result = benchmark.pedantic(simulate_numpy, args=(kent.cohort, kent.model, kent.calendar),
                                kwargs={"seed": BENCHMARK_SEED, "runs": np.arange(2)}, rounds=3, iterations=1)
    rate = result.child_months / benchmark.stats.stats.median
    benchmark.extra_info["child_months_per_second"] = rate
    report.add("NumPy reference, Kent baseline, 1 thread (per CPU-second)", rate / 1e6, "M child-months/s")
    report.add("NumPy reference draws per child-month (its own count)", result.draws / result.child_months, "")


@pytest.mark.benchmark(timer=time.process_time)
def test_measure_limit_per_core(benchmark, kent, report):
    workload = limit_workload(kent.cohort, kent.model, kent.calendar)
    run_limit(workload, np.arange(2), threads=1)  # warm-up
    timing = benchmark.pedantic(run_limit, args=(workload, np.arange(LIMIT_RUNS_PER_CORE)), kwargs={"threads": 1},
                                rounds=5, iterations=1)
    rate = timing.operations / benchmark.stats.stats.median
    benchmark.extra_info["draws_per_second"] = rate
    report.add("limit: counter-based draw + table lookup, 1 thread (per CPU-second)", rate / 1e6, "M draws/s")


def test_measure_limit_all_cores(benchmark, kent, report):
    threads = numba.config.NUMBA_NUM_THREADS
    workload = limit_workload(kent.cohort, kent.model, kent.calendar)
    run_limit(workload, np.arange(threads), threads=threads)  # warm-up
    timing = benchmark.pedantic(run_limit, args=(workload, np.arange(LIMIT_RUNS_PER_CORE * threads)),
                                kwargs={"threads": threads}, rounds=5, iterations=1)
    rate = timing.operations / benchmark.stats.stats.median
    benchmark.extra_info["draws_per_second"] = rate
    report.add(f"limit: counter-based draw + table lookup, all {threads} threads", rate / 1e6, "M draws/s")


@pytest.mark.benchmark(timer=time.process_time)
def test_measure_toy_per_core(benchmark, kent, report):
    limit = limit_workload(kent.cohort, kent.model, kent.calendar)
    workload = toy_workload(int(limit.keys.shape[0]), limit.n_months)
    run_toy(workload, np.arange(2))  # warm-up
    timing = benchmark.pedantic(run_toy, args=(workload, np.arange(24)), rounds=5, iterations=1)
    rate = timing.child_months / benchmark.stats.stats.median
    benchmark.extra_info["child_months_per_second"] = rate
    report.add("toy: one-draw 8-state Markov step, 1 thread (per CPU-second)", rate / 1e6, "M child-months/s")


def test_ratios_side_by_side_above_floors(benchmark, kent, report):
    config = gate.GateConfig(rounds=GATE_ROUNDS, end_to_end=0, warm_start_check=False)
    figures = benchmark.pedantic(gate.measure, args=(config,), kwargs={"workload": kent, "log": lambda text: None},
                                 rounds=1, iterations=1)
    benchmark.extra_info.update({key: figures[key] for key in (
        "speedup_over_numpy_reference", "share_of_limit", "engine_draws_per_child_month")})
    report.add("engine draws per child-month (counted from its flows)", figures["engine_draws_per_child_month"], "")
    report.add("limit in child-months/s per core (limit / engine draws)",
               figures["limit_child_months_per_second_per_core"] / 1e6, "M child-months/s")
    speedup = figures["speedup_over_numpy_reference"]
    share = figures["share_of_limit"]
    report.add("ratio: engine / NumPy reference (median of rounds)", speedup, "x", f">= {TARGET_SPEEDUP:g}",
               speedup >= TARGET_SPEEDUP)
    report.add("ratio: engine share of the limit, per core (median)", share, "", f">= {TARGET_SHARE_OF_LIMIT:g}",
               share >= TARGET_SHARE_OF_LIMIT)
    floors = gate.load_floors()
    failures = gate.evaluate(figures, floors)
    report.add("CI gate floors: speed-up / share of the limit", floors["speedup_over_numpy_reference"], "x",
               f"share floor {floors['share_of_limit']:g}", failures == [])
    if figures.get("two_thread_scaling") is not None:
        report.add("two-thread scaling (Kent, wall, median of pairs)", figures["two_thread_scaling"], "x", ">= 1.8",
                   figures["two_thread_scaling"] >= 1.8)
    assert failures == [], failures
