"""Tasks and backends: a run is a set of tasks (scenario, chunk of runs), each writing its own
Parquet partition and per-run figures, executed locally (numba threads, writing overlapped
with the next chunk's simulation) or on a Dask cluster.

A task's output depends only on its inputs (the seed and the run numbers fix every random
number), and every file is written under a temporary name and renamed, so a task can be
retried after a worker dies, or skipped on --resume when its marker exists, and the tables
come out identical whatever the backend, the chunking or the number of workers.

Each task goes the run's one way: the resolved inputs (:mod:`sendsim.inputs.resolve`), the
engine (at base prices), the money model's prices (:mod:`sendsim.money.prices`), the tables
(:mod:`sendsim.outputs`).
"""
from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from sendsim.inputs.errors import InputError
from sendsim.inputs.resolve import ResolvedRun, RunSpec, ScenarioPlan, resolve_run
from sendsim.money.prices import monthly_price_index, nominal_cost, run_price_index
from sendsim.outputs.store import OutputStore
from sendsim.outputs.summary import RunAggregates
from sendsim.outputs.tables import chunk_tables
from sendsim.simcore.codes import N_PLACEMENTS
from sendsim.simcore.engine import ChunkResult, simulate
from sendsim.simcore.model import ModelArrays, compile_model

# Compiled scenarios kept per process (a sweep may have thousands: the oldest are dropped).
SCENARIOS_KEPT = 16


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
        """The task's runs, ``first_run`` to ``last_run``."""
        return np.arange(self.first_run, self.last_run + 1, dtype=np.int64)


@dataclass
class TaskResult:
    """What a task sends back: its scenario and runs, its per-run figures, its timings and bytes
    written, and whether it was skipped."""

    scenario: str
    first_run: int
    last_run: int
    figures: dict[str, np.ndarray]
    child_months: int = 0
    kernel_seconds: float = 0.0
    bytes_written: int = 0
    skipped: bool = False


@dataclass
class CompiledScenario:
    """A scenario ready to simulate: its plan, its compiled model (None with draws: one set per
    run, compiled per task) and its monthly price index."""

    plan: ScenarioPlan
    model: ModelArrays | None
    price_index: np.ndarray  # [T, P]


class Runner:
    """Simulates tasks of one resolved run, keeping each scenario's compiled form."""

    def __init__(self, resolved: ResolvedRun) -> None:
        self.resolved = resolved
        self._compiled: OrderedDict[tuple, CompiledScenario] = OrderedDict()

    def compiled(self, task: Task) -> CompiledScenario:
        """The task's scenario, planned and compiled (kept for the scenario's later tasks)."""
        key = (task.scenario_json, task.scenario_file)
        if key in self._compiled:
            self._compiled.move_to_end(key)
            return self._compiled[key]
        resolved = self.resolved
        calendar = resolved.calendar
        plan = resolved.plan_of(task.scenario_json, task.scenario_file)
        model = None
        if resolved.draws is None:
            model = compile_model([resolved.parameter_set(plan)], calendar.n_months, calendar.start_calendar_month)
        prices = (monthly_price_index(plan.finance, calendar) if plan.finance is not None
                  else np.ones((calendar.n_months, N_PLACEMENTS)))  # no finance inputs: base prices throughout
        compiled = CompiledScenario(plan, model, prices)
        self._compiled[key] = compiled
        while len(self._compiled) > SCENARIOS_KEPT:
            self._compiled.popitem(last=False)
        return compiled

    def compute(self, task: Task, threads: int | None) -> tuple[ChunkResult, dict[str, np.ndarray]]:
        """Simulate a task's runs; return the chunk (spend at each month's prices) and its
        per-run figures (nothing written). A scenario with mitigations is computed stage by
        stage (its first k mitigations, k = 0..K, for the mitigation log): a stage whose last
        mitigation changes the engine is simulated again with the same random numbers, a money
        mitigation only re-prices; the last stage is the scenario, whose tables are written,
        the others keep only their figures (keys ``stage<k>:<figure>``)."""
        resolved = self.resolved
        compiled = self.compiled(task)
        plan = compiled.plan
        stages = plan.stages()
        figures: dict[str, np.ndarray] = {}
        chunk: ChunkResult | None = None
        base_cost: np.ndarray | None = None
        for stage in stages:
            if plan.engine_changes_at(stage):
                chunk = self._simulate(compiled, task, stage, threads)
                base_cost = chunk.cost
            # The first stage (0, or None without mitigations) always simulates.
            assert chunk is not None and base_cost is not None
            chunk.cost = nominal_cost(base_cost, self._price_index(compiled, task, stage))
            stage_figures = RunAggregates(resolved.calendar).of_chunk(chunk)
            prefix = "" if stage == stages[-1] else f"stage{stage}:"
            figures.update({prefix + name: values for name, values in stage_figures.items()})
        assert chunk is not None  # stages() is never empty
        return chunk, figures

    def _simulate(self, compiled: CompiledScenario, task: Task, stage: int | None, threads: int | None) -> ChunkResult:
        """The engine at base prices: one parameter set for every run, or one per run (draws,
        mitigations delivered in some runs only: :meth:`ResolvedRun.run_parameter_sets`)."""
        resolved = self.resolved
        calendar = resolved.calendar
        model, sets = compiled.model, None
        if model is None or compiled.plan.mitigations:
            parameter_sets, sets = resolved.run_parameter_sets(compiled.plan, task.runs, stage)
            model = compile_model(parameter_sets, calendar.n_months, calendar.start_calendar_month)
        (chunk,) = simulate(resolved.cohort, model, calendar, seed=resolved.spec.seed, runs=task.runs,
                            parameter_set_of_run=sets, chunk_size=task.runs.size, threads=threads,
                            record_flows=resolved.spec.record_flows)
        return chunk

    def _price_index(self, compiled: CompiledScenario, task: Task, stage: int | None) -> np.ndarray:
        """[T, P], or [R, T, P] where the plan's price mitigations differ between runs."""
        if compiled.plan.finance is None:  # no finance inputs: base prices throughout
            return compiled.price_index
        books, group = self.resolved.run_books(compiled.plan, task.runs, stage)
        if len(books) == 1 and books[0] is compiled.plan.finance:
            return compiled.price_index
        return run_price_index(books, group, self.resolved.calendar)


def write_task(store: OutputStore, runner: Runner, task: Task, chunk: ChunkResult,
               figures: dict[str, np.ndarray]) -> int:
    """Write a task's chunk as tables, with its per-run figures, into the store; return the
    bytes written."""
    tables = chunk_tables(chunk, runner.resolved.calendar)
    return store.write_chunk(task.scenario, task.first_run, task.last_run, tables, figures)


# ---- On a worker --------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerInputs:
    """What a Dask worker needs to resolve the run itself: the spec and the hashes of the
    inputs as the run's own process read them (a file changed since is an error, so that a
    run's tables never mix two versions of an input)."""

    spec: RunSpec
    file_hashes: tuple[tuple[str, str], ...]
    threads: int | None = 1


@lru_cache(maxsize=2)
def _worker_runner(inputs: WorkerInputs) -> Runner:
    resolved = resolve_run(inputs.spec)
    now = resolved.file_hashes()
    for path, digest in inputs.file_hashes:
        if now.get(path) != digest:
            raise InputError(path, "changed after the run started: its tables would mix two versions of this "
                             "input; finish the run with the file as it was, or start again with --overwrite")
    return Runner(resolved)


def run_task(inputs: WorkerInputs, task: Task) -> TaskResult:
    """Compute and write one task (the unit of work on a Dask worker). Idempotent: a task
    whose marker exists is not recomputed, and a rerun writes identical files."""
    store = OutputStore.attach(inputs.spec.out)
    if store.chunk_done(task.scenario, task.first_run, task.last_run):
        return TaskResult(task.scenario, task.first_run, task.last_run,
                          store.chunk_figures(task.scenario, task.first_run, task.last_run), skipped=True)
    runner = _worker_runner(inputs)
    chunk, figures = runner.compute(task, inputs.threads)
    written = write_task(store, runner, task, chunk, figures)
    return TaskResult(task.scenario, task.first_run, task.last_run, figures, chunk.child_months, chunk.seconds,
                      written)


# ---- Backends -------------------------------------------------------------------------------------
def run_local(runner: Runner, tasks: Iterable[Task], store: OutputStore, threads: int | None,
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
            chunk, figures = runner.compute(task, threads)
            result = TaskResult(task.scenario, task.first_run, task.last_run, figures, chunk.child_months,
                                chunk.seconds)
            drain(1)
            pending.append((writer.submit(write_task, store, runner, task, chunk, figures), result))
        drain(0)


@dataclass
class DaskOptions:
    """How ``--backend dask`` reaches its cluster, and how often a lost task is retried."""

    scheduler: str | None = None  # tcp://HOST:PORT of an existing cluster; None: a local cluster
    workers: int | None = None     # local cluster: worker processes (default: cores)
    retries: int = 3               # a task lost with a dead worker is retried on another
    extra: dict = field(default_factory=dict)


def run_dask(inputs: WorkerInputs, tasks: Iterable[Task], options: DaskOptions,
             on_result: Callable[[TaskResult], None]) -> None:
    """Tasks on a Dask cluster: a local one by default, or an existing one. Each task writes
    its own partition; results (small figures) come back to this process. Tasks are
    submitted a few at a time so that memory here stays flat however many there are."""
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


def worker_inputs(resolved: ResolvedRun) -> WorkerInputs:
    """On a Dask worker each task runs on one numba thread unless --threads says otherwise; the
    worker's own process resolves the spec (the progress bar and the output folder's checks
    are the run's own process's)."""
    spec = replace(resolved.spec, progress=False, overwrite=False, resume=False)
    return WorkerInputs(spec, tuple(sorted(resolved.file_hashes().items())),
                        resolved.spec.threads if resolved.spec.threads is not None else 1)
