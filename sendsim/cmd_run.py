"""`sendsim run`: simulate scenarios and write the Parquet tables."""
from __future__ import annotations

import argparse
from pathlib import Path

from sendsim.inputs.defaults import DEFAULT_END, DEFAULT_START, KENT_COHORT, KENT_DRAWS, months_until
from sendsim.options import positive_int, seed, year_month


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `sweep`."""
    parser.add_argument("--runs", type=positive_int, default=1000, help="Monte Carlo runs per scenario (default 1000)")
    parser.add_argument("--seed", type=seed, default=1, help="master seed (default 1)")
    parser.add_argument("--out", type=Path, default=Path("sendsim-out"), help="output folder (default ./sendsim-out)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="numba threads (default: all cores; 1 per worker with --backend dask)")
    parser.add_argument("--start", type=year_month, default=DEFAULT_START,
                        help="first month YYYY-MM, the month of the cohort (default 2024-01)")
    parser.add_argument("--months", type=positive_int, default=None,
                        help="months to simulate, the start month included (default: up to March 2028)")
    parser.add_argument("--cohort", type=Path, default=None,
                        help="cohort CSV or Parquet (default: built-in Kent January 2024)")
    parser.add_argument("--params", type=Path, action="append", default=[],
                        help="parameter CSV applied on top of the Kent defaults (repeatable), or one draws .parquet "
                        "that replaces the fitted draws (run r uses draw r)")
    parser.add_argument("--central", action="store_true",
                        help="every run uses the draws' central values (their means): Monte Carlo noise only, for "
                        "studies of noise or of a lever's paired effect at the centre (default: the built-in fitted "
                        "draws, run r uses draw r, so the intervals hold parameter uncertainty too)")
    parser.add_argument("--no-draws", action="store_true",
                        help="the derived base parameters (inputs/kent/parameters.csv) without the fitted draws: one "
                        "parameter set, Monte Carlo noise only (for comparisons with the unfitted model)")
    parser.add_argument("--finance", type=Path, action="append", default=[],
                        help="finance CSV applied on top of the Kent finance inputs (repeatable; see docs/money.md)")
    parser.add_argument("--chunk-size", type=positive_int, default=64,
                        help="runs per task: memory, Parquet files, Dask task size (default 64)")
    parser.add_argument("--no-flows", action="store_true", help="do not write the flows table")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--backend", choices=("local", "dask"), default="local",
                        help="local: numba threads in this process (default); dask: a Dask cluster")
    parser.add_argument("--scheduler", default=None,
                        help="with --backend dask: join the cluster at tcp://HOST:PORT (default: start a local one)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="with --backend dask and no --scheduler: local worker processes (default: cores)")


def register(commands) -> argparse.ArgumentParser:
    run = commands.add_parser("run", help="simulate scenarios and write Parquet tables", description="Simulate every "
                              "child with an EHCP month by month over Monte Carlo runs; write Parquet tables to "
                              "--out. With no options: the built-in Kent baseline, January 2024 to March 2028.")
    add_run_options(run)
    run.add_argument("--scenario", action="append", default=[], metavar="NAME_OR_FILE",
                     help="a built-in scenario (see `sendsim scenarios`) or a scenario TOML file; repeatable. The "
                     "baseline always runs too, and every scenario's paired differences against it are written")
    run.add_argument("--all-scenarios", action="store_true", help="run every built-in scenario")
    return run


def spec_from_args(args: argparse.Namespace, *, scenarios: list[str], sweep: Path | None = None):
    """The run spec of a `run` or `sweep` command line."""
    from sendsim.api import RunSpec

    if args.central and args.no_draws:
        raise SystemExit("sendsim: error: --central uses the draws' means; it cannot go with --no-draws")
    if args.scheduler and args.backend != "dask":
        raise SystemExit("sendsim: error: --scheduler needs --backend dask")
    months = args.months if args.months is not None else months_until(args.start, DEFAULT_END)
    if months < 1:
        raise SystemExit(f"sendsim: error: --start {args.start[0]}-{args.start[1]:02d} is after March 2028; "
                         "give --months")
    return RunSpec(out=args.out, runs=args.runs, seed=args.seed, start=args.start, months=months,
                   cohort=args.cohort or KENT_COHORT, params=tuple(args.params), finance=tuple(args.finance),
                   scenarios=tuple(scenarios), sweep=sweep, threads=args.threads, chunk_size=args.chunk_size,
                   overwrite=args.overwrite, resume=args.resume, record_flows=not args.no_flows,
                   progress=not args.quiet, backend=args.backend, scheduler=args.scheduler, workers=args.workers,
                   central=args.central, authority_draws=None if args.no_draws else KENT_DRAWS)


def report(result, out: Path) -> None:
    m = result.manifest
    scenarios = len(m["scenarios"])
    what = f"{m['runs']} runs" + (f" x {scenarios} scenarios" if scenarios > 1 else "")
    print(f"wrote {out} ({what}, {m['start']} to {m['end']}) in {m['wall_seconds']:.1f} s; "
          f"{m['child_months_per_second'] or 0:,.0f} child-months per second")
    print(f"Intervals below hold {m['uncertainty']['bands']}.")
    print()
    print(("Baseline. " if scenarios > 1 else "") + result.summary)
    print()
    print(result.deficit_summary)
    if result.differences:
        print()
        print(result.differences)
    if result.mitigations:
        print()
        print(result.mitigations)


def main(args: argparse.Namespace) -> int:
    from sendsim.api import execute
    from sendsim.inputs.scenarios import builtin_names

    scenarios = list(dict.fromkeys(["baseline"] + (builtin_names() if args.all_scenarios else []) + args.scenario))
    spec = spec_from_args(args, scenarios=scenarios)
    report(execute(spec), args.out)
    return 0
