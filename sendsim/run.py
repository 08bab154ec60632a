"""`sendsim run`: load inputs, compile, simulate chunk by chunk, write tables, summarise."""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inputs.cohort import load_cohort
from inputs.defaults import KENT_COHORT, KENT_PARAMETERS
from inputs.draws import Draws, is_draws_file, load_draws, parameter_sets_for_draws
from inputs.errors import InputError
from inputs.finance import KENT_FINANCE, FinanceInputs, load_finance, reject_price_growth
from inputs.parameters import ParameterRow, build_parameter_set, check_dates_in_run, read_parameter_rows
from outputs.finance import (MoneyResult, check_money_inputs, format_deficit, modelled, money_context, money_files,
                             run_money)
from outputs.manifest import base_manifest, sha256_file, sha256_model
from outputs.store import OutputStore, check_scenario_name
from outputs.summary import RunAggregates, format_summary
from outputs.tables import chunk_tables
from sendsim.progress import Progress
from simcore.engine import Calendar, simulate
from simcore.model import ModelArrays, compile_model


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
    scenario: str = "baseline"
    threads: int | None = None
    chunk_size: int = 64
    overwrite: bool = False
    resume: bool = False
    record_flows: bool = True
    progress: bool = True

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.start[0], self.start[1], self.months)


@dataclass
class RunResult:
    manifest: dict
    aggregates: RunAggregates
    summary: str
    money: MoneyResult | None = None
    deficit_summary: str = ""


@dataclass
class Parameters:
    """The run's parameters: baseline rows (Kent plus CSV overrides), and optional draws."""

    files: list[Path]
    rows: list[ParameterRow]
    base_set: dict
    draws: Draws | None
    base_model: ModelArrays | None

    def model_for(self, runs: np.ndarray, calendar: Calendar) -> tuple[ModelArrays, np.ndarray | None]:
        """The compiled model for a chunk of runs and each run's parameter set index."""
        if self.draws is None:
            return self.base_model, None
        sets = parameter_sets_for_draws(self.rows, self.draws, runs, calendar, self.base_set)
        return compile_model(sets, calendar.n_months, calendar.start_calendar_month), np.arange(runs.size)


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
    base_model = None
    if draw_files:
        draws = load_draws(draw_files[0])
        reject_price_growth([], draws.columns, draws.file)
        if draws.n_draws < spec.runs:
            raise InputError(draws.file, f"has {draws.n_draws} draws but --runs is {spec.runs}: run r uses draw r")
        # Check every draw now (a bad draw must not stop a run half way).
        for start in range(0, spec.runs, 256):
            parameter_sets_for_draws(rows, draws, np.arange(start, min(spec.runs, start + 256)), calendar, base_set)
    else:
        base_model = compile_model([base_set], calendar.n_months, calendar.start_calendar_month)
    return Parameters(csv_files + draw_files, rows, base_set, draws, base_model)


def run_identity(spec: RunSpec, calendar: Calendar, input_files: list[Path]) -> dict:
    """What makes two runs write the same tables: kept in the output folder while a run is
    written, so that --resume refuses to finish a run with different options or inputs."""
    from simcore.rng import RNG_SCHEME_VERSION
    return {"scenario": spec.scenario, "seed": spec.seed, "runs": spec.runs, "chunk_size": spec.chunk_size,
            "start": calendar.label(0), "months": calendar.n_months, "flows": spec.record_flows,
            "inputs_sha256": [sha256_file(p) for p in input_files], "rng_scheme_version": RNG_SCHEME_VERSION}


def execute(spec: RunSpec, log=print) -> RunResult:
    """Run a simulation as ``spec`` says and write its output folder."""
    t_start = time.perf_counter()
    check_scenario_name(spec.scenario)
    if spec.runs < 1:
        raise ValueError("--runs must be at least 1")
    calendar = spec.calendar
    # Inputs are validated completely before anything is written.
    finance_files = [KENT_FINANCE] + list(spec.finance)
    finance = load_finance(finance_files)
    fy_all = np.unique(calendar.financial_years())
    fy_complete = np.array([(calendar.financial_years() == y).sum() == 12 for y in fy_all])
    check_money_inputs(finance, fy_all, fy_complete)
    parameters = load_parameters(spec, calendar, finance)
    cohort, _ = load_cohort(spec.cohort, calendar)
    store = OutputStore(spec.out, overwrite=spec.overwrite, resume=spec.resume,
                        identity=run_identity(spec, calendar, [spec.cohort] + parameters.files + finance_files))
    runs = np.arange(spec.runs, dtype=np.int64)
    chunks = [runs[i:i + spec.chunk_size] for i in range(0, runs.size, spec.chunk_size)]
    aggregates = RunAggregates(calendar)
    todo = []
    for c in chunks:
        if store.chunk_done(spec.scenario, int(c[0]), int(c[-1])):
            aggregates.add(store.chunk_figures(spec.scenario, int(c[0]), int(c[-1])))
        else:
            todo.append(c)
    skipped = sum(c.size for c in chunks) - sum(c.size for c in todo)
    if skipped:
        log(f"resuming: {skipped} runs already written, {runs.size - skipped} to go", file=sys.stderr)
    progress = Progress(f"{spec.scenario}", enabled=spec.progress)
    bytes_written = 0
    child_months = 0
    kernel_seconds = 0.0
    pending: list[Future] = []

    def write(chunk, figures) -> int:
        tables = chunk_tables(chunk, spec.scenario, calendar)
        return store.write_chunk(spec.scenario, int(chunk.runs[0]), int(chunk.runs[-1]), tables, figures)

    # Writing a chunk overlaps with simulating the next one (the kernel releases the GIL).
    with ThreadPoolExecutor(max_workers=1) as writer:
        done = skipped
        for chunk_runs in todo:
            model, sets = parameters.model_for(chunk_runs, calendar)
            for chunk in simulate(cohort, model, calendar, seed=spec.seed, runs=chunk_runs,
                                  parameter_set_of_run=sets, chunk_size=spec.chunk_size, threads=spec.threads,
                                  record_flows=spec.record_flows):
                kernel_seconds += chunk.seconds
                child_months += chunk.child_months
                figures = aggregates.of_chunk(chunk)
                aggregates.add(figures)
                while len(pending) >= 2:  # at most two chunks in memory: flat in the number of runs
                    bytes_written += pending.pop(0).result()
                pending.append(writer.submit(write, chunk, figures))
                done += chunk.runs.size
                progress.update(done, runs.size)
        while pending:
            bytes_written += pending.pop(0).result()
    aggregates = aggregates.sorted_by_run()
    # The money model: computed from the per-run aggregates, written through the store so that
    # it is moved into place with the engine's tables (crash-safe; a resumed run recomputes it).
    # Runs shorter than a financial year have no money outputs.
    money = None
    if modelled(fy_all, fy_complete):
        money = run_money(finance, np.concatenate(aggregates.runs), aggregates.financial_years,
                          aggregates.complete_mask(), np.concatenate(aggregates.spend_by_fy_placement),
                          aggregates.plans_by_financial_year())
    for relative, data in (money_files(money, spec.scenario) if money else {}).items():
        store.write_file(relative, data)
    wall = time.perf_counter() - t_start
    manifest = base_manifest()
    manifest.update({
        "scenario": spec.scenario,
        "seed": spec.seed,
        "runs": spec.runs,
        "chunk_size": spec.chunk_size,
        "start": calendar.label(0),
        "end": calendar.label(calendar.n_months - 1),
        "months": calendar.n_months,
        "threads": spec.threads,
        "inputs": {
            "cohort": {"path": str(spec.cohort), "sha256": sha256_file(spec.cohort), "records": cohort.n},
            "parameters": [{"path": str(p), "sha256": sha256_file(p)} for p in parameters.files],
            "draws": None if parameters.draws is None else {"path": parameters.draws.file,
                                                            "draws": parameters.draws.n_draws,
                                                            "columns": parameters.draws.columns},
            "finance": [{"path": str(p), "sha256": sha256_file(p)} for p in finance_files],
            "compiled_parameters_sha256": (sha256_model(parameters.base_model) if parameters.base_model is not None
                                           else None),
        },
        "tables": sorted(["stock", "cost", "pipeline"] + (["deficit", "finance"] if money else [])
                         + (["flows"] if spec.record_flows else [])),
        "files": ["summary.parquet"] if money else [],
        "money": money_context(money, finance) if money else None,
        "wall_seconds": round(wall, 3),
        "kernel_seconds": round(kernel_seconds, 3),
        "child_months": child_months,
        "child_months_per_second": round(child_months / kernel_seconds) if kernel_seconds > 0 else None,
        "bytes_written": bytes_written,
        "resumed_runs": skipped,
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "pid": os.getpid(),
    })
    store.finish(manifest)
    return RunResult(manifest=manifest, aggregates=aggregates, summary=format_summary(aggregates), money=money,
                     deficit_summary=format_deficit(money, finance) if money else
                     "No complete financial year (April to March) in the run: no money outputs.")
