"""`sendsim run` and `sendsim sweep`: load and check inputs, run every (scenario, chunk of
runs) task on a backend, then per scenario the money model and the paired differences
against the baseline; write everything through the crash-safe output store.

Scenarios are run in two phases, the baseline first, and each scenario is finished (money,
differences, summaries) as soon as its last task is done, so memory is flat in the number of
runs and of scenarios.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from sendsim.inputs.cohort import load_cohort
from sendsim.inputs.defaults import KENT_COHORT, KENT_PARAMETERS
from sendsim.inputs.draws import Draws, is_draws_file, load_draws, parameter_sets_for_draws
from sendsim.inputs.errors import InputError
from sendsim.inputs.finance import KENT_FINANCE, FinanceInputs, load_finance, reject_price_growth, with_rows
from sendsim.inputs.parameters import (ParameterRow, build_parameter_set, check_dates_in_run, overlay_parameter_set,
                               read_parameter_rows)
from sendsim.inputs.scenarios import BUILTIN_DIR, builtin_path, check_levers_in_run, compile_scenario, read_scenario_table
from sendsim.inputs.sweeps import Sweep, load_sweep
from sendsim.outputs.finance import (MoneyResult, check_money_inputs, format_deficit, modelled, money_context, money_files,
                             parquet_bytes, run_money, summary_frame)
from sendsim.outputs.manifest import base_manifest, sha256_file
from sendsim.outputs.scenarios import difference_summary, difference_table, format_differences
from sendsim.outputs.store import OutputStore, check_scenario_name
from sendsim.outputs.summary import RunAggregates, format_summary
from sendsim.batch import (DaskOptions, RunInputs, Task, TaskResult, run_dask, run_local, scenario_rows,
                           worker_inputs_threads)
from sendsim.progress import Progress
from sendsim.simcore.engine import Calendar

BASELINE = "baseline"


@dataclass
class RunSpec:
    """Everything that defines a run (and goes into its manifest)."""

    out: Path
    runs: int = 1000
    seed: int = 1
    start: tuple[int, int] = (2024, 1)
    months: int = 51
    cohort: Path = KENT_COHORT
    params: list[Path] = field(default_factory=list)  # CSVs on top of the Kent baseline; one .parquet of draws
    finance: list[Path] = field(default_factory=list)  # finance CSVs on top of the Kent finance inputs
    scenarios: list[str] = field(default_factory=lambda: [BASELINE])  # built-in names or TOML files
    sweep: Path | None = None
    threads: int | None = None
    chunk_size: int = 64
    overwrite: bool = False
    resume: bool = False
    record_flows: bool = True
    progress: bool = True
    backend: str = "local"             # "local" or "dask"
    scheduler: str | None = None       # dask: tcp://HOST:PORT of an existing cluster
    workers: int | None = None         # dask: local cluster worker processes

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.start[0], self.start[1], self.months)


@dataclass
class PlannedScenario:
    """A scenario to run: its table (None: the base parameters) and its money inputs."""

    name: str
    table_json: str | None
    file: str
    description: str
    finance: FinanceInputs
    first_effective: tuple[int, int] | None = None
    sweep_point: dict | None = None


@dataclass
class RunResult:
    manifest: dict
    aggregates: RunAggregates
    summary: str
    money: MoneyResult | None = None
    deficit_summary: str = ""
    differences: str = ""


# ---- Inputs ---------------------------------------------------------------------------------------
@dataclass
class Parameters:
    """The run's parameters: baseline rows (Kent plus CSV overrides plus the finance-derived
    price growth), and optional draws."""

    csv_files: list[Path]
    draw_file: Path | None
    rows: list[ParameterRow]
    base_set: dict
    draws: Draws | None


def load_parameters(spec: RunSpec, calendar: Calendar, finance: FinanceInputs) -> Parameters:
    """Read and validate every parameter input before anything is written. The engine's
    price_growth rows are derived from the finance cost types and appended (one definition of
    cost growth); parameter files and draws may not set price_growth themselves."""
    csv_files = [KENT_PARAMETERS] + [p for p in spec.params if not is_draws_file(p)]
    draw_files = [p for p in spec.params if is_draws_file(p)]
    if len(draw_files) > 1:
        raise InputError(str(draw_files[1]), "only one draws file (Parquet) can be given with --params")
    rows: list[ParameterRow] = []
    for path in csv_files:
        file_rows = read_parameter_rows(path)
        if path != KENT_PARAMETERS:  # a modeller's row dated after the run would silently do nothing
            check_dates_in_run(file_rows, calendar)
        rows.extend(file_rows)
    reject_price_growth(rows)
    rows.extend(finance.price_growth_rows(calendar))
    base_set = build_parameter_set(rows, calendar)
    draws = None
    if draw_files:
        draws = load_draws(draw_files[0])
        reject_price_growth([], draws.columns, draws.file)
        if draws.n_draws < spec.runs:
            raise InputError(draws.file, f"has {draws.n_draws} draws but --runs is {spec.runs}: run r uses draw r")
        # Check every draw now (a bad draw must not stop a run half way).
        for start in range(0, spec.runs, 256):
            parameter_sets_for_draws(rows, draws, np.arange(start, min(spec.runs, start + 256)), calendar, base_set)
    return Parameters(csv_files, draw_files[0] if draw_files else None, rows, base_set, draws)


def _scenario_file(entry: str) -> Path:
    """A --scenario value: a TOML file if it names one, else a built-in scenario."""
    path = Path(entry)
    if path.suffix.lower() == ".toml" and path.exists():
        return path
    if path.suffix.lower() == ".toml" or os.sep in entry:
        raise InputError(entry, "scenario file not found")
    return builtin_path(entry)


def _plan(table: dict, file: str, rows: list[ParameterRow], base_set: dict, finance: FinanceInputs,
          calendar: Calendar, sweep_point: dict | None = None, check_dates: bool = False) -> PlannedScenario:
    """Compile (so: validate) a scenario and plan it."""
    scenario = compile_scenario(table, file, rows, calendar, base_set)
    if check_dates:  # a modeller's lever dated after the run would silently do nothing
        check_levers_in_run(scenario, calendar)
    scenario_finance = with_rows(finance, scenario.finance_rows) if scenario.finance_rows else finance
    # The scenario's full parameters must build (its finance may change the price index).
    overlay_parameter_set(base_set, rows, scenario_rows(rows, scenario, finance, calendar)[len(rows):], calendar)
    return PlannedScenario(scenario.name, json.dumps(table, sort_keys=True), file, scenario.description,
                           scenario_finance, scenario.first_effective(), sweep_point)


def plan_scenarios(spec: RunSpec, rows: list[ParameterRow], base_set: dict, finance: FinanceInputs,
                   calendar: Calendar) -> tuple[PlannedScenario, list[PlannedScenario], Sweep | None]:
    """The baseline and the other scenarios, every one checked now. A sweep's points are
    planned lazily (there may be thousands); its corner points (each factor at its lowest and
    highest level) are checked now."""
    baseline = PlannedScenario(BASELINE, None, str(KENT_PARAMETERS), "the base parameters", finance)
    others: list[PlannedScenario] = []
    seen = {BASELINE}
    for entry in spec.scenarios:
        if entry == BASELINE:
            continue
        path = _scenario_file(entry)
        table = read_scenario_table(path)
        builtin = path.parent == BUILTIN_DIR
        if table["name"] in seen:
            raise InputError(str(path), f"scenario name {table['name']!r} is given twice", key="name")
        seen.add(table["name"])
        others.append(_plan(table, str(path), rows, base_set, finance, calendar, check_dates=not builtin))
    sweep = None
    if spec.sweep is not None:
        sweep = load_sweep(spec.sweep)
        tables = list(sweep.scenario_tables()) if sweep.n_scenarios <= 4 else None
        corners = set()
        for j in range(len(sweep.factors)):
            corners.add(int(np.argmin(sweep.points[:, j])))
            corners.add(int(np.argmax(sweep.points[:, j])))
        for k in sorted(corners):
            table = tables[k] if tables else _nth_table(sweep, k)
            _plan(table, str(spec.sweep), rows, base_set, finance, calendar)
        clash = seen & {sweep.scenario_name(0)}
        if clash:
            raise InputError(str(spec.sweep), f"sweep scenario names clash with {sorted(clash)}", key="name")
    return baseline, others, sweep


def _nth_table(sweep: Sweep, k: int) -> dict:
    for j, table in enumerate(sweep.scenario_tables()):
        if j == k:
            return table
    raise IndexError(k)


def _sweep_plans(sweep: Sweep, finance: FinanceInputs) -> Iterator[PlannedScenario]:
    """The sweep's points as planned scenarios, one at a time (checked when their tasks run)."""
    for k, table in enumerate(sweep.scenario_tables()):
        point = {f.lever: float(v) for f, v in zip(sweep.factors, sweep.points[k])}
        yield PlannedScenario(table["name"], json.dumps(table, sort_keys=True), str(sweep.source),
                              table["description"], finance, None, point)


def run_identity(spec: RunSpec, calendar: Calendar, input_files: list[Path], scenario_ids: list[str]) -> dict:
    """What makes two runs write the same tables: kept in the output folder while a run is
    written, so that --resume refuses to finish a run with different options or inputs."""
    from sendsim.simcore.rng import RNG_SCHEME_VERSION
    return {"scenarios": scenario_ids, "seed": spec.seed, "runs": spec.runs, "chunk_size": spec.chunk_size,
            "start": calendar.label(0), "months": calendar.n_months, "flows": spec.record_flows,
            "inputs_sha256": [sha256_file(p) for p in input_files], "rng_scheme_version": RNG_SCHEME_VERSION}


# ---- Running --------------------------------------------------------------------------------------
class ScenarioFinisher:
    """Collects each scenario's per-run figures as its tasks finish; when a scenario is
    complete, computes its money outputs and its paired differences against the baseline,
    writes them, keeps a few headline numbers and drops the per-run figures."""

    def __init__(self, store: OutputStore, calendar: Calendar, n_chunks: int, modelled_money: bool) -> None:
        self.store = store
        self.calendar = calendar
        self.n_chunks = n_chunks
        self.modelled_money = modelled_money
        self.plans: dict[str, PlannedScenario] = {}
        self.figures: dict[str, list[dict]] = {}
        self.summary_frames: list[pd.DataFrame] = []
        self.difference_frames: list[pd.DataFrame] = []
        self.scenario_rows: list[dict] = []
        self.baseline_aggregates: RunAggregates | None = None
        self.baseline_money: MoneyResult | None = None
        self.child_months = 0
        self.kernel_seconds = 0.0
        self.bytes_written = 0
        self.resumed_tasks = 0
        self.tables: set[str] = set()

    def expect(self, plan: PlannedScenario) -> None:
        self.plans[plan.name] = plan
        self.figures[plan.name] = []

    def add(self, result: TaskResult) -> None:
        self.child_months += result.child_months
        self.kernel_seconds += result.kernel_seconds
        self.bytes_written += result.bytes_written
        self.resumed_tasks += int(result.skipped)
        figures = self.figures[result.scenario]
        figures.append(result.figures)
        if len(figures) == self.n_chunks:
            self._finish(self.plans.pop(result.scenario), self.figures.pop(result.scenario))

    def _finish(self, plan: PlannedScenario, figures: list[dict]) -> None:
        aggregates = RunAggregates(self.calendar)
        for f in figures:
            aggregates.add(f)
        aggregates = aggregates.sorted_by_run()
        row = {"scenario": plan.name, "description": plan.description, "source": plan.file,
               "first_effective": (f"{plan.first_effective[0]:04d}-{plan.first_effective[1]:02d}"
                                   if plan.first_effective else None)}
        row.update({f"sweep_{lever}": value for lever, value in (plan.sweep_point or {}).items()})
        self.scenario_rows.append(row)
        money = None
        if self.modelled_money:
            money = run_money(plan.finance, np.concatenate(aggregates.runs), aggregates.financial_years,
                              aggregates.complete_mask(), np.concatenate(aggregates.spend_by_fy_placement),
                              aggregates.plans_by_financial_year())
            for relative, data in money_files(money, plan.name).items():
                if relative != "summary.parquet":  # one summary for every scenario, written at the end
                    self.store.write_file(relative, data)
            self.tables.update(("deficit", "finance"))
            self.summary_frames.append(summary_frame(money, plan.name))
        if plan.name == BASELINE:
            self.baseline_aggregates = aggregates
            self.baseline_money = money
        elif money is not None and self.baseline_money is not None:
            table = difference_table(money, self.baseline_money)
            self.store.write_file(f"difference/scenario={plan.name}/runs-{int(money.runs.min()):06d}-"
                                  f"{int(money.runs.max()):06d}.parquet", parquet_bytes(table))
            self.tables.add("difference")
            self.difference_frames.append(difference_summary(money, self.baseline_money, plan.name))

    def write_summaries(self) -> list[str]:
        files = []
        if self.summary_frames:
            frame = pd.concat(self.summary_frames, ignore_index=True)
            self.store.write_file("summary.parquet", parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False)))
            files.append("summary.parquet")
        if self.difference_frames:
            frame = pd.concat(self.difference_frames, ignore_index=True)
            self.store.write_file("difference_summary.parquet",
                                  parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False)))
            files.append("difference_summary.parquet")
        scenarios = pd.DataFrame(self.scenario_rows)
        self.store.write_file("scenarios.parquet", parquet_bytes(pa.Table.from_pandas(scenarios, preserve_index=False)))
        files.append("scenarios.parquet")
        return files


def _tasks(plans: Iterator[PlannedScenario], chunks: list[np.ndarray], finisher: ScenarioFinisher
           ) -> Iterator[Task]:
    for plan in plans:
        finisher.expect(plan)
        for chunk in chunks:
            yield Task(plan.name, plan.table_json, plan.file, int(chunk[0]), int(chunk[-1]))


def execute(spec: RunSpec, log=print) -> RunResult:
    """Run a simulation as ``spec`` says and write its output folder."""
    t_start = time.perf_counter()
    if spec.runs < 1:
        raise ValueError("--runs must be at least 1")
    if spec.backend not in ("local", "dask"):
        raise InputError("--backend", f"unknown backend {spec.backend!r}; expected local or dask")
    calendar = spec.calendar
    # Inputs are validated completely before anything is written.
    finance_files = [KENT_FINANCE] + list(spec.finance)
    finance = load_finance(finance_files)
    fy_all = np.unique(calendar.financial_years())
    fy_complete = np.array([(calendar.financial_years() == y).sum() == 12 for y in fy_all])
    check_money_inputs(finance, fy_all, fy_complete)
    parameters = load_parameters(spec, calendar, finance)
    load_cohort(spec.cohort, calendar)
    baseline, others, sweep = plan_scenarios(spec, parameters.rows, parameters.base_set, finance, calendar)
    for plan in [baseline] + others:
        check_scenario_name(plan.name)
    scenario_ids = [f"{p.name}:{p.table_json}" for p in [baseline] + others]
    input_files = ([spec.cohort] + parameters.csv_files + ([parameters.draw_file] if parameters.draw_file else [])
                   + finance_files + ([spec.sweep] if spec.sweep else []))
    store = OutputStore(spec.out, overwrite=spec.overwrite, resume=spec.resume, inputs=input_files,
                        identity=run_identity(spec, calendar, input_files, scenario_ids))
    inputs = RunInputs(out=str(spec.out), cohort=str(spec.cohort),
                       parameter_files=tuple(str(p) for p in parameters.csv_files),
                       finance_files=tuple(str(p) for p in finance_files),
                       draws=str(parameters.draw_file) if parameters.draw_file else None, start=spec.start,
                       months=spec.months, seed=spec.seed, record_flows=spec.record_flows, threads=spec.threads)
    runs = np.arange(spec.runs, dtype=np.int64)
    chunks = [runs[i:i + spec.chunk_size] for i in range(0, runs.size, spec.chunk_size)]
    n_scenarios = 1 + len(others) + (sweep.n_scenarios if sweep else 0)
    total_tasks = n_scenarios * len(chunks)
    finisher = ScenarioFinisher(store, calendar, len(chunks), modelled(fy_all, fy_complete))
    label = "baseline" if n_scenarios == 1 else f"{n_scenarios} scenarios"
    progress = Progress(f"{label} ({spec.backend})", enabled=spec.progress)
    done = [0]

    def on_result(result: TaskResult) -> None:
        finisher.add(result)
        done[0] += 1
        progress.update(done[0], total_tasks)

    def run_phase(plans: Iterator[PlannedScenario]) -> None:
        tasks = _tasks(plans, chunks, finisher)
        if spec.backend == "local":
            run_local(inputs, tasks, store, on_result)
        else:
            run_dask(worker_inputs_threads(inputs), tasks, DaskOptions(scheduler=spec.scheduler, workers=spec.workers), on_result)

    # Phase 1, the baseline: every other scenario's differences are taken against it.
    run_phase(iter([baseline]))
    others_iter: Iterator[PlannedScenario] = iter(others)
    if sweep is not None:
        others_iter = _chain(others_iter, _sweep_plans(sweep, finance))
    run_phase(others_iter)
    if finisher.resumed_tasks:
        log(f"resumed: {finisher.resumed_tasks} of {total_tasks} tasks were already written", file=sys.stderr)
    files = finisher.write_summaries()
    wall = time.perf_counter() - t_start
    manifest = base_manifest()
    manifest.update({
        "scenario": BASELINE if n_scenarios == 1 else None,
        "scenarios": [p["scenario"] for p in finisher.scenario_rows],
        "sweep": None if sweep is None else {"path": str(spec.sweep), "scenarios": sweep.n_scenarios,
                                             "factors": [f.lever for f in sweep.factors]},
        "seed": spec.seed,
        "runs": spec.runs,
        "chunk_size": spec.chunk_size,
        "start": calendar.label(0),
        "end": calendar.label(calendar.n_months - 1),
        "months": calendar.n_months,
        "threads": spec.threads,
        "backend": spec.backend,
        "inputs": {
            "cohort": {"path": str(spec.cohort), "sha256": sha256_file(spec.cohort)},
            "parameters": [{"path": str(p), "sha256": sha256_file(p)} for p in parameters.csv_files],
            "draws": None if parameters.draws is None else {"path": parameters.draws.file,
                                                            "sha256": sha256_file(parameters.draw_file),
                                                            "draws": parameters.draws.n_draws,
                                                            "columns": parameters.draws.columns},
            "finance": [{"path": str(p), "sha256": sha256_file(p)} for p in finance_files],
            "scenario_files": sorted({p.file for p in others} | ({str(spec.sweep)} if spec.sweep else set())),
        },
        "tables": sorted({"stock", "cost", "pipeline"} | finisher.tables | ({"flows"} if spec.record_flows else set())),
        "files": files,
        "money": (money_context(finisher.baseline_money, finance) if finisher.baseline_money else None),
        "wall_seconds": round(wall, 3),
        "kernel_seconds": round(finisher.kernel_seconds, 3),
        "child_months": finisher.child_months,
        "child_months_per_second": (round(finisher.child_months / finisher.kernel_seconds)
                                    if finisher.kernel_seconds > 0 else None),
        "bytes_written": finisher.bytes_written,
        "resumed_tasks": finisher.resumed_tasks,
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "pid": os.getpid(),
    })
    store.finish(manifest)
    aggregates = finisher.baseline_aggregates
    money = finisher.baseline_money
    differences = ""
    if finisher.difference_frames:
        differences = format_differences(pd.concat(finisher.difference_frames, ignore_index=True))
    return RunResult(manifest=manifest, aggregates=aggregates, summary=format_summary(aggregates), money=money,
                     deficit_summary=format_deficit(money, finance) if money else
                     "No complete financial year (April to March) in the run: no money outputs.",
                     differences=differences)


def _chain(*iterators):
    for iterator in iterators:
        yield from iterator
