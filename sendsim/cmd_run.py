"""`sendsim run`: simulate and write the Parquet tables."""
from __future__ import annotations

import argparse
from pathlib import Path

from inputs.defaults import DEFAULT_END, DEFAULT_START, KENT_COHORT, months_until
from sendsim.options import positive_int, seed, year_month


def register(commands) -> argparse.ArgumentParser:
    run = commands.add_parser("run", help="simulate and write Parquet tables", description="Simulate every child "
                              "with an EHCP month by month over Monte Carlo runs; write Parquet tables to --out. "
                              "With no options: the built-in Kent baseline, January 2024 to March 2028.")
    run.add_argument("--runs", type=positive_int, default=1000, help="Monte Carlo runs (default 1000)")
    run.add_argument("--seed", type=seed, default=1, help="master seed (default 1)")
    run.add_argument("--out", type=Path, default=Path("sendsim-out"), help="output folder (default ./sendsim-out)")
    run.add_argument("--threads", type=positive_int, default=None, help="numba threads (default: all cores)")
    run.add_argument("--start", type=year_month, default=DEFAULT_START,
                     help="first month YYYY-MM, the month of the cohort (default 2024-01)")
    run.add_argument("--months", type=positive_int, default=None,
                     help="months to simulate, the start month included (default: up to March 2028)")
    run.add_argument("--cohort", type=Path, default=None,
                     help="cohort CSV or Parquet (default: built-in Kent January 2024)")
    run.add_argument("--params", type=Path, action="append", default=[],
                     help="parameter CSV applied on top of the Kent defaults (repeatable)")
    run.add_argument("--finance", type=Path, action="append", default=[],
                     help="finance CSV applied on top of the Kent finance inputs (repeatable; see docs/money.md)")
    run.add_argument("--scenario", default="baseline", help="scenario name, the partition key (default baseline)")
    run.add_argument("--chunk-size", type=positive_int, default=64, help="runs per chunk (memory, row groups)")
    run.add_argument("--no-flows", action="store_true", help="do not write the flows table")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    run.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    return run


def main(args: argparse.Namespace) -> int:
    from sendsim.run import RunSpec, execute

    months = args.months if args.months is not None else months_until(args.start, DEFAULT_END)
    if months < 1:
        raise SystemExit(f"sendsim run: error: --start {args.start[0]}-{args.start[1]:02d} is after March 2028; "
                         "give --months")
    spec = RunSpec(out=args.out, runs=args.runs, seed=args.seed, start=args.start, months=months,
                   cohort=args.cohort or KENT_COHORT, params=list(args.params), finance=list(args.finance),
                   scenario=args.scenario,
                   threads=args.threads, chunk_size=args.chunk_size, overwrite=args.overwrite, resume=args.resume,
                   record_flows=not args.no_flows, progress=not args.quiet)
    result = execute(spec)
    m = result.manifest
    print(f"wrote {args.out} ({m['runs']} runs, {m['start']} to {m['end']}) in {m['wall_seconds']:.1f} s; "
          f"{m['child_months_per_second'] or 0:,.0f} child-months per second")
    print()
    print(result.summary)
    print()
    print(result.deficit_summary)
    return 0
