"""`sendsim validate FILE...`: check input files without running anything."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sendsim.inputs.defaults import DEFAULT_END, DEFAULT_START, months_until
from sendsim.options import positive_int, year_month


def input_kinds() -> tuple:
    """The kinds of :mod:`inputs.validate`, and those whose loaders live outside ``inputs``
    (which may not import them): calibration targets."""
    from sendsim.calibration.targets import read_targets, within
    from sendsim.inputs.validate import KINDS, InputKind

    def check_targets(path: Path, calendar) -> str:
        targets = read_targets(path)
        inside = within(targets, calendar)
        return (f"calibration targets: {len(targets)} figures, {len(inside)} of them within the run "
                f"{calendar.label(0)} to {calendar.label(calendar.n_months - 1)}")

    targets = InputKind("targets", "calibration targets: id, measure, date, value, tolerance, role, source",
                        (".csv",), lambda s: "measure" in s.columns and "tolerance" in s.columns, check_targets)
    return KINDS + (targets,)


def register(commands) -> argparse.ArgumentParser:
    kinds_known = input_kinds()
    kinds = "; ".join(f"{k.name} ({'/'.join(k.extensions)})" for k in kinds_known)
    validate = commands.add_parser(
        "validate", help="check input files (cohort, parameters, draws, finance, scenario, sweep, calibration "
                         "targets) without running",
        description="Check input files exactly as `sendsim run` would read them, for the run's calendar, and "
                    f"report every file's first problem (file, line or key, column, rule). Kinds: {kinds}. "
                    "The kind is detected from the extension and the header; --kind forces it. Nothing is "
                    "written. Exit status 0 when every file is valid, 2 otherwise.")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE", help="input files to check")
    validate.add_argument("--kind", choices=[k.name for k in kinds_known], default=None,
                          help="the kind of every FILE (default: detected per file)")
    validate.add_argument("--start", type=year_month, default=DEFAULT_START,
                          help="first month of the run YYYY-MM, the month of the cohort (default 2024-01)")
    validate.add_argument("--months", type=positive_int, default=None,
                          help="months of the run, the start month included (default: up to March 2028)")
    return validate


def main(args: argparse.Namespace) -> int:
    from sendsim.inputs.errors import InputError
    from sendsim.inputs.validate import validate_file
    from sendsim.simcore.engine import Calendar

    months = args.months if args.months is not None else months_until(args.start, DEFAULT_END)
    if months < 1:
        raise InputError("--start", f"{args.start[0]}-{args.start[1]:02d} is after March 2028; give --months")
    calendar = Calendar(args.start[0], args.start[1], months)
    bad = 0
    for path in args.files:
        try:
            checked = validate_file(path, calendar, args.kind, input_kinds())
        except InputError as error:
            bad += 1
            print(f"sendsim validate: error: {error}", file=sys.stderr)
            continue
        print(f"ok: {checked.path}: {checked.summary}")
    if len(args.files) > 1:
        print(f"{len(args.files)} files: {len(args.files) - bad} valid, {bad} with errors "
              f"(run {calendar.label(0)} to {calendar.label(calendar.n_months - 1)})")
    return 2 if bad else 0
