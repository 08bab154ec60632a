"""The `sendsim` command line. Thin: it parses options and calls the packages."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from inputs.defaults import DEFAULT_END, DEFAULT_START, months_until

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _year_month(text: str) -> tuple[int, int]:
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM")
    return int(match.group(1)), int(match.group(2))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError("the seed must be in [0, 2**63)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sendsim", description="Monte Carlo microsimulation of SEND placement "
                                     "flows and the high-needs (DSG) deficit. Kent County Council is built in.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="simulate and write Parquet tables", description="Simulate every child "
                              "with an EHCP month by month over Monte Carlo runs; write Parquet tables to --out. "
                              "With no options: the built-in Kent baseline, January 2024 to March 2028.")
    run.add_argument("--runs", type=_positive_int, default=1000, help="Monte Carlo runs (default 1000)")
    run.add_argument("--seed", type=_seed, default=1, help="master seed (default 1)")
    run.add_argument("--out", type=Path, default=Path("sendsim-out"), help="output folder (default ./sendsim-out)")
    run.add_argument("--threads", type=_positive_int, default=None, help="numba threads (default: all cores)")
    run.add_argument("--start", type=_year_month, default=DEFAULT_START,
                     help="first month YYYY-MM, the month of the cohort (default 2024-01)")
    run.add_argument("--months", type=_positive_int, default=None,
                     help="months to simulate, the start month included (default: up to March 2028)")
    run.add_argument("--cohort", type=Path, default=None, help="cohort CSV or Parquet (default: built-in Kent "
                     "January 2024)")
    run.add_argument("--params", type=Path, action="append", default=[],
                     help="parameter CSV applied on top of the Kent defaults (repeatable)")
    run.add_argument("--scenario", default="baseline", help="scenario name, the partition key (default baseline)")
    run.add_argument("--chunk-size", type=_positive_int, default=64, help="runs per chunk (memory, row groups)")
    run.add_argument("--no-flows", action="store_true", help="do not write the flows table")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    run.add_argument("--resume", action="store_true", help="finish an interrupted run in --out")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    commands.add_parser("params", help="list the parameters the engine reads, with their dimensions")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from inputs.defaults import KENT_COHORT
    from sendsim.run import RunSpec, execute

    months = args.months if args.months is not None else months_until(args.start, DEFAULT_END)
    if months < 1:
        raise SystemExit(f"sendsim run: error: --start {args.start[0]}-{args.start[1]:02d} is after March 2028; "
                         "give --months")
    spec = RunSpec(out=args.out, runs=args.runs, seed=args.seed, start=args.start, months=months,
                   cohort=args.cohort or KENT_COHORT, params=list(args.params), scenario=args.scenario,
                   threads=args.threads, chunk_size=args.chunk_size, overwrite=args.overwrite, resume=args.resume,
                   record_flows=not args.no_flows, progress=not args.quiet)
    result = execute(spec)
    m = result.manifest
    print(f"wrote {args.out} ({m['runs']} runs, {m['start']} to {m['end']}) in {m['wall_seconds']:.1f} s; "
          f"{m['child_months_per_second'] or 0:,.0f} child-months per second")
    print()
    print(result.summary)
    return 0


def _cmd_params(args: argparse.Namespace) -> int:
    from simcore.model import SCHEMA
    for name, spec in SCHEMA.items():
        dims = ", ".join(spec.dims) or "-"
        default = "" if spec.optional_default is None else f" (default {spec.optional_default:g})"
        dist = " [distribution over the last dimension]" if spec.distribution else ""
        print(f"{name:<22} {spec.kind:<12} dims: {dims}{dist}{default}\n    {spec.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from inputs.errors import InputError
    from outputs.store import OutputError
    from simcore.engine import SimulationError
    handlers = {"run": _cmd_run, "params": _cmd_params}
    try:
        return handlers[args.command](args)
    except (InputError, OutputError, SimulationError) as error:
        print(f"sendsim {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except KeyboardInterrupt:
        print(f"sendsim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
