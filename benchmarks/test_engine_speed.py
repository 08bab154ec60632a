"""The engine's speed: the Kent baseline per core and on all cores, and how the cost of a
child-month scales with the size of the cohort and the number of runs (it should stay flat).

Every benchmark runs after a warm-up call (the compiled engine loaded from numba's cache) and
counts active child-months (plans in the stock, summed over months and runs, as the run
manifest does). One-thread benchmarks are timed in CPU time of the process, so that they
measure one core even while other processes share the machine; all-core ones in wall time.
"""
from __future__ import annotations

import time

import numba
import pytest

from benchmarks.workloads import england_like, run_engine

KENT_RUNS_PER_CORE = 8          # about 0.3 s on one core
COHORT_SIZES = (20_000, 200_000, 640_000)   # a county, a region, England
RUN_COUNTS = (1, 100, 1_000)    # one run, a quick study, the default study
ROUNDS_FOR_RUNS = {1: 5, 100: 2, 1_000: 1}  # 1,000 runs on one thread take about 40 s
FLAT_TOLERANCE = 1.25           # "flat": the dearest child-month within 25% of the cheapest (timer noise aside)
SCALING_CHILD_MONTHS = 20_000_000  # work per scaling measurement: about 0.7 s on one core


@pytest.mark.benchmark(timer=time.process_time)
def test_measure_engine_kent_per_core(benchmark, kent, report):
    run_engine(kent, 1, 1)  # warm-up
    timing = benchmark.pedantic(run_engine, args=(kent, KENT_RUNS_PER_CORE, 1), rounds=5, iterations=1)
    rate = timing.child_months / benchmark.stats.stats.median
    benchmark.extra_info["child_months_per_second"] = rate
    report.add("engine, Kent baseline, 1 thread (per CPU-second)", rate / 1e6, "M child-months/s")


def test_measure_engine_kent_all_cores(benchmark, kent, report):
    threads = numba.config.NUMBA_NUM_THREADS
    runs = KENT_RUNS_PER_CORE * threads
    run_engine(kent, threads, threads)  # warm-up: starts the thread pool
    timing = benchmark.pedantic(run_engine, args=(kent, runs, threads), rounds=5, iterations=1)
    rate = timing.child_months / benchmark.stats.stats.median
    benchmark.extra_info["child_months_per_second"] = rate
    report.add(f"engine, Kent baseline, all {threads} threads", rate / 1e6, "M child-months/s")


_COHORT_COST: dict[int, float] = {}


@pytest.mark.benchmark(timer=time.process_time)
@pytest.mark.parametrize("size", COHORT_SIZES)
def test_measure_scaling_with_cohort_size(benchmark, report, size):
    workload = england_like(size)
    child_months_per_run = run_engine(workload, 1, 1).child_months  # warm-up, and the size of a run
    runs = max(1, round(SCALING_CHILD_MONTHS / child_months_per_run))
    timing = benchmark.pedantic(run_engine, args=(workload, runs, 1), rounds=3, iterations=1)
    cost = benchmark.stats.stats.median / timing.child_months * 1e9
    _COHORT_COST[size] = cost
    benchmark.extra_info["ns_per_child_month"] = cost
    flat = None
    if len(_COHORT_COST) == len(COHORT_SIZES):
        flat = max(_COHORT_COST.values()) <= FLAT_TOLERANCE * min(_COHORT_COST.values())
    report.add(f"cost per child-month, {size:,} children, 1 thread (CPU time)", cost, "ns",
               "flat in cohort size" if flat is not None else "", flat)


_RUNS_COST: dict[int, float] = {}


@pytest.mark.benchmark(timer=time.process_time)
@pytest.mark.parametrize("runs", RUN_COUNTS)
def test_measure_scaling_with_runs(benchmark, kent, report, runs):
    run_engine(kent, 1, 1)  # warm-up
    timing = benchmark.pedantic(run_engine, args=(kent, runs, 1), kwargs={"chunk_size": 64},
                                rounds=ROUNDS_FOR_RUNS[runs], iterations=1)
    cost = benchmark.stats.stats.median / timing.child_months * 1e9
    _RUNS_COST[runs] = cost
    benchmark.extra_info["ns_per_child_month"] = cost
    flat = None
    if len(_RUNS_COST) == len(RUN_COUNTS):
        flat = max(_RUNS_COST.values()) <= FLAT_TOLERANCE * min(_RUNS_COST.values())
    report.add(f"cost per child-month, Kent, {runs:,} runs, 1 thread (CPU time)", cost, "ns",
               "flat in runs" if flat is not None else "", flat)
