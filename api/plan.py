"""A run's plan: the memory, disk and time it needs, checked before anything is written.

A run that cannot finish (more memory than the machine has free, more disk than the output
folder's file system has, more threads than numba can use, a Dask scheduler that does not
answer) is refused with a one-line message naming what to change, before the output folder
is created: nothing is left behind that would block the next run.

The estimates are deliberately generous upper bounds from the engine's own array sizes
(memory) and from output sizes measured on the Kent baseline (disk): a run refused here would
have failed; a run accepted may still fail for reasons outside sendsim (the disk filling up
with other files), and then stops with a message and can be finished with ``--resume``.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numba

from sendsim.inputs.errors import InputError
from sendsim.inputs.resolve import ResolvedRun
from sendsim.simcore import codes

# Bytes of engine state per record slot and run being simulated: the record arrays (about 30
# resident) plus the work lists (about 29), rounded up (docs/benchmarks.md).
STATE_BYTES_PER_RECORD = 64
# Memory of the Python process before any run: numba, numpy, pandas, pyarrow, the inputs.
BASE_PROCESS_BYTES = 600 * 1024**2
# Chunks alive at once: the one being simulated, the one being written, and the tables built
# from it (long tables about as large again as the dense arrays).
CHUNK_COPIES = 3
# Parquet bytes per run, month and scenario measured on the Kent baseline (34 kB per run of
# 51 months with every table), with a factor 3 of headroom for larger or busier cohorts.
DISK_BYTES_PER_RUN_MONTH = 3 * 34_000 / 51
# Child-months a second a core does at worst on this kind of machine (docs/benchmarks.md).
SLOW_CHILD_MONTHS_PER_SECOND = 20e6


@dataclass(frozen=True)
class RunPlan:
    """What a run needs (upper bounds) and what the machine offers."""

    memory_bytes: int
    memory_free_bytes: int | None
    disk_bytes: int
    disk_free_bytes: int | None
    child_months: int
    seconds_estimate: float


def _available_memory() -> int | None:
    """Memory available to a new allocation (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _free_disk(folder: Path) -> int | None:
    """Free bytes on the file system the output folder will be on."""
    probe = Path(folder).resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def plan_run(resolved: ResolvedRun) -> RunPlan:
    """The upper bounds of a run's memory, disk and time (see the module docstring)."""
    spec, calendar = resolved.spec, resolved.calendar
    months = calendar.n_months
    chunk_runs = min(spec.chunk_size, spec.runs)
    cells = (codes.N_AGE_BANDS * codes.N_PLACEMENTS * codes.N_NEEDS * 4 + codes.N_PLACEMENTS * 8
             + codes.N_MEASURES * 8)
    if spec.record_flows:
        cells += codes.N_EVENTS * (codes.N_PLACEMENTS + 1) ** 2 * 4
    chunk_bytes = chunk_runs * months * cells
    # Records a run can hold: the cohort plus the entrants its rates allow over the months (the
    # engine allocates a bound of this order per run being simulated).
    rates = resolved.base_set["request_rate"].values.sum(axis=-1).max() + resolved.base_set[
        "arrival_rate"].values.sum(axis=-1).max()
    growth = max(1.0, float(resolved.base_set["request_growth"].values.max()) + 1.0) ** (months / 12.0)
    records = resolved.cohort.n + rates * growth * months * 1.5 + 64
    threads = spec.threads or numba.config.NUMBA_NUM_THREADS
    state_bytes = threads * records * STATE_BYTES_PER_RECORD
    memory = int(BASE_PROCESS_BYTES + CHUNK_COPIES * chunk_bytes + state_bytes)
    scale = min(3.0, max(1.0, resolved.cohort.n / 20_000))
    disk = int(spec.runs * resolved.n_scenarios * months * DISK_BYTES_PER_RUN_MONTH * scale)
    child_months = int(spec.runs * resolved.n_scenarios * months * resolved.cohort.n)
    seconds = child_months / (SLOW_CHILD_MONTHS_PER_SECOND * max(1, threads))
    return RunPlan(memory, _available_memory(), disk, _free_disk(spec.out), child_months, seconds)


def _gb(n: int) -> str:
    return f"{n / 1024**3:,.1f} GB"


def check_run_plan(resolved: ResolvedRun) -> RunPlan:
    """Refuse a run that cannot finish on this machine (InputError naming what to change)."""
    spec = resolved.spec
    available = numba.config.NUMBA_NUM_THREADS
    if spec.threads is not None and spec.threads > available:
        raise InputError("--threads", f"{spec.threads} is more than the {available} threads numba can use on this "
                         f"machine; give at most {available}")
    plan = plan_run(resolved)
    if plan.memory_free_bytes is not None and plan.memory_bytes > plan.memory_free_bytes:
        raise InputError("--chunk-size", f"this run would need about {_gb(plan.memory_bytes)} of memory and "
                         f"{_gb(plan.memory_free_bytes)} is free: use a smaller --chunk-size (now "
                         f"{spec.chunk_size}), fewer --threads or fewer --months")
    if plan.disk_free_bytes is not None and plan.disk_bytes > plan.disk_free_bytes:
        raise InputError("--runs", f"this run would write up to {_gb(plan.disk_bytes)} and the file system of "
                         f"{spec.out} has {_gb(plan.disk_free_bytes)} free: use fewer --runs (now {spec.runs:,}) or "
                         "scenarios, --no-flows, or another --out")
    if spec.backend == "dask" and spec.scheduler:
        check_scheduler(spec.scheduler)
    return plan


def check_scheduler(address: str, timeout_seconds: float = 10.0) -> None:
    """The Dask scheduler at ``address`` answers (InputError otherwise)."""
    if not address.startswith(("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")):
        raise InputError("--scheduler", f"{address!r} is not a scheduler address like tcp://HOST:8786")
    from distributed import Client

    try:
        client = Client(address, timeout=timeout_seconds)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError("--scheduler", f"cannot reach the Dask scheduler at {address} ({type(error).__name__}: "
                         f"{error}); start it, or run without --scheduler for a local cluster") from None
    client.close()
