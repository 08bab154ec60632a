"""The CI speed gate: two ratios, measured side by side, against committed floors.

``python -m benchmarks.gate [--out FILE] [--rounds N]`` measures, on the built-in Kent
baseline, in interleaved rounds (engine, NumPy reference, limit; the next round in reverse
order):

- the engine's child-months per second on one thread (``simcore.engine.simulate``);
- the NumPy reference's child-months per second (``benchmarks.numpy_reference``; one thread);
- the limit's draw-and-lookup operations per second on one thread (``benchmarks.limit``);

each per CPU-second of the process (``time.process_time``): on one thread that is the speed
of one core, and time spent waiting while other processes have the CPU is not counted (the
wall-clock rates are recorded too);

and from each round the two ratios:

- **speed-up over the NumPy reference** = engine rate / reference rate;
- **share of the limit** = engine rate x the engine's draws per child-month / limit rate
  (the draws are counted from the engine's own outputs of the same runs: ``benchmarks.draws``).

The figure of each ratio is its median over the rounds: a measurement disturbed by another
process on the machine spoils one round, not the figure, and a machine uniformly slower slows
the engine and its yardsticks alike. It also starts a fresh process to check that the
compiled engine is loaded from numba's cache (no recompilation) and times that start-up.

It writes every figure to a JSON file (default ``bench-figures.json``) and exits 1 when a
ratio falls below its floor in ``benchmarks/floors.json`` (or the cache was not reused).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from benchmarks.draws import engine_draw_counts
from benchmarks.limit import limit_workload, run_limit
from benchmarks.numpy_reference import simulate_numpy
from benchmarks.workloads import BENCHMARK_SEED, EngineTiming, Workload, kent_baseline, run_engine

ROOT = Path(__file__).resolve().parent.parent
FLOORS_PATH = Path(__file__).resolve().with_name("floors.json")
FIGURES_SCHEMA_VERSION = 1

EngineRunner = Callable[..., EngineTiming]


@dataclass(frozen=True)
class GateConfig:
    """How much to measure. Each measurement should last long enough (about 0.2 s here) for
    timer resolution and thread start-up to be negligible, and short enough for the rounds to
    interleave finely; the defaults take about 10 seconds in all."""

    rounds: int = 9
    engine_runs: int = 6       # Kent runs per engine measurement (about 0.2 s on one core)
    reference_runs: int = 1    # Kent runs per NumPy reference measurement (about 0.2 s)
    limit_runs: int = 48       # Kent-sized limit runs per limit measurement (about 0.15 s)
    warm_start_check: bool = True


def _thread_count() -> int:
    return numba.config.NUMBA_NUM_THREADS


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def warm_start(timeout_seconds: float = 120.0, cache_dir: str | None = None) -> dict:
    """Start ``python -m benchmarks.startup`` in a fresh process and return its figures, with
    the whole process's wall time (``process_seconds``). ``cache_dir`` sets NUMBA_CACHE_DIR
    (an empty folder: a cold cache)."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.startup"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout_seconds)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.startup failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_seconds"] = seconds
    return figures


def measure(config: GateConfig = GateConfig(), engine: EngineRunner = run_engine, workload: Workload | None = None,
            log: Callable[[str], None] = print) -> dict:
    """Measure the engine and its two yardsticks side by side; return the figures (no verdict).

    ``engine(workload, runs, threads, first_run=..., keep=True)`` runs the engine and returns an
    :class:`~benchmarks.workloads.EngineTiming` with its chunks; the default is the real engine
    (tests pass a deliberately slowed one).
    """
    workload = workload or kent_baseline()
    limit_inputs = limit_workload(workload.cohort, workload.model, workload.calendar)
    load_before = os.getloadavg()
    # Warm-up: load the compiled code (and fill caches) before anything is timed.
    engine(workload, 1, 1, first_run=10_000, keep=False)
    simulate_numpy(workload.cohort, workload.model, workload.calendar, seed=BENCHMARK_SEED, runs=np.array([10_000]))
    run_limit(limit_inputs, np.arange(2), threads=1)

    draws_total = 0
    draws_by_kind: dict[str, int] = {}
    engine_child_months = 0
    rounds = []
    for k in range(config.rounds):
        figures: dict[str, float] = {}

        # Each step is called at once, in this round; k and figures are passed in all the same.
        def time_engine(k: int, figures: dict[str, float]) -> None:
            nonlocal draws_total, engine_child_months
            timing = engine(workload, config.engine_runs, 1, first_run=k * config.engine_runs, keep=True)
            figures["engine"] = timing.child_months / timing.cpu_seconds
            figures["engine_wall"] = timing.child_months / timing.seconds
            for chunk in timing.chunks:
                for kind, per_run in engine_draw_counts(chunk, workload.cohort, workload.model,
                                                        workload.calendar).items():
                    draws_by_kind[kind] = draws_by_kind.get(kind, 0) + int(per_run.sum())
                    draws_total += int(per_run.sum())
            engine_child_months += timing.child_months

        def time_reference(k: int, figures: dict[str, float]) -> None:
            runs = np.arange(k * config.reference_runs, (k + 1) * config.reference_runs)
            result = simulate_numpy(workload.cohort, workload.model, workload.calendar, seed=BENCHMARK_SEED,
                                    runs=runs)
            figures["reference"] = result.child_months / result.cpu_seconds
            figures["reference_wall"] = result.child_months / result.seconds

        def time_limit(k: int, figures: dict[str, float]) -> None:
            timing = run_limit(limit_inputs, np.arange(config.limit_runs) + k * config.limit_runs, threads=1)
            figures["limit"] = timing.operations / timing.cpu_seconds
            figures["limit_wall"] = timing.operations / timing.seconds

        steps = [time_engine, time_reference, time_limit]
        for step in (steps if k % 2 == 0 else steps[::-1]):
            step(k, figures)
        rounds.append(figures)
        log(f"round {k + 1}/{config.rounds}: engine {figures['engine'] / 1e6:.1f} M child-months/s, "
            f"NumPy reference {figures['reference'] / 1e6:.2f} M, limit {figures['limit'] / 1e6:.0f} M draws/s")

    draws_per_child_month = draws_total / engine_child_months
    for figures in rounds:
        figures["speedup"] = figures["engine"] / figures["reference"]
        figures["share_of_limit"] = figures["engine"] * draws_per_child_month / figures["limit"]
    median = lambda key: float(np.median([f[key] for f in rounds]))  # noqa: E731

    all_cores = engine(workload, config.engine_runs * _thread_count(), _thread_count(), first_run=20_000,
                       keep=False)
    result = {
        "schema_version": FIGURES_SCHEMA_VERSION,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_commit": _git_commit(),
        "machine": {"cpus": os.cpu_count(), "numba_threads": _thread_count(), "platform": platform.platform(),
                    "processor": platform.processor(), "python": platform.python_version(),
                    "numpy": np.__version__, "numba": numba.__version__},
        "load_average_1min_before": load_before[0],
        "load_average_1min_after": os.getloadavg()[0],
        "workload": {"name": workload.name, "records": workload.records, "months": workload.calendar.n_months,
                     "child_months_per_run": engine_child_months / (config.rounds * config.engine_runs)},
        "config": config.__dict__,
        "engine_child_months_per_second_per_core": median("engine"),
        "engine_child_months_per_second_all_cores": all_cores.child_months / all_cores.seconds,
        "numpy_reference_child_months_per_second": median("reference"),
        "limit_draws_per_second_per_core": median("limit"),
        "engine_draws_per_child_month": draws_per_child_month,
        "engine_draws_per_child_month_by_kind": {k: v / engine_child_months for k, v in draws_by_kind.items()},
        "limit_child_months_per_second_per_core": median("limit") / draws_per_child_month,
        "speedup_over_numpy_reference": median("speedup"),
        "share_of_limit": median("share_of_limit"),
        "rounds": rounds,
    }
    if config.warm_start_check:
        result["warm_start"] = warm_start()
    return result


def load_floors(path: Path = FLOORS_PATH) -> dict:
    """The committed floors: ratio name -> lowest acceptable value."""
    with open(path, encoding="utf-8") as handle:
        floors = json.load(handle)
    for key in ("speedup_over_numpy_reference", "share_of_limit"):
        if not isinstance(floors.get(key), (int, float)) or floors[key] <= 0:
            raise ValueError(f"{path}: {key} must be a positive number")
    return floors


def evaluate(figures: dict, floors: dict) -> list[str]:
    """The gate's verdict: a list of failures (empty: the gate passes)."""
    failures = []
    for key in ("speedup_over_numpy_reference", "share_of_limit"):
        if figures[key] < floors[key]:
            failures.append(f"{key} = {figures[key]:.3f} is below its floor {floors[key]:.3f} "
                            f"(per round: {', '.join(f'{r[_ROUND_KEY[key]]:.3f}' for r in figures['rounds'])})")
    warm = figures.get("warm_start")
    if warm is not None and warm["cache_misses"] > 0:
        failures.append(f"a fresh process recompiled the engine ({warm['cache_misses']} cache misses): "
                        "numba's cache is not reused")
    return failures


_ROUND_KEY = {"speedup_over_numpy_reference": "speedup", "share_of_limit": "share_of_limit"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench-figures.json"), help="where to write the figures")
    parser.add_argument("--rounds", type=int, default=GateConfig.rounds, help="interleaved rounds (median taken)")
    parser.add_argument("--floors", type=Path, default=FLOORS_PATH, help="floors file")
    parser.add_argument("--no-warm-start", action="store_true", help="skip the fresh-process cache check")
    args = parser.parse_args(argv)
    floors = load_floors(args.floors)
    figures = measure(GateConfig(rounds=args.rounds, warm_start_check=not args.no_warm_start),
                      log=lambda text: print(text, file=sys.stderr))
    failures = evaluate(figures, floors)
    figures["floors"] = {k: floors[k] for k in ("speedup_over_numpy_reference", "share_of_limit")}
    figures["failures"] = failures
    figures["passed"] = not failures
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"engine {figures['engine_child_months_per_second_per_core'] / 1e6:.1f} M child-months/s per core "
          f"({figures['engine_child_months_per_second_all_cores'] / 1e6:.1f} M on {_thread_count()} threads); "
          f"NumPy reference {figures['numpy_reference_child_months_per_second'] / 1e6:.2f} M; "
          f"limit {figures['limit_draws_per_second_per_core'] / 1e6:.0f} M draws/s per core, "
          f"engine {figures['engine_draws_per_child_month']:.3f} draws per child-month")
    print(f"speed-up over the NumPy reference {figures['speedup_over_numpy_reference']:.2f} "
          f"(floor {floors['speedup_over_numpy_reference']}); share of the limit {figures['share_of_limit']:.3f} "
          f"(floor {floors['share_of_limit']})")
    if "warm_start" in figures:
        warm = figures["warm_start"]
        print(f"warm start: engine ready in {warm['engine_ready_seconds']:.2f} s "
              f"({warm['process_seconds']:.2f} s for the whole process), cache misses {warm['cache_misses']}")
    print(f"figures written to {args.out}")
    for failure in failures:
        print(f"SPEED GATE FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
