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

- the toy yardstick's child-months per second on one thread (``benchmarks.toy``: a plain
  one-draw, 8-state Markov step in numba);

and from each round the two ratios:

- **speed-up over the NumPy reference** = engine rate / reference rate;
- **share of the limit** = engine rate x the engine's draws per child-month / limit rate
  (the draws are counted from the engine's own outputs of the same runs: ``benchmarks.draws``).

Then, in the same process:

- **two-thread scaling**: the engine on the Kent workload on two threads against one thread,
  the same runs, wall time, in interleaved pairs (median of the pairs' ratios);
- **the default Kent baseline end to end**: ``python -m sendsim run`` as a user runs it
  (1,000 runs with the fitted draws, every table written, warm cache) in a fresh process,
  repeated; its wall seconds, and its child-months per wall second over the toy's per core:
  the **end-to-end ratio to the toy** (median of the repeats; target 0.85, reported, not gated).
  The same per CPU-second of the run's process (all its threads) is the figure gated: on a
  shared machine the wall-clock ratio moves with the other jobs (0.32 to 0.47 in two gate
  runs an hour apart), the CPU one does not (0.47 in both).

The figure of each ratio is its median over the rounds: a measurement disturbed by another
process on the machine spoils one round, not the figure, and a machine uniformly slower slows
the engine and its yardsticks alike. It also starts a fresh process to check that the
compiled engine is loaded from numba's cache (no recompilation) and times that start-up.

It writes every figure to a JSON file (default ``bench-figures.json``) and exits 1 when a
ratio falls below its floor in ``benchmarks/floors.json`` (or the cache was not reused).
The whole gate takes one to two minutes on the 2-core development machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from benchmarks.draws import engine_draw_counts
from benchmarks.limit import limit_workload, run_limit
from benchmarks.numpy_reference import simulate_numpy
from benchmarks.toy import run_toy, toy_workload
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
    toy_runs: int = 24         # Kent-sized toy runs per toy measurement (about 0.2 s)
    scaling_pairs: int = 5     # pairs (one thread, two threads) for the scaling figure
    scaling_runs: int = 8      # Kent runs per scaling measurement (about 0.2 s on one core)
    end_to_end: int = 2        # repeats of `sendsim run` end to end (0: not measured; about 15 s each)
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
    toy_inputs = toy_workload(int(limit_inputs.keys.shape[0]), limit_inputs.n_months)
    run_toy(toy_inputs, np.arange(2))

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

        def time_toy(k: int = k, figures: dict = figures) -> None:
            timing = run_toy(toy_inputs, np.arange(config.toy_runs) + k * config.toy_runs)
            figures["toy"] = timing.child_months / timing.cpu_seconds
            figures["toy_wall"] = timing.child_months / timing.seconds

        steps = [time_engine, time_reference, time_limit, time_toy]
        for step in (steps if k % 2 == 0 else steps[::-1]):
            step(k, figures)
        rounds.append(figures)
        log(f"round {k + 1}/{config.rounds}: engine {figures['engine'] / 1e6:.1f} M child-months/s, "
            f"NumPy reference {figures['reference'] / 1e6:.2f} M, limit {figures['limit'] / 1e6:.0f} M draws/s, "
            f"toy {figures['toy'] / 1e6:.0f} M child-months/s")

    draws_per_child_month = draws_total / engine_child_months
    for figures in rounds:
        figures["speedup"] = figures["engine"] / figures["reference"]
        figures["share_of_limit"] = figures["engine"] * draws_per_child_month / figures["limit"]
    median = lambda key: float(np.median([f[key] for f in rounds]))  # noqa: E731

    all_cores = engine(workload, config.engine_runs * _thread_count(), _thread_count(), first_run=20_000,
                       keep=False)
    scaling = measure_scaling(workload, config, engine, log)
    toy_rate = median("toy")
    end_to_end = [measure_end_to_end(toy_rate, log) for _ in range(config.end_to_end)]
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
        "toy_child_months_per_second_per_core": toy_rate,
        "two_thread_scaling": float(np.median([p["scaling"] for p in scaling])) if scaling else None,
        "two_thread_scaling_best_pair": float(max(p["scaling"] for p in scaling)) if scaling else None,
        "scaling_pairs": scaling,
        "rounds": rounds,
    }
    if end_to_end:
        result.update({
            "end_to_end_over_toy": float(np.median([e["over_toy"] for e in end_to_end])),
            "end_to_end_seconds": float(np.median([e["seconds"] for e in end_to_end])),
            "end_to_end_over_toy_cpu": float(np.median([e["over_toy_cpu"] for e in end_to_end])),
            "end_to_end": end_to_end,
        })
    if config.warm_start_check:
        result["warm_start"] = warm_start()
    return result


def measure_scaling(workload: Workload, config: GateConfig, engine: EngineRunner = run_engine,
                    log: Callable[[str], None] = print) -> list[dict]:
    """Two threads against one on the same runs, wall time, in pairs (the order alternating):
    each pair's ratio of child-months per second. Empty on a machine with one numba thread."""
    threads = min(2, _thread_count())
    if threads < 2:
        return []
    pairs = []
    for k in range(config.scaling_pairs):
        figures = {}
        first = 30_000 + k * config.scaling_runs
        order = (1, threads) if k % 2 == 0 else (threads, 1)
        for n in order:
            timing = engine(workload, config.scaling_runs, n, first_run=first, keep=False)
            figures[f"threads_{n}"] = timing.child_months / timing.seconds
        figures["scaling"] = figures[f"threads_{threads}"] / figures["threads_1"]
        pairs.append(figures)
    shown = ", ".join(f"{p['scaling']:.2f}" for p in pairs)
    log(f"two-thread scaling: {shown}")
    return pairs


def measure_end_to_end(toy_rate: float, log: Callable[[str], None] = print, runs: int | None = None) -> dict:
    """``python -m sendsim run`` as a user runs it (the default Kent baseline: 1,000 runs, the
    fitted draws, every table written) in a fresh process with the warm numba cache: its wall
    and CPU seconds, child-months (from its manifest), and its child-months per wall second
    over the toy's per core (``toy_rate``), the same per CPU-second."""
    folder = Path(tempfile.mkdtemp(prefix="sendsim-gate-"))
    try:
        out = folder / "out"
        arguments = [sys.executable, "-m", "sendsim", "run", "--out", str(out), "--quiet"]
        if runs is not None:
            arguments += ["--runs", str(runs)]
        t0 = time.perf_counter()
        process = subprocess.Popen(arguments, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - t0
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"sendsim run failed:\n{stderr}")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cpu = usage.ru_utime + usage.ru_stime
    child_months = int(manifest["child_months"])
    figures = {"seconds": seconds, "cpu_seconds": cpu, "child_months": child_months, "runs": manifest["runs"],
               "kernel_seconds": manifest["kernel_seconds"], "wall_seconds_in_manifest": manifest["wall_seconds"],
               "bytes_written": manifest["bytes_written"], "peak_bytes": usage.ru_maxrss * 1024,
               "over_toy": child_months / seconds / toy_rate, "over_toy_cpu": child_months / cpu / toy_rate}
    log(f"sendsim run end to end: {seconds:.1f} s wall ({cpu:.1f} s CPU), {child_months / seconds / 1e6:.0f} M "
        f"child-months/s, {figures['over_toy']:.2f} of the toy")
    return figures


# The ratios the gate checks: the two always measured, the others when the floors file has them.
REQUIRED_FLOORS = ("speedup_over_numpy_reference", "share_of_limit")
OPTIONAL_FLOORS = ("two_thread_scaling", "end_to_end_over_toy_cpu", "end_to_end_over_toy")


def load_floors(path: Path = FLOORS_PATH) -> dict:
    """The committed floors: ratio name -> lowest acceptable value."""
    with open(path, encoding="utf-8") as handle:
        floors = json.load(handle)
    for key in REQUIRED_FLOORS:
        if not isinstance(floors.get(key), (int, float)) or floors[key] <= 0:
            raise ValueError(f"{path}: {key} must be a positive number")
    for key in OPTIONAL_FLOORS:
        if key in floors and (not isinstance(floors[key], (int, float)) or floors[key] <= 0):
            raise ValueError(f"{path}: {key} must be a positive number")
    return floors


def evaluate(figures: dict, floors: dict) -> list[str]:
    """The gate's verdict: a list of failures (empty: the gate passes)."""
    failures = []
    for key in REQUIRED_FLOORS + OPTIONAL_FLOORS:
        if key not in floors or figures.get(key) is None:
            continue  # an optional ratio without a floor, or not measured in this run (an option)
        if figures[key] < floors[key]:
            rounds = figures.get(_ROUND_LIST[key], [])
            failures.append(f"{key} = {figures[key]:.3f} is below its floor {floors[key]:.3f} "
                            f"(per round: {', '.join(f'{r[_ROUND_KEY[key]]:.3f}' for r in rounds)})")
    warm = figures.get("warm_start")
    if warm is not None and warm["cache_misses"] > 0:
        failures.append(f"a fresh process recompiled the engine ({warm['cache_misses']} cache misses): "
                        "numba's cache is not reused")
    return failures


_ROUND_KEY = {"speedup_over_numpy_reference": "speedup", "share_of_limit": "share_of_limit",
              "two_thread_scaling": "scaling", "end_to_end_over_toy": "over_toy",
              "end_to_end_over_toy_cpu": "over_toy_cpu"}
_ROUND_LIST = {"speedup_over_numpy_reference": "rounds", "share_of_limit": "rounds",
               "two_thread_scaling": "scaling_pairs", "end_to_end_over_toy": "end_to_end",
               "end_to_end_over_toy_cpu": "end_to_end"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench-figures.json"), help="where to write the figures")
    parser.add_argument("--rounds", type=int, default=GateConfig.rounds, help="interleaved rounds (median taken)")
    parser.add_argument("--floors", type=Path, default=FLOORS_PATH, help="floors file")
    parser.add_argument("--no-warm-start", action="store_true", help="skip the fresh-process cache check")
    parser.add_argument("--end-to-end", type=int, default=GateConfig.end_to_end,
                        help="repeats of `sendsim run` end to end (0: skip; its floor is then not checked)")
    args = parser.parse_args(argv)
    floors = load_floors(args.floors)
    figures = measure(GateConfig(rounds=args.rounds, warm_start_check=not args.no_warm_start,
                                 end_to_end=args.end_to_end),
                      log=lambda text: print(text, file=sys.stderr))
    failures = evaluate(figures, floors)
    figures["floors"] = {k: floors[k] for k in REQUIRED_FLOORS + OPTIONAL_FLOORS if k in floors}
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
    print(f"toy (one-draw 8-state step) {figures['toy_child_months_per_second_per_core'] / 1e6:.0f} M child-months/s "
          f"per core; two-thread scaling {_shown(figures.get('two_thread_scaling'))} "
          f"(floor {floors.get('two_thread_scaling', '-')})")
    if "end_to_end_over_toy" in figures:
        print(f"sendsim run, default Kent baseline end to end: {figures['end_to_end_seconds']:.1f} s, "
              f"{figures['end_to_end_over_toy']:.2f} of the toy (target 0.85); per CPU-second "
              f"{figures['end_to_end_over_toy_cpu']:.2f} (floor {floors.get('end_to_end_over_toy_cpu', '-')})")
    if "warm_start" in figures:
        warm = figures["warm_start"]
        print(f"warm start: engine ready in {warm['engine_ready_seconds']:.2f} s "
              f"({warm['process_seconds']:.2f} s for the whole process), cache misses {warm['cache_misses']}")
    print(f"figures written to {args.out}")
    for failure in failures:
        print(f"SPEED GATE FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
