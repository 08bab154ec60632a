"""Engine start-up in a fresh process: imports, then the first call of the compiled engine.

Run as ``python -m benchmarks.startup`` (the benchmarks run it in a subprocess, with the numba
cache warm or, with ``NUMBA_CACHE_DIR`` pointing at an empty folder, cold). It prints one JSON
object: seconds spent importing numpy and numba, importing the engine, and in the first
``simulate`` call on a one-child cohort with the Kent parameters (loading, or compiling, the
kernel: the run itself takes microseconds), "engine ready" (the imports and the first call,
the time to read the parameters left out) in wall and in CPU time, and the kernel's numba cache
hits and misses in this process (a miss with a warm cache means the cache was not reused).
"""
from __future__ import annotations

import json
import time

_T0 = time.perf_counter()
_C0 = time.process_time()  # CPU time of the interpreter's own start-up is before this: small


def main() -> None:
    import numba  # noqa: F401  (timed on its own: numba's import is a large part of start-up)
    import numpy as np

    t_numba, c_numba = time.perf_counter(), time.process_time()
    from sendsim.inputs.defaults import KENT_PARAMETERS
    from sendsim.inputs.parameters import build_parameter_set, read_parameter_rows
    from sendsim.simcore import codes
    from sendsim.simcore.engine import Calendar, Cohort, simulate
    from sendsim.simcore.kernel import simulate_chunk
    from sendsim.simcore.model import compile_model

    t_engine, c_engine = time.perf_counter(), time.process_time()
    calendar = Calendar(2024, 1, 2)
    model = compile_model([build_parameter_set(read_parameter_rows(KENT_PARAMETERS), calendar)],
                          calendar.n_months, calendar.start_calendar_month)
    cohort = Cohort(child_key=np.array([1]), birth_month=np.array([2014 * 12]), placement=np.array([codes.MAINSTREAM]),
                    need=np.array([0]), status=np.array([codes.ACTIVE]), months_since_review=np.array([0]),
                    stage_months=np.array([0]), waiting_for=np.array([codes.NO_WAIT]), annual_cost_gbp=np.array([-1]))
    t_inputs, c_inputs = time.perf_counter(), time.process_time()
    (chunk,) = simulate(cohort, model, calendar, seed=1, runs=np.arange(1))
    t_first, c_first = time.perf_counter(), time.process_time()
    stats = simulate_chunk.stats
    print(json.dumps({
        "import_numpy_numba_seconds": t_numba - _T0,
        "import_numpy_numba_cpu_seconds": c_numba - _C0,
        "import_engine_seconds": t_engine - t_numba,
        "parameters_seconds": t_inputs - t_engine,
        "first_call_seconds": t_first - t_inputs,
        "engine_ready_seconds": (t_numba - _T0) + (t_engine - t_numba) + (t_first - t_inputs),
        # The same in CPU time of the process: what start-up costs on an otherwise idle core.
        "engine_ready_cpu_seconds": (c_engine - _C0) + (c_first - c_inputs),
        "cache_hits": int(sum(stats.cache_hits.values())),
        "cache_misses": int(sum(stats.cache_misses.values())),
        "child_months": int(chunk.child_months),
    }))


if __name__ == "__main__":
    main()
