"""Memory of one run of the engine: resident bytes it adds, per record of state.

Run as ``python -m benchmarks.memory [--size N]`` (a fresh process, so that nothing else
is in the way): it builds the workload (Kent, or the England-shaped cohort of ``N`` plans),
loads the compiled kernel with a tiny run, gives the C heap's free pages back to the system,
resets the process's peak resident size (Linux: ``/proc/self/clear_refs``), simulates one run
on one thread, and reads the new peak. The peak minus the resident size before the run,
minus the run's output arrays, is the memory the kernel allocated *and touched* for the
run's records: the struct of arrays (one slot per record the run may create: the cohort plus
a generous bound on entrants, ``simcore.engine.record_capacity``) and its work lists (pages
of a work list that a run never reaches are not resident and not counted). Linux only.
It prints one JSON object.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
from pathlib import Path

import numpy as np

from benchmarks.workloads import england_like, kent, kent_baseline, run_engine
from sendsim.simcore import codes
from sendsim.simcore.engine import record_capacity, simulate

BYTES_PER_KIB = 1024  # /proc/self/status reports sizes in KiB


def _status_kib(*keys: str) -> tuple[int, ...]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in keys:
            values[key] = int(rest.split()[0])
    return tuple(values[key] for key in keys)


def resident_kib() -> tuple[int, int]:
    """(current, peak) resident set size of this process, KiB (Linux)."""
    current, peak = _status_kib("VmRSS", "VmHWM")
    return current, peak


def reset_peak() -> None:
    """Make the peak resident size equal to the current one (Linux 4.0 and later)."""
    Path("/proc/self/clear_refs").write_text("5")


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``), so that the
    run's allocations cannot silently reuse pages that are resident already."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the measurement may then read low
        pass


def measure(size: int | None) -> dict:
    workload = kent_baseline() if size is None else england_like(size)
    # Load the compiled kernel first, with a run so small that the memory it frees cannot be
    # reused by the measured run (ten records for two months: a few kilobytes).
    tiny = kent(2)
    list(simulate(tiny.cohort.take(np.arange(10)), tiny.model, tiny.calendar, seed=1, runs=np.arange(1), threads=1))
    gc.collect()
    release_free_memory()
    rss_before, _ = resident_kib()
    reset_peak()
    timing = run_engine(workload, 1, 1, keep=True)
    _, peak = resident_kib()
    (chunk,) = timing.chunks
    output_bytes = sum(a.nbytes for a in (chunk.stock, chunk.flows, chunk.cost, chunk.measures, chunk.trace))
    added_bytes = (peak - rss_before) * BYTES_PER_KIB
    kernel_bytes = max(added_bytes - output_bytes, 0)
    capacity = record_capacity(workload.cohort, workload.model, workload.calendar.n_months)
    events = chunk.flows[0].sum(axis=(0, 2, 3))
    records_used = workload.cohort.n + int(events[codes.EV_REQUEST] + events[codes.EV_ARRIVAL])
    return {
        "workload": workload.name,
        "records_opening": workload.cohort.n,
        "records_used": records_used,
        "record_slots": capacity,
        "resident_before_bytes": rss_before * BYTES_PER_KIB,
        "added_by_run_bytes": added_bytes,
        "output_bytes": output_bytes,
        "kernel_bytes": kernel_bytes,
        "kernel_bytes_per_record_slot": kernel_bytes / capacity,
        "kernel_bytes_per_record_used": kernel_bytes / records_used,
        "run_seconds": timing.seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=None, help="England-shaped cohort of this many plans "
                        "(default: the Kent baseline)")
    print(json.dumps(measure(parser.parse_args(argv).size)))


if __name__ == "__main__":
    main()
