"""Run a spec: resolve its inputs once, run every (scenario, chunk of runs) task on a backend,
then per scenario the money model and the paired differences against the baseline; write
everything through the crash-safe output store.

Scenarios are run in two phases, the baseline first, and each scenario is finished (money,
differences, summaries) as soon as its last task is done, so memory is flat in the number of
runs and of scenarios.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from sendsim.api.engine_cache import COMPILE_NOTICE, engine_is_compiled
from sendsim.api.plan import check_run_plan
from sendsim.api.progress import Progress
from sendsim.api.tasks import DaskOptions, Runner, Task, TaskResult, run_dask, run_local, worker_inputs
from sendsim.inputs.mitigations import Mitigation, describe
from sendsim.inputs.reference import ehcp_reference
from sendsim.inputs.resolve import BASELINE, ResolvedRun, RunSpec, ScenarioPlan, resolve_run
from sendsim.money.model import MoneyResult, run_money_grouped
from sendsim.outputs.manifest import base_manifest
from sendsim.outputs.mitigation_log import build_log, format_log, log_summary, log_table
from sendsim.outputs.money_tables import (
    exceedance_frame,
    format_deficit,
    money_context,
    money_files,
    parquet_bytes,
    summary_frame,
)
from sendsim.outputs.scenarios import difference_file, difference_summary, format_differences
from sendsim.outputs.store import OutputStore, check_scenario_name, table_folder
from sendsim.outputs.summary import RunAggregates, format_summary
from sendsim.outputs.tables import with_scenario
from sendsim.simcore.rng import RNG_SCHEME_VERSION

Log = Callable[..., None]
# Notices (the engine compiling, a resumed run, each task with --verbose) go to this logger; the
# command line shows them on standard error and, with --log FILE, writes them with timestamps.
logger = logging.getLogger("sendsim.api")


@dataclass
class RunResult:
    """What a run returns besides its output folder: the manifest, the baseline's per-run
    figures and money, and the texts ``sendsim run`` prints."""

    manifest: dict
    aggregates: RunAggregates
    summary: str
    money: MoneyResult | None = None
    deficit_summary: str = ""
    differences: str = ""
    mitigations: str = ""


def mitigation_record(mitigation: Mitigation) -> dict:
    """What the outputs say of a mitigation (manifest; the DSG management plan's workstream log)."""
    return {"name": mitigation.name, "description": mitigation.description, "source": mitigation.source,
            "start": f"{mitigation.start[0]:04d}-{mitigation.start[1]:02d}", "ramp_months": mitigation.ramp_months,
            "delivery": mitigation.delivery, "delivery_source": mitigation.delivery_source,
            "effect": describe(mitigation)}


def run_identity(resolved: ResolvedRun) -> dict:
    """What makes two runs write the same tables: kept in the output folder while a run is
    written, so that --resume refuses to finish a run with different options or inputs."""
    spec, calendar = resolved.spec, resolved.calendar
    return {"scenarios": resolved.scenario_ids(), "seed": spec.seed, "runs": spec.runs, "chunk_size": spec.chunk_size,
            "start": calendar.label(0), "months": calendar.n_months, "flows": spec.record_flows,
            "inputs_sha256": sorted(f.sha256 for f in resolved.files), "rng_scheme_version": RNG_SCHEME_VERSION}


class ScenarioFinisher:
    """Collects each scenario's per-run figures as its tasks finish; when a scenario is
    complete, computes its money outputs and its paired differences against the baseline,
    writes them, keeps a few headline numbers and drops the per-run figures."""

    def __init__(self, store: OutputStore, resolved: ResolvedRun, n_chunks: int) -> None:
        self.store = store
        self.resolved = resolved
        calendar, modelled_money = resolved.calendar, resolved.money_modelled
        self.calendar = calendar
        self.n_chunks = n_chunks
        self.modelled_money = modelled_money
        self.plans: dict[str, ScenarioPlan] = {}
        self.figures: dict[str, list[dict]] = {}
        self.summary_frames: list[pd.DataFrame] = []
        self.exceedance_frames: list[pd.DataFrame] = []
        self.difference_frames: list[pd.DataFrame] = []
        self.mitigation_frames: list[pd.DataFrame] = []
        self.mitigations: dict[str, list[dict]] = {}  # scenario -> its mitigations, for the manifest
        self.scenario_rows: list[dict] = []
        self.baseline_aggregates: RunAggregates | None = None
        self.baseline_money: MoneyResult | None = None
        self.child_months = 0
        self.kernel_seconds = 0.0
        self.bytes_written = 0
        self.resumed_tasks = 0
        self.tables: set[str] = set()

    def expect(self, plan: ScenarioPlan) -> None:
        """Register a scenario whose task results will arrive."""
        self.plans[plan.name] = plan
        self.figures[plan.name] = []

    def add(self, result: TaskResult) -> None:
        """Take in one task's result: its figures and its counts."""
        self.child_months += result.child_months
        self.kernel_seconds += result.kernel_seconds
        self.bytes_written += result.bytes_written
        self.resumed_tasks += int(result.skipped)
        figures = self.figures[result.scenario]
        figures.append(result.figures)
        if len(figures) == self.n_chunks:
            self._finish(self.plans.pop(result.scenario), self.figures.pop(result.scenario))

    def _aggregates(self, figures: list[dict], prefix: str = "") -> RunAggregates:
        aggregates = RunAggregates(self.calendar)
        for f in figures:
            aggregates.add({name: f[prefix + name] for name in RunAggregates.FIGURES})
        return aggregates.sorted_by_run()

    def _money(self, plan: ScenarioPlan, aggregates: RunAggregates, stage: int | None) -> MoneyResult:
        runs = np.concatenate(aggregates.runs)
        books, group = self.resolved.run_books(plan, runs, stage)
        return run_money_grouped(books, group, runs, aggregates.financial_years, aggregates.complete_mask(),
                                 seed=self.resolved.spec.seed, **aggregates.money_inputs())

    def _finish(self, plan: ScenarioPlan, figures: list[dict]) -> None:
        aggregates = self._aggregates(figures)
        row = {"scenario": plan.name, "description": plan.description, "source": plan.file,
               "first_effective": (f"{plan.first_effective[0]:04d}-{plan.first_effective[1]:02d}"
                                   if plan.first_effective else None)}
        row.update({f"sweep_{lever}": value for lever, value in (plan.sweep_point or {}).items()})
        self.scenario_rows.append(row)
        money = None
        if self.modelled_money:
            money = self._money(plan, aggregates, None)
            for relative, data in money_files(money, plan.name).items():
                if relative != "summary.parquet":  # one summary for every scenario, written at the end
                    self.store.write_file(relative, data)
            self.tables.update(("deficit", "finance"))
            self.summary_frames.append(summary_frame(money, plan.name))
            self.exceedance_frames.append(exceedance_frame(money, plan.name))
            if plan.mitigations:
                self._log(plan, figures, money)
                self.mitigations[plan.name] = [mitigation_record(m) for m in plan.mitigations]
        if plan.name == BASELINE:
            self.baseline_aggregates = aggregates
            self.baseline_money = money
        elif money is not None and self.baseline_money is not None:
            self.store.write_file(*difference_file(money, self.baseline_money, plan.name))
            self.tables.add("difference")
            self.difference_frames.append(difference_summary(money, self.baseline_money, plan.name))

    def _log(self, plan: ScenarioPlan, figures: list[dict], money: MoneyResult) -> None:
        """The mitigation log of a scenario: the money of each stage, savings by subtraction."""
        stages = [self._money(plan, self._aggregates(figures, f"stage{k}:"), k) for k in plan.stages()[:-1]]
        stages.append(money)
        levers = bool(plan.rows) or plan.n_finance_rows > 0
        if levers and self.baseline_money is None:
            raise RuntimeError("a scenario with levers and mitigations needs the baseline's money first")
        log = build_log(plan.name, stages, [m.name for m in plan.mitigations], [m.delivery for m in plan.mitigations],
                        self.resolved.delivered(plan, money.runs), self.baseline_money if levers else None)
        self.store.write_file(f"{table_folder('mitigation_log', plan.name)}/runs-{int(money.runs.min()):06d}-"
                              f"{int(money.runs.max()):06d}.parquet", parquet_bytes(with_scenario(log_table(log),
                                                                                                  plan.name)))
        self.tables.add("mitigation_log")
        self.mitigation_frames.append(log_summary(log))

    def write_summaries(self) -> list[str]:
        """Write the run's summary tables; return the files written."""
        files = []
        if self.summary_frames:
            frame = pd.concat(self.summary_frames, ignore_index=True)
            # What the quantiles hold, in every row (a reader of the table alone must know).
            frame["intervals_hold"] = uncertainty(self.resolved)["bands"]
            self.store.write_file("summary.parquet", parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False)))
            files.append("summary.parquet")
            frame = pd.concat(self.exceedance_frames, ignore_index=True)
            self.store.write_file("exceedance.parquet",
                                  parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False)))
            files.append("exceedance.parquet")
        if self.difference_frames:
            frame = pd.concat(self.difference_frames, ignore_index=True)
            self.store.write_file("difference_summary.parquet",
                                  parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False)))
            files.append("difference_summary.parquet")
        if self.mitigation_frames:
            frame = pd.concat(self.mitigation_frames, ignore_index=True)
            self.store.write_file("mitigation_summary.parquet",
                                  parquet_bytes(pa.Table.from_pandas(frame, preserve_index=False)))
            files.append("mitigation_summary.parquet")
        scenarios = pd.DataFrame(self.scenario_rows)
        self.store.write_file("scenarios.parquet", parquet_bytes(pa.Table.from_pandas(scenarios, preserve_index=False)))
        files.append("scenarios.parquet")
        return files


def _tasks(plans: Iterator[ScenarioPlan], chunks: list[np.ndarray], finisher: ScenarioFinisher) -> Iterator[Task]:
    for plan in plans:
        check_scenario_name(plan.name)
        finisher.expect(plan)
        for chunk in chunks:
            yield Task(plan.name, plan.table_json, plan.file, int(chunk[0]), int(chunk[-1]))


def _inputs_manifest(resolved: ResolvedRun) -> dict:
    """The inputs as the run read them: each file's path and the SHA-256 of the bytes read."""
    hashes = resolved.file_hashes()
    spec = resolved.spec

    def entry(path: Path) -> dict:
        return {"path": str(path), "sha256": hashes[str(path)]}

    draws_path = spec.draws_file()
    return {
        "cohort": entry(spec.cohort),
        "parameters": [entry(p) for p in spec.parameter_files()],
        "draws": None if resolved.draws is None or draws_path is None else {
            **entry(draws_path), "draws": resolved.draws.n_draws, "columns": resolved.draws.columns},
        "finance": [entry(p) for p in spec.finance_files()],
        "scenario_files": sorted({p.file for p in resolved.scenarios}
                                 | ({str(spec.sweep)} if spec.sweep else set())),
        "files_read": [{"role": f.role, "path": f.path, "sha256": f.sha256} for f in resolved.files],
    }


def uncertainty(resolved: ResolvedRun) -> dict:
    """What the spread over runs holds: Monte Carlo noise always; parameter uncertainty when
    each run has its own parameter draw. Every table, chart and text that shows intervals says
    which (readers take ``bands``)."""
    draws, central = resolved.draws, resolved.central_of
    if draws is not None:
        source = "fitted draws" if not resolved.spec.draws_given() else "the given draws"
        repeat = (f"; run r uses draw r modulo {draws.n_draws}" if resolved.spec.runs > draws.n_draws
                  else "; run r uses draw r")
        bands = (f"parameter uncertainty ({source}, {draws.n_draws:,} draws{repeat}) and Monte Carlo noise")
        parameters = "draws"
    elif central is not None:
        bands = (f"Monte Carlo noise only (every run uses the central values: the means of the "
                 f"{central.n_draws:,} draws of {Path(central.file).name})")
        parameters = "central values"
    else:
        bands = "Monte Carlo noise only (one parameter set for every run: the base parameters, no fitted draws)"
        parameters = "base"
    return {"monte_carlo": True, "parameters": draws is not None, "parameter_source": parameters,
            "draws_file": draws.file if draws is not None else (central.file if central is not None else None),
            "bands": bands}


def execute(spec: RunSpec, log: Log | None = None) -> RunResult:
    """Run a simulation as ``spec`` says and write its output folder.

    Every input is read, checked and hashed first (:func:`~sendsim.inputs.resolve.resolve_run`);
    nothing is written before that has succeeded. Notices go to the ``sendsim.api`` logger
    (``logging.basicConfig(level=logging.INFO)`` shows them in a notebook) and, if given, to
    ``log`` (called with the text).
    """
    def notice(text: str) -> None:
        logger.info(text)
        if log is not None:
            log(text)

    t_start = time.perf_counter()
    resolved = resolve_run(spec)
    calendar = resolved.calendar
    for scenario_plan in [resolved.baseline] + resolved.scenarios:
        check_scenario_name(scenario_plan.name)
    # What the run needs, against what the machine has: refused now, before anything is written.
    plan = check_run_plan(resolved)
    logger.debug("plan: %s", plan)
    input_paths = [Path(f.path) for f in resolved.files]
    store = OutputStore(spec.out, overwrite=spec.overwrite, resume=spec.resume, inputs=input_paths,
                        identity=run_identity(resolved))
    try:
        runs = np.arange(spec.runs, dtype=np.int64)
        chunks = [runs[i:i + spec.chunk_size] for i in range(0, runs.size, spec.chunk_size)]
        n_scenarios = resolved.n_scenarios
        total_tasks = n_scenarios * len(chunks)
        finisher = ScenarioFinisher(store, resolved, len(chunks))
        label = "baseline" if n_scenarios == 1 else f"{n_scenarios} scenarios"
        progress = Progress(f"{label} ({spec.backend})", enabled=spec.progress)
        done = [0]
        runner = Runner(resolved)
        if engine_is_compiled() is False:
            notice(COMPILE_NOTICE)
        progress.start(total_tasks)

        def on_result(result: TaskResult) -> None:
            finisher.add(result)
            done[0] += 1
            logger.debug("task done: %s runs %d-%d%s (%.2f s in the engine)", result.scenario, result.first_run,
                         result.last_run, " (written before: resumed)" if result.skipped else "", result.kernel_seconds)
            progress.update(done[0], total_tasks)

        def run_phase(plans: Iterator[ScenarioPlan]) -> None:
            tasks = _tasks(plans, chunks, finisher)
            if spec.backend == "local":
                run_local(runner, tasks, store, spec.threads, on_result)
            else:
                run_dask(worker_inputs(resolved), tasks, DaskOptions(scheduler=spec.scheduler, workers=spec.workers),
                         on_result)

        # Phase 1, the baseline: every other scenario's differences are taken against it.
        run_phase(iter([resolved.baseline]))
        run_phase(resolved.plans())
        if finisher.resumed_tasks:
            notice(f"resumed: {finisher.resumed_tasks} of {total_tasks} tasks were already written")
        files = finisher.write_summaries()
        wall = time.perf_counter() - t_start
        sweep = resolved.sweep
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
            "inputs": _inputs_manifest(resolved),
            "uncertainty": uncertainty(resolved),
            "tables": sorted({"stock", "cost", "pipeline"} | finisher.tables
                             | ({"flows"} if spec.record_flows else set())),
            "files": files,
            "money": (money_context(finisher.baseline_money, resolved.finance, calendar)
                      if finisher.baseline_money and resolved.finance is not None else None),
            "reference": ehcp_reference(spec.cohort),
            "mitigations": finisher.mitigations,
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
    finally:
        store.close()  # the lock goes with the run, finished or not (a notebook may try again)
    aggregates = finisher.baseline_aggregates
    assert aggregates is not None
    money = finisher.baseline_money
    differences = ""
    if finisher.difference_frames:
        differences = format_differences(pd.concat(finisher.difference_frames, ignore_index=True))
    mitigation_text = (format_log(pd.concat(finisher.mitigation_frames, ignore_index=True))
                       if finisher.mitigation_frames else "")
    return RunResult(manifest=manifest, aggregates=aggregates, summary=format_summary(aggregates), money=money,
                     mitigations=mitigation_text,
                     deficit_summary=format_deficit(money, resolved.finance)
                     if money and resolved.finance is not None else
                     "No complete financial year (April to March) in the run: no money outputs.",
                     differences=differences)
