"""Tasks and backends: a run is a set of tasks (scenario, chunk of runs), each writing its own
Parquet partition and per-run figures, executed locally (numba threads, writing overlapped
with the next chunk's simulation) or on a Dask cluster.

A task's output depends only on its inputs (the seed and the run numbers fix every random
number), and every file is written under a temporary name and renamed, so a task can be
retried after a worker dies, or skipped on --resume when its marker exists, and the tables
come out identical whatever the backend, the chunking or the number of workers.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable, Iterator

import numpy as np

from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.draws import load_draws, parameter_sets_for_draws
from sendsim.inputs.finance import FinanceInputs, load_finance, with_rows
from sendsim.inputs.parameters import ParameterRow, build_parameter_set, overlay_parameter_set, read_parameter_rows
from sendsim.inputs.scenarios import Scenario, compile_scenario
from sendsim.outputs.store import OutputStore
from sendsim.outputs.summary import RunAggregates
from sendsim.outputs.tables import chunk_tables
from sendsim.simcore.engine import Calendar, ChunkResult, Cohort, simulate
from sendsim.simcore.model import ModelArrays, ParameterSet, compile_model


@dataclass(frozen=True)
class RunInputs:
    """What every task of a run shares: input paths and settings (small, picklable)."""

    out: str
    cohort: str
    parameter_files: tuple[str, ...]   # CSVs: the Kent baseline, then --params overrides
    finance_files: tuple[str, ...]     # finance CSVs: the Kent inputs, then --finance overrides
    draws: str | None                  # a draws Parquet (run r uses draw r), or None
    start: tuple[int, int]
    months: int
    seed: int
    record_flows: bool = True
    threads: int | None = None

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.start[0], self.start[1], self.months)


@dataclass(frozen=True)
class Task:
    """One scenario's chunk of runs ``first_run..last_run`` (inclusive)."""

    scenario: str
    scenario_json: str | None  # the scenario table (JSON text), or None for the base parameters
    scenario_file: str
    first_run: int
    last_run: int

    @property
    def runs(self) -> np.ndarray:
        return np.arange(self.first_run, self.last_run + 1, dtype=np.int64)


@dataclass
class TaskResult:
    scenario: str
    first_run: int
    last_run: int
    figures: dict[str, np.ndarray]
    child_months: int = 0
    kernel_seconds: float = 0.0
    bytes_written: int = 0
    skipped: bool = False


# ---- Inputs, loaded once per process -------------------------------------------------------------
@lru_cache(maxsize=4)
def _cohort(path: str, calendar: Calendar) -> Cohort:
    return load_cohort(path, calendar)[0]


@lru_cache(maxsize=4)
def _finance(files: tuple[str, ...]) -> FinanceInputs:
    return load_finance(list(files))


@lru_cache(maxsize=4)
def _base_rows(files: tuple[str, ...], finance_files: tuple[str, ...], calendar: Calendar
               ) -> tuple[ParameterRow, ...]:
    """Parameter rows of the run: the files in order, then the engine's price_growth rows
    derived from the finance inputs (cost growth has one definition, the finance cost types)."""
    rows: list[ParameterRow] = []
    for path in files:
        rows.extend(read_parameter_rows(path))
    rows.extend(_finance(finance_files).price_growth_rows(calendar))
    return tuple(rows)


@lru_cache(maxsize=2)
def _draws(path: str):
    return load_draws(path)


def scenario_rows(base: list[ParameterRow], scenario: Scenario, finance: FinanceInputs,
                  calendar: Calendar) -> list[ParameterRow]:
    """The parameter rows a scenario runs with: the base rows, the scenario's own, and, when the
    scenario changes the money inputs, the price_growth rows of its finance (they come last, so
    its cost growth replaces the base's in the engine's price index)."""
    rows = list(base) + list(scenario.rows)
    if scenario.finance_rows:
        rows.extend(with_rows(finance, scenario.finance_rows).price_growth_rows(calendar))
    return rows


@lru_cache(maxsize=4)
def _base_set(inputs: RunInputs) -> ParameterSet:
    return build_parameter_set(list(_base_rows(inputs.parameter_files, inputs.finance_files, inputs.calendar)),
                               inputs.calendar)


@lru_cache(maxsize=64)
def _scenario_rows(inputs: RunInputs, scenario_json: str | None, scenario_file: str) -> tuple[ParameterRow, ...]:
    """The scenario's own rows (after the base rows)."""
    calendar = inputs.calendar
    if scenario_json is None:
        return ()
    base = list(_base_rows(inputs.parameter_files, inputs.finance_files, calendar))
    scenario = compile_scenario(json.loads(scenario_json), scenario_file, base, calendar, _base_set(inputs))
    return tuple(scenario_rows(base, scenario, _finance(inputs.finance_files), calendar)[len(base):])


@lru_cache(maxsize=16)
def _base_model(inputs: RunInputs, scenario_json: str | None, scenario_file: str) -> ModelArrays:
    calendar = inputs.calendar
    base = list(_base_rows(inputs.parameter_files, inputs.finance_files, calendar))
    parameter_set = overlay_parameter_set(_base_set(inputs), base, list(_scenario_rows(inputs, scenario_json,
                                                                                        scenario_file)), calendar)
    return compile_model([parameter_set], calendar.n_months, calendar.start_calendar_month)


def model_for(inputs: RunInputs, task: Task) -> tuple[ModelArrays, np.ndarray | None]:
    """The compiled model for a task and each run's parameter set (draws: one per run)."""
    calendar = inputs.calendar
    if inputs.draws is None:
        return _base_model(inputs, task.scenario_json, task.scenario_file), None
    rows = (list(_base_rows(inputs.parameter_files, inputs.finance_files, calendar))
            + list(_scenario_rows(inputs, task.scenario_json, task.scenario_file)))
    sets = parameter_sets_for_draws(rows, _draws(inputs.draws), task.runs, calendar)
    return compile_model(sets, calendar.n_months, calendar.start_calendar_month), np.arange(task.runs.size)


# ---- Running one task ---------------------------------------------------------------------------
def compute_task(inputs: RunInputs, task: Task) -> tuple[ChunkResult, dict[str, np.ndarray]]:
    """Simulate a task's runs; return the chunk and its per-run figures (nothing written)."""
    calendar = inputs.calendar
    model, sets = model_for(inputs, task)
    (chunk,) = simulate(_cohort(inputs.cohort, calendar), model, calendar, seed=inputs.seed, runs=task.runs,
                        parameter_set_of_run=sets, chunk_size=task.runs.size, threads=inputs.threads,
                        record_flows=inputs.record_flows)
    return chunk, RunAggregates(calendar).of_chunk(chunk)


def write_task(store: OutputStore, inputs: RunInputs, task: Task, chunk: ChunkResult,
               figures: dict[str, np.ndarray]) -> int:
    tables = chunk_tables(chunk, inputs.calendar)
    return store.write_chunk(task.scenario, task.first_run, task.last_run, tables, figures)


def run_task(inputs: RunInputs, task: Task) -> TaskResult:
    """Compute and write one task (the unit of work on a Dask worker). Idempotent: a task
    whose marker exists is not recomputed, and a rerun writes identical files."""
    store = OutputStore.attach(inputs.out)
    if store.chunk_done(task.scenario, task.first_run, task.last_run):
        return TaskResult(task.scenario, task.first_run, task.last_run,
                          store.chunk_figures(task.scenario, task.first_run, task.last_run), skipped=True)
    chunk, figures = compute_task(inputs, task)
    written = write_task(store, inputs, task, chunk, figures)
    return TaskResult(task.scenario, task.first_run, task.last_run, figures, chunk.child_months, chunk.seconds,
                      written)


# ---- Backends -------------------------------------------------------------------------------------
def run_local(inputs: RunInputs, tasks: Iterable[Task], store: OutputStore,
              on_result: Callable[[TaskResult], None]) -> None:
    """Tasks one after another in this process, the runs of each in parallel on numba threads;
    writing a chunk overlaps with simulating the next (the kernel releases the GIL). At most
    two chunks are in memory: memory is flat in the number of runs and scenarios."""
    pending: list[tuple[Future, TaskResult]] = []

    def drain(limit: int) -> None:
        while len(pending) > limit:
            future, result = pending.pop(0)
            result.bytes_written = future.result()
            on_result(result)

    with ThreadPoolExecutor(max_workers=1) as writer:
        for task in tasks:
            if store.chunk_done(task.scenario, task.first_run, task.last_run):
                drain(0)
                on_result(TaskResult(task.scenario, task.first_run, task.last_run,
                                     store.chunk_figures(task.scenario, task.first_run, task.last_run), skipped=True))
                continue
            chunk, figures = compute_task(inputs, task)
            result = TaskResult(task.scenario, task.first_run, task.last_run, figures, chunk.child_months,
                                chunk.seconds)
            drain(1)
            pending.append((writer.submit(write_task, store, inputs, task, chunk, figures), result))
        drain(0)


@dataclass
class DaskOptions:
    scheduler: str | None = None  # tcp://HOST:PORT of an existing cluster; None: a local cluster
    workers: int | None = None     # local cluster: worker processes (default: cores)
    retries: int = 3               # a task lost with a dead worker is retried on another
    extra: dict = field(default_factory=dict)


def run_dask(inputs: RunInputs, tasks: Iterable[Task], options: DaskOptions,
             on_result: Callable[[TaskResult], None]) -> None:
    """Tasks on a Dask cluster: a local one by default, or an existing one. Each task writes
    its own partition; results (small figures) come back to this process. Tasks are
    submitted a few at a time so that memory here stays flat however many there are."""
    import os

    from distributed import Client, LocalCluster, as_completed

    if options.scheduler:
        client = Client(options.scheduler)
        cluster = None
    else:
        n_workers = options.workers or os.cpu_count() or 1
        # One numba thread per worker process: parallelism comes from the workers.
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               **options.extra)
        client = Client(cluster)
    try:
        in_flight_limit = 2 * max(1, len(client.scheduler_info()["workers"]))
        iterator: Iterator[Task] = iter(tasks)
        completed = as_completed()

        def submit_next() -> bool:
            task = next(iterator, None)
            if task is None:
                return False
            completed.add(client.submit(run_task, inputs, task, key=f"task-{task.scenario}-{task.first_run}-"
                                        f"{task.last_run}-{time.time_ns()}", retries=options.retries, pure=False))
            return True

        for _ in range(in_flight_limit):
            if not submit_next():
                break
        for future in completed:
            on_result(future.result())
            future.release()
            submit_next()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def worker_inputs_threads(inputs: RunInputs) -> RunInputs:
    """On a Dask worker each task runs on one numba thread unless --threads says otherwise."""
    from dataclasses import replace
    return inputs if inputs.threads is not None else replace(inputs, threads=1)
