"""Public entry point of the engine: validate, allocate, run the kernel chunk by chunk.

Example
-------
>>> for chunk in simulate(cohort, model, calendar, seed=1, runs=np.arange(1000)):
...     write(chunk)          # memory stays flat: one chunk of runs at a time
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numba
import numpy as np

from sendsim.simcore import codes
from sendsim.simcore.kernel import ERR_NONE, ERROR_MESSAGES, OpeningCohort, Outputs, RunSettings, simulate_chunk
from sendsim.simcore.model import ModelArrays

TRACE_EMPTY = -128  # trace value of a record slot not yet in use


class SimulationError(RuntimeError):
    """A run broke a run-time invariant or a resource limit; the message names run, month, rule."""


@dataclass(frozen=True)
class Calendar:
    """Months of a run: ``n_months`` months from ``start_year``-``start_month`` inclusive.

    Month 0 is the opening snapshot (the cohort as given); rules apply from month 1.
    """

    start_year: int
    start_month: int  # 1..12
    n_months: int

    def __post_init__(self) -> None:
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"start month must be 1..12, got {self.start_month}")
        if self.n_months < 1:
            raise ValueError(f"a run needs at least one month, got {self.n_months}")

    @property
    def start_index(self) -> int:
        """Absolute month index of the start (year * 12 + month - 1)."""
        return self.start_year * 12 + self.start_month - 1

    @property
    def start_calendar_month(self) -> int:
        """Calendar month of the start, 0-based (January = 0)."""
        return self.start_month - 1

    def month_index(self, year: int, month: int) -> int:
        """Months after the start of (year, month); may be negative or beyond the run."""
        return year * 12 + month - 1 - self.start_index

    def year_month(self, m: int) -> tuple[int, int]:
        """(year, calendar month 1-12) of run month ``m``."""
        index = self.start_index + m
        return index // 12, index % 12 + 1

    def label(self, m: int) -> str:
        """Run month ``m`` as ``YYYY-MM``."""
        year, month = self.year_month(m)
        return f"{year:04d}-{month:02d}"

    def dates(self) -> np.ndarray:
        """First day of each month, as numpy datetime64[D]."""
        return (np.datetime64(f"{self.label(0)}-01", "M") + np.arange(self.n_months)).astype("datetime64[D]")

    def financial_years(self) -> np.ndarray:
        """Financial year of each month as the year it starts in (April 2024 -> 2024)."""
        index = self.start_index + np.arange(self.n_months)
        year, month0 = index // 12, index % 12
        return np.where(month0 >= 3, year, year - 1)

    def academic_age(self, birth_month_index: np.ndarray) -> np.ndarray:
        """SEN2 age at the start: age on the 31 August before the start month."""
        year, month = self.year_month(0)
        august_year = year if month >= 9 else year - 1
        return np.floor_divide(august_year * 12 + 7 - np.asarray(birth_month_index, dtype=np.int64), 12)


@dataclass
class Cohort:
    """Opening records as a struct of arrays (one element per person).

    ``placement`` is -1 for records still in the assessment pipeline; ``annual_cost_gbp`` is
    -1 where the cost is to be drawn from the unit cost and spread at the start of each run.
    """

    child_key: np.ndarray            # int64, unique, >= 0: stable identity and RNG key
    birth_month: np.ndarray          # int32, absolute month index (year * 12 + month - 1)
    placement: np.ndarray            # int8, placement code or -1
    need: np.ndarray                 # int8, need code
    status: np.ndarray               # int8, status code
    months_since_review: np.ndarray  # int16
    stage_months: np.ndarray         # int16, months in the current pipeline stage / waiting
    waiting_for: np.ndarray          # int8, placement waited for or -1
    annual_cost_gbp: np.ndarray      # int64, or -1

    _DTYPES = {
        "child_key": np.int64, "birth_month": np.int32, "placement": np.int8, "need": np.int8,
        "status": np.int8, "months_since_review": np.int16, "stage_months": np.int16,
        "waiting_for": np.int8, "annual_cost_gbp": np.int64,
    }

    def __post_init__(self) -> None:
        n = None
        for name, dtype in self._DTYPES.items():
            array = np.ascontiguousarray(getattr(self, name), dtype=dtype)
            if array.ndim != 1:
                raise ValueError(f"cohort column {name} must be one-dimensional")
            if n is None:
                n = array.shape[0]
            elif array.shape[0] != n:
                raise ValueError(f"cohort column {name} has {array.shape[0]} rows, expected {n}")
            setattr(self, name, array)
        if n and np.unique(self.child_key).shape[0] != n:
            raise ValueError("cohort child keys must be unique")
        if n and self.child_key.min() < 0:
            raise ValueError("cohort child keys must be >= 0")
        active = self.status == codes.ACTIVE
        if np.any(active & ((self.placement < 0) | (self.placement >= codes.N_PLACEMENTS))):
            raise ValueError("every active record needs a placement code")
        if np.any((self.need < 0) | (self.need >= codes.N_NEEDS)):
            raise ValueError("need codes out of range")
        if np.any((self.status < 0) | (self.status > codes.CLOSED)):
            raise ValueError("status codes out of range")

    @property
    def n(self) -> int:
        """The number of records."""
        return int(self.child_key.shape[0])

    def take(self, index: np.ndarray) -> Cohort:
        """The records at ``index``, as a cohort."""
        return Cohort(**{name: getattr(self, name)[index] for name in self._DTYPES})


@dataclass
class ChunkResult:
    """Outputs of one chunk of runs. Row j of every array is run ``runs[j]``."""

    runs: np.ndarray       # [R] run numbers
    stock: np.ndarray      # [R,T,B,P,N] int32 month-end stock by age band, placement, need
    flows: np.ndarray      # [R,T,EV,P+1,P+1] int32 events by (from, to) placement, or shape (0,...)
    cost: np.ndarray       # [R,T,P] float64 GBP spent in the month by placement
    measures: np.ndarray   # [R,T,M] int64 pipeline and capacity measures
    trace: np.ndarray      # [R_trace,T,records] int8 placement (>= 0) or -1 - status per record
    seconds: float = 0.0
    child_months: int = 0  # active child-months simulated in this chunk
    extra: dict = field(default_factory=dict)


def record_capacity(cohort: Cohort, model: ModelArrays, n_months: int) -> int:
    """Records to preallocate per run: the cohort plus a generous bound on entrants.

    Entrants per run are Poisson; the bound is the largest expected count over parameter
    sets plus 10 standard deviations, which no run reaches in practice (the kernel stops
    with a clear error if one did).
    """
    e = model.epoch_of_month[:n_months]
    requests = (model.request_rate[:, e, :].sum(axis=2) * model.request_multiplier[:, :n_months])[:, 1:].sum(axis=1)
    arrivals = model.arrival_rate[:, e, :].sum(axis=2)[:, 1:].sum(axis=1)
    expected = float(np.max(requests + arrivals)) if requests.size else 0.0
    return int(cohort.n + expected + 10.0 * np.sqrt(expected) + 64)


def simulate(
    cohort: Cohort,
    model: ModelArrays,
    calendar: Calendar,
    *,
    seed: int,
    runs: np.ndarray,
    parameter_set_of_run: np.ndarray | None = None,
    chunk_size: int = 64,
    threads: int | None = None,
    record_flows: bool = True,
    trace_runs: int = 0,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Iterator[ChunkResult]:
    """Run the Monte Carlo simulation, yielding results one chunk of runs at a time.

    The inputs are checked when this is called (errors are raised here); the runs are made
    chunk by chunk as the returned iterator is consumed.

    Parameters
    ----------
    cohort
        Opening records (January census or any start month).
    model
        Compiled parameters (:func:`simcore.model.compile_model`); its month axis must cover
        ``calendar.n_months``.
    calendar
        Start month and number of months.
    seed
        Master seed, 0 <= seed < 2**63.
    runs
        Run numbers to simulate (results depend on the run number, not on its position).
    parameter_set_of_run
        For each entry of ``runs``, the parameter set (first axis of the model arrays) it
        uses; default all 0.
    chunk_size
        Runs per chunk: memory is proportional to this, not to the number of runs.
    threads
        numba threads (default: all cores).
    record_flows
        Keep the flows table; off saves memory (the conservation check runs either way).
    trace_runs
        For the first ``trace_runs`` runs of each chunk, record every record's placement or
        status each month (for tests on small cohorts).
    on_chunk
        Called with (runs done, runs total) after each chunk (progress bars).
    """
    runs = np.asarray(runs, dtype=np.int64)
    if runs.ndim != 1 or runs.size == 0:
        raise ValueError("runs must be a non-empty one-dimensional array of run numbers")
    if np.any(runs < 0):
        raise ValueError("run numbers must be >= 0")
    if not 0 <= int(seed) < 2**63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    n_sets = model.request_rate.shape[0]
    if parameter_set_of_run is None:
        parameter_set_of_run = np.zeros(runs.size, dtype=np.int64)
    parameter_set_of_run = np.asarray(parameter_set_of_run, dtype=np.int64)
    if parameter_set_of_run.shape != runs.shape:
        raise ValueError("parameter_set_of_run must have one entry per run")
    if np.any((parameter_set_of_run < 0) | (parameter_set_of_run >= n_sets)):
        raise ValueError(f"parameter set indices must be in [0, {n_sets})")
    if model.epoch_of_month.shape[0] < calendar.n_months:
        raise ValueError("model compiled for fewer months than the calendar asks for")
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    ages = calendar.academic_age(cohort.birth_month)
    live = (cohort.status != codes.CEASED) & (cohort.status != codes.CLOSED)
    # A baby born after the last 31 August has academic age -1; the engine counts it as 0
    # (under 5 either way; its Reception transfer comes one year early, a negligible effect).
    out_of_range = live & ((ages < -1) | (ages > codes.MAX_AGE))
    if np.any(out_of_range):
        bad = int(np.flatnonzero(out_of_range)[0])
        raise ValueError(f"record with child key {cohort.child_key[bad]} has academic age {ages[bad]} at the start "
                         f"(must be 0..{codes.MAX_AGE})")
    open_age = np.clip(ages, 0, codes.MAX_AGE).astype(np.int8)
    capacity = record_capacity(cohort, model, calendar.n_months)
    if threads is not None and not 1 <= int(threads) <= numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads must be 1..{numba.config.NUMBA_NUM_THREADS}, got {threads}")
    # Everything is checked: the runs themselves happen as the caller iterates.
    return _chunks(cohort, model, calendar, seed, runs, parameter_set_of_run, chunk_size, threads, record_flows,
                   trace_runs, on_chunk, open_age, capacity)


def _chunks(cohort, model, calendar, seed, runs, parameter_set_of_run, chunk_size, threads, record_flows, trace_runs,
            on_chunk, open_age, capacity) -> Iterator[ChunkResult]:
    T, B, P, N = calendar.n_months, codes.N_AGE_BANDS, codes.N_PLACEMENTS, codes.N_NEEDS
    opening = OpeningCohort(child_key=cohort.child_key, age=open_age, placement=cohort.placement, need=cohort.need,
                            status=cohort.status, months_since_review=cohort.months_since_review,
                            stage_months=cohort.stage_months, waiting_for=cohort.waiting_for,
                            annual_cost_gbp=cohort.annual_cost_gbp)
    settings = RunSettings(seed=np.uint64(seed), start_calendar_month=calendar.start_calendar_month, n_months=T,
                           record_capacity=capacity)
    done = 0
    for start in range(0, runs.size, chunk_size):
        chunk_runs = runs[start:start + chunk_size]
        chunk_sets = parameter_set_of_run[start:start + chunk_size]
        R = chunk_runs.size
        stock = np.zeros((R, T, B, P, N), dtype=np.int32)
        flows = np.zeros((R if record_flows else 0, T, codes.N_EVENTS, P + 1, P + 1), dtype=np.int32)
        cost = np.zeros((R, T, P), dtype=np.float64)
        measures = np.zeros((R, T, codes.N_MEASURES), dtype=np.int64)
        trace = np.full((min(trace_runs, R), T, capacity if trace_runs else 0), TRACE_EMPTY, dtype=np.int8)
        errors = np.zeros((R, 3), dtype=np.int64)
        # The thread count is set for this call only: a later call (another test, a Dask task)
        # must not inherit it.
        previous_threads = numba.get_num_threads()
        if threads is not None:
            numba.set_num_threads(int(threads))
        t0 = time.perf_counter()
        try:
            simulate_chunk(chunk_runs, chunk_sets, opening, model, settings,
                           Outputs(stock=stock, flows=flows, cost_gbp=cost, measures=measures, trace=trace,
                                   errors=errors))
        finally:
            numba.set_num_threads(previous_threads)
        seconds = time.perf_counter() - t0
        failed = np.flatnonzero(errors[:, 0] != ERR_NONE)
        if failed.size:
            j = int(failed[0])
            code, month, detail = (int(v) for v in errors[j])
            detail_name = codes.PLACEMENTS[detail] if 0 <= detail < P else str(detail)
            raise SimulationError(f"run {int(chunk_runs[j])}, month {calendar.label(month)}: "
                                  + ERROR_MESSAGES[code].format(detail=detail_name))
        done += R
        if on_chunk is not None:
            on_chunk(done, runs.size)
        # Child-months simulated: month 0 is the opening snapshot, nothing is simulated there.
        yield ChunkResult(runs=chunk_runs, stock=stock, flows=flows, cost=cost, measures=measures, trace=trace,
                          seconds=seconds, child_months=int(stock[:, 1:].sum(dtype=np.int64)))
