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
from inputs.parameters import load_parameter_set
from outputs.manifest import base_manifest, sha256_file, sha256_model
from outputs.store import OutputStore, check_scenario_name
from outputs.summary import RunAggregates, format_summary
from outputs.tables import chunk_tables
from sendsim.progress import Progress
from simcore.engine import Calendar, simulate
from simcore.model import compile_model


@dataclass
class RunSpec:
    """Everything that defines a run (and goes into its manifest)."""

    out: Path
    runs: int = 1000
    seed: int = 1
    start: tuple[int, int] = (2024, 1)
    months: int = 51
    cohort: Path = KENT_COHORT
    params: list[Path] = field(default_factory=list)  # applied on top of the Kent baseline
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

    @property
    def parameter_files(self) -> list[Path]:
        return [KENT_PARAMETERS] + list(self.params)


@dataclass
class RunResult:
    manifest: dict
    aggregates: RunAggregates
    summary: str


def execute(spec: RunSpec, log=print) -> RunResult:
    """Run a simulation as ``spec`` says and write its output folder."""
    t_start = time.perf_counter()
    check_scenario_name(spec.scenario)
    if spec.runs < 1:
        raise ValueError("--runs must be at least 1")
    calendar = spec.calendar
    # Inputs are validated completely before anything is written.
    parameter_set = load_parameter_set(spec.parameter_files, calendar)
    cohort, _ = load_cohort(spec.cohort, calendar)
    model = compile_model([parameter_set], calendar.n_months, calendar.start_calendar_month)
    store = OutputStore(spec.out, overwrite=spec.overwrite, resume=spec.resume)
    runs = np.arange(spec.runs, dtype=np.int64)
    chunks = [runs[i:i + spec.chunk_size] for i in range(0, runs.size, spec.chunk_size)]
    todo = [c for c in chunks if not store.chunk_done(spec.scenario, int(c[0]), int(c[-1]))]
    skipped = sum(c.size for c in chunks) - sum(c.size for c in todo)
    if skipped:
        log(f"resuming: {skipped} runs already written, {runs.size - skipped} to go", file=sys.stderr)
    progress = Progress(f"{spec.scenario}", enabled=spec.progress)
    aggregates = RunAggregates(calendar)
    bytes_written = 0
    child_months = 0
    kernel_seconds = 0.0
    pending: list[Future] = []

    def write(chunk) -> int:
        tables = chunk_tables(chunk, spec.scenario, calendar)
        return store.write_chunk(spec.scenario, int(chunk.runs[0]), int(chunk.runs[-1]), tables)

    # Writing a chunk overlaps with simulating the next one (the kernel releases the GIL).
    with ThreadPoolExecutor(max_workers=1) as writer:
        done = skipped
        for chunk_runs in todo:
            for chunk in simulate(cohort, model, calendar, seed=spec.seed, runs=chunk_runs,
                                  chunk_size=spec.chunk_size, threads=spec.threads, record_flows=spec.record_flows):
                kernel_seconds += chunk.seconds
                child_months += chunk.child_months
                aggregates.add(chunk)
                while len(pending) >= 2:  # at most two chunks in memory: flat in the number of runs
                    bytes_written += pending.pop(0).result()
                pending.append(writer.submit(write, chunk))
                done += chunk.runs.size
                progress.update(done, runs.size)
        while pending:
            bytes_written += pending.pop(0).result()
    # Aggregates of skipped chunks are recomputed from the written tables by readers; the
    # summary of a resumed run covers the runs simulated in this process.
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
            "parameters": [{"path": str(p), "sha256": sha256_file(p)} for p in spec.parameter_files],
            "compiled_parameters_sha256": sha256_model(model),
        },
        "tables": sorted(["stock", "cost", "pipeline"] + (["flows"] if spec.record_flows else [])),
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
    summary = format_summary(aggregates) if aggregates.runs else "(all runs were already written)"
    return RunResult(manifest=manifest, aggregates=aggregates, summary=summary)
