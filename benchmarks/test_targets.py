"""End to end, as a user runs it: the default Kent baseline (1,000 runs, January 2024 to March
2028, every table written) with ``python -m sendsim run``, its wall time and peak memory; the
same with 100 runs (memory must not grow with the number of runs); and the memory one run's
records take (``benchmarks/memory.py``, per record of state).

Each is a fresh process; the peak resident size is that process's own (``os.wait4``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGET_BASELINE_SECONDS = 10.0  # target: 1,000 runs with every table written in at most 10 s (docs/benchmarks.md)
TARGET_BYTES_PER_RECORD = 64.0       # target: under 64 bytes of state per child record
FLAT_MEMORY_TOLERANCE = 1.10         # "flat": 1,000 runs within 10% of the peak of 100 runs
MEMORY_COHORT_SIZES = (None, 640_000)  # Kent; England-sized (state dominates fixed costs)


def run_process(arguments: list[str], cwd: Path) -> dict:
    """Run ``python ARGUMENTS`` in ``cwd``; wall seconds, peak resident bytes, stdout."""
    with open(cwd / "stdout.txt", "w+") as stdout, open(cwd / "stderr.txt", "w+") as stderr:
        t0 = time.perf_counter()
        process = subprocess.Popen([sys.executable, *arguments], cwd=ROOT, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - t0
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if process.returncode != 0:
        raise RuntimeError(f"python {' '.join(arguments)} failed ({process.returncode}):\n{err}")
    return {"seconds": seconds, "peak_bytes": usage.ru_maxrss * 1024, "stdout": out}


_PEAK: dict[int, int] = {}


@pytest.mark.parametrize("runs", (1_000, 100))
def test_measure_default_baseline_with_outputs(benchmark, report, tmp_path, runs):
    out = tmp_path / "out"
    arguments = ["-m", "sendsim", "run", "--runs", str(runs), "--out", str(out), "--quiet"]
    result = benchmark.pedantic(run_process, args=(arguments, tmp_path), rounds=1, iterations=1)
    manifest = json.loads((out / "manifest.json").read_text())
    _PEAK[runs] = result["peak_bytes"]
    benchmark.extra_info.update({"peak_bytes": result["peak_bytes"], "manifest": {
        k: manifest[k] for k in ("wall_seconds", "kernel_seconds", "child_months", "child_months_per_second",
                                 "bytes_written")}})
    label = f"sendsim run, Kent baseline, {runs:,} runs with outputs"
    if runs == 1_000:
        report.add(f"{label}: wall time", result["seconds"], "s", f"<= {TARGET_BASELINE_SECONDS:g} s",
                   result["seconds"] <= TARGET_BASELINE_SECONDS)
        report.add(f"{label}: kernel time", manifest["kernel_seconds"], "s")
        report.add(f"{label}: child-months per second (kernel, all cores)",
                   manifest["child_months_per_second"] / 1e6, "M")
        report.add(f"{label}: bytes written per run", manifest["bytes_written"] / runs / 1e3, "kB")
    else:
        report.add(f"{label}: wall time", result["seconds"], "s")
    flat = None
    if len(_PEAK) == 2:
        flat = _PEAK[1_000] <= FLAT_MEMORY_TOLERANCE * _PEAK[100]
    report.add(f"{label}: peak memory", result["peak_bytes"] / 2**20, "MiB",
               "flat in runs" if flat is not None else "", flat)


@pytest.mark.parametrize("size", MEMORY_COHORT_SIZES, ids=("kent", "england_640000"))
def test_measure_memory_per_record(benchmark, report, tmp_path, size):
    arguments = ["-m", "benchmarks.memory"] + ([] if size is None else ["--size", str(size)])
    result = benchmark.pedantic(run_process, args=(arguments, tmp_path), rounds=1, iterations=1)
    figures = json.loads(result["stdout"].strip().splitlines()[-1])
    benchmark.extra_info.update(figures)
    per_slot = figures["kernel_bytes_per_record_slot"]
    report.add(f"memory of one run, {figures['workload']}: resident bytes per record slot "
               f"({figures['record_slots']:,} slots)", per_slot, "B", f"< {TARGET_BYTES_PER_RECORD:g} B",
               per_slot < TARGET_BYTES_PER_RECORD)
