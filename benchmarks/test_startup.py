"""Compiling and starting the engine: a fresh process with a cold numba cache (everything is
compiled), the same with the cache it just filled, and with the repository's own cache.

Each measurement is a new process (``python -m benchmarks.startup``); the cold one points
``NUMBA_CACHE_DIR`` at an empty folder, so it neither uses nor disturbs the repository's cache.
It takes about a minute of one core.
"""
from __future__ import annotations

from benchmarks.gate import warm_start

TARGET_WARM_START_SECONDS = 1.0  # target: start-up with a warm numba cache under 1 second
COLD_TIMEOUT_SECONDS = 900.0     # a loaded 2-core machine may take several minutes


def test_measure_compile_cold_then_warm(benchmark, report, tmp_path):
    cache = str(tmp_path / "numba-cache")
    cold = warm_start(timeout_seconds=COLD_TIMEOUT_SECONDS, cache_dir=cache)
    warm = benchmark.pedantic(warm_start, kwargs={"cache_dir": cache}, rounds=3, iterations=1)
    benchmark.extra_info.update({"cold": cold, "warm": warm})
    report.add("compile, cold cache: first engine call", cold["first_call_seconds"], "s")
    report.add("compile, cold cache: whole process", cold["process_seconds"], "s")
    report.add("start-up, warm cache: first engine call (load from cache)", warm["first_call_seconds"], "s")
    report.add("start-up, warm cache: import numpy + numba", warm["import_numpy_numba_seconds"], "s")
    report.add("start-up, warm cache: engine ready (imports + first call)", warm["engine_ready_seconds"], "s",
               f"< {TARGET_WARM_START_SECONDS:g} s", warm["engine_ready_seconds"] < TARGET_WARM_START_SECONDS)
    report.add("start-up, warm cache: whole process (interpreter start to exit)", warm["process_seconds"], "s")
    report.add("start-up, warm cache: kernel cache misses (0: cache reused)", warm["cache_misses"], "",
               "0", warm["cache_misses"] == 0)


def test_measure_start_with_the_repository_cache(benchmark, report):
    warm_start()  # make sure the repository's cache holds the engine
    warm = benchmark.pedantic(warm_start, rounds=3, iterations=1)
    report.add("start-up, repository cache: engine ready", warm["engine_ready_seconds"], "s",
               f"< {TARGET_WARM_START_SECONDS:g} s", warm["engine_ready_seconds"] < TARGET_WARM_START_SECONDS)
