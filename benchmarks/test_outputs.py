"""Writing outputs: one chunk of Kent runs turned into the four long tables and written as
Parquet through the crash-safe store, as ``sendsim run`` does (there, while the next chunk is
simulated). Figures: Parquet rows per second and bytes per run."""
from __future__ import annotations

import itertools

import numba

from benchmarks.workloads import run_engine
from sendsim.outputs.store import OutputStore
from sendsim.outputs.tables import chunk_tables

CHUNK_RUNS = 64  # the default --chunk-size of `sendsim run`
SCENARIO = "baseline"


def test_measure_write_one_chunk(benchmark, kent, report, tmp_path):
    (chunk,) = run_engine(kent, CHUNK_RUNS, numba.config.NUMBA_NUM_THREADS, keep=True).chunks  # not timed
    folders = (tmp_path / f"out{k}" for k in itertools.count())

    def write() -> tuple[int, int]:
        store = OutputStore(next(folders))
        tables = chunk_tables(chunk, kent.calendar)
        written = store.write_chunk(SCENARIO, int(chunk.runs[0]), int(chunk.runs[-1]), tables)
        return sum(t.num_rows for t in tables.values()), written

    rows, written = benchmark.pedantic(write, rounds=5, warmup_rounds=1, iterations=1)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update({"rows": rows, "bytes": written})
    report.add("outputs: Parquet rows written per second (tables + zstd Parquet)", rows / seconds / 1e6, "M rows/s")
    report.add("outputs: rows per run", rows / CHUNK_RUNS, "rows")
    report.add("outputs: bytes per run", written / CHUNK_RUNS / 1e3, "kB")
    report.add("outputs: seconds to write 64 runs (overlaps the next chunk's simulation)", seconds, "s")
