"""`sendsim sweep FILE`: every scenario of a sweep (grid or Latin hypercube), times runs, into one
Parquet dataset partitioned by scenario, with the baseline and the paired differences."""
from __future__ import annotations

import argparse
from pathlib import Path

from sendsim.cmd_run import add_run_options, report, spec_from_args


def register(commands) -> argparse.ArgumentParser:
    sweep = commands.add_parser("sweep", help="run a sweep of scenarios (grid or Latin hypercube over levers)",
                                description="Run every scenario a sweep file declares, plus the baseline, into one "
                                "dataset partitioned by scenario (see docs/scenarios.md for the format).")
    sweep.add_argument("sweep_file", type=Path, help="the sweep TOML file")
    add_run_options(sweep)
    return sweep


def main(args: argparse.Namespace) -> int:
    from sendsim.api import execute

    report(execute(spec_from_args(args, scenarios=["baseline"], sweep=args.sweep_file)), args.out)
    return 0
