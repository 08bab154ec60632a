"""What the benchmarks run: the built-in Kent baseline, and England-shaped cohorts of any size.

A :class:`Workload` holds validated engine inputs (cohort, compiled model, calendar), so that a
benchmark times the simulation and nothing else. ``kent_baseline()`` is exactly what
``sendsim run`` runs by default (January 2024 to March 2028, 51 months, seed 1);
``england_like(size)`` is the team's synthetic England cohort (``inputs/england.py``) scaled to
``size`` plans, with Kent's parameters and the size-dependent ones (requests, arrivals, review and
assessment capacity, places) scaled with it.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numba
import numpy as np

from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.defaults import DEFAULT_END, DEFAULT_START, KENT_COHORT, KENT_PARAMETERS, months_until
from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
from sendsim.simcore.engine import Calendar, ChunkResult, Cohort, simulate
from sendsim.simcore.model import ModelArrays, compile_model

BENCHMARK_SEED = 1  # the default seed of `sendsim run`


@dataclass(frozen=True)
class Workload:
    """Validated engine inputs for one benchmark."""

    name: str
    cohort: Cohort
    model: ModelArrays
    calendar: Calendar

    @property
    def records(self) -> int:
        return self.cohort.n


def kent_baseline() -> Workload:
    """The default run of ``sendsim run``: the Kent January 2024 cohort and parameters, to March 2028."""
    return kent(months_until(DEFAULT_START, DEFAULT_END))


@functools.lru_cache(maxsize=4)
def kent(n_months: int) -> Workload:
    """The Kent January 2024 cohort and parameters, for ``n_months`` months from January 2024."""
    calendar = Calendar(DEFAULT_START[0], DEFAULT_START[1], n_months)
    parameter_set = build_parameter_set(read_parameter_rows(KENT_PARAMETERS), calendar)
    cohort, _ = load_cohort(KENT_COHORT, calendar)
    model = compile_model([parameter_set], calendar.n_months, calendar.start_calendar_month)
    name = "kent_baseline" if n_months == months_until(DEFAULT_START, DEFAULT_END) else f"kent_{n_months}_months"
    return Workload(name, cohort, model, calendar)


# The parameter rows that turn the soft limit of Kent's own places and the places in other
# authorities' schools off (a wall at capacity, every special child in Kent's own places): the
# NumPy reference implements the wall only.
WALL_ONLY_ROWS = "\n".join(["parameter,date,age,need,placement,to,transfer,reason,value,source,note"] + [
    f"{name},,,,{placement},,,,{value},assumption: the mechanism off,"
    for placement in ("special", "srp")
    for name, value in (("place_soft_width", 0), ("other_la_share", 0), ("other_la_placement", 0))]
    + ["p_placement_appeal,,all,,all,,,,0,assumption: the mechanism off,"]) + "\n"


@functools.lru_cache(maxsize=4)
def kent_wall_only(n_months: int) -> Workload:
    """The Kent workload with a wall at capacity and no places in other authorities' schools
    (``WALL_ONLY_ROWS``), as the NumPy reference models places."""
    calendar = Calendar(DEFAULT_START[0], DEFAULT_START[1], n_months)
    rows = read_parameter_rows(KENT_PARAMETERS) + read_parameter_rows("<wall only>", WALL_ONLY_ROWS)
    parameter_set = build_parameter_set(rows, calendar)
    cohort, _ = load_cohort(KENT_COHORT, calendar)
    model = compile_model([parameter_set], calendar.n_months, calendar.start_calendar_month)
    return Workload(f"kent_{n_months}_months_wall_only", cohort, model, calendar)


@functools.lru_cache(maxsize=4)
def england_like(size: int) -> Workload:
    """The synthetic England cohort scaled to ``size`` plans, with size-scaled Kent parameters."""
    from sendsim.inputs import england
    from sendsim.inputs.kent import derive

    calendar = kent_baseline().calendar
    cohort = england.england_cohort(size)
    ratio = cohort.n / int(derive.derivation().crosstab().sum())
    scale_csv = england.scale_rows(ratio).to_csv(index=False, lineterminator="\n")
    rows = read_parameter_rows(KENT_PARAMETERS) + read_parameter_rows(f"<england scale x{ratio:.3f}>", scale_csv)
    parameter_set = build_parameter_set(rows, calendar)
    model = compile_model([parameter_set], calendar.n_months, calendar.start_calendar_month)
    return Workload(f"england_like_{size}", cohort, model, calendar)


@dataclass
class EngineTiming:
    """One timed call of the engine."""

    runs: int
    threads: int
    seconds: float         # wall time of the whole call (validation, allocation, kernel)
    cpu_seconds: float     # CPU time of the process during the call, all threads
    kernel_seconds: float  # wall time inside the compiled kernel
    child_months: int      # active child-months simulated (stock summed over months and runs)
    chunks: list[ChunkResult]

    @property
    def child_months_per_second(self) -> float:
        """Wall-clock rate (all threads together)."""
        return self.child_months / self.seconds

    @property
    def child_months_per_cpu_second(self) -> float:
        """Rate per CPU-second: on one thread, the speed of one core even when other processes
        share the machine (time spent waiting for the CPU is not counted)."""
        return self.child_months / self.cpu_seconds


def run_engine(workload: Workload, runs: int, threads: int, *, first_run: int = 0, chunk_size: int | None = None,
               record_flows: bool = True, keep: bool = False) -> EngineTiming:
    """Simulate ``runs`` runs of ``workload`` on ``threads`` numba threads and time it.

    The default chunk holds every run (one kernel call); ``keep`` keeps the chunks (outputs).
    """
    previous = numba.get_num_threads()
    chunks: list[ChunkResult] = []
    child_months = 0
    kernel_seconds = 0.0
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        for chunk in simulate(workload.cohort, workload.model, workload.calendar, seed=BENCHMARK_SEED,
                              runs=np.arange(first_run, first_run + runs), chunk_size=chunk_size or runs,
                              threads=threads, record_flows=record_flows):
            child_months += chunk.child_months
            kernel_seconds += chunk.seconds
            if keep:
                chunks.append(chunk)
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    finally:
        numba.set_num_threads(previous)
    return EngineTiming(runs, threads, seconds, cpu_seconds, kernel_seconds, child_months, chunks)
