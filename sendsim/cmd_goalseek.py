"""`sendsim goalseek`: the value of one lever (or the size of one mitigation) that meets the
Safety Valve profile in a chosen year with a chosen probability."""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from sendsim.inputs.defaults import DEFAULT_END, DEFAULT_START, KENT_COHORT, months_until
from sendsim.options import positive_int, seed, year_month


def fixed_value(text: str) -> tuple[str, object]:
    """PATH=VALUE with VALUE a TOML value (a number, "a string", [a, list]); bare words are strings."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"{text!r} must be PATH=VALUE")
    path, raw = (part.strip() for part in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError("must lie in (0, 1]")
    return value


def register(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "goalseek", help="find the lever value that meets the profile with a chosen probability",
        description="Find the value of one number of a scenario (a lever, or the size of one mitigation) at which "
        "the accumulated DSG deficit is at or below the Safety Valve profile in --year in at least --probability "
        "of the runs; every value is evaluated on the same runs (common random numbers). Prints the value and its "
        "90%% bootstrap interval over runs. Example: sendsim goalseek --vary levers.block_transfer.share --set "
        "levers.block_transfer.from=2025-26 --low 0 --high 0.1 --year 2025-26 --probability 0.5")
    parser.add_argument("--vary", required=True, metavar="PATH",
                        help="the number to vary: a dotted path of the scenario table, e.g. "
                        "levers.block_transfer.share or mitigation.locality_model.effect.share")
    parser.add_argument("--set", action="append", default=[], type=fixed_value, metavar="PATH=VALUE",
                        help="a fixed value the scenario needs (repeatable), e.g. levers.block_transfer.from=2025-26")
    parser.add_argument("--scenario", default=None, metavar="NAME_OR_FILE",
                        help="the scenario the number belongs to (built-in name or TOML; default: the baseline)")
    parser.add_argument("--low", type=float, required=True, help="lowest value searched")
    parser.add_argument("--high", type=float, required=True, help="highest value searched")
    parser.add_argument("--year", required=True, help="financial year of the target, e.g. 2027-28")
    parser.add_argument("--probability", type=probability, default=0.5,
                        help="share of runs that must meet the profile (default 0.5)")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="stop when the bracket is this narrow (default: a thousandth of the range)")
    parser.add_argument("--bootstrap", type=positive_int, default=200, help="bootstrap resamples (default 200)")
    parser.add_argument("--runs", type=positive_int, default=200, help="Monte Carlo runs (default 200)")
    parser.add_argument("--seed", type=seed, default=1, help="master seed (default 1)")
    parser.add_argument("--start", type=year_month, default=DEFAULT_START, help="first month (default 2024-01)")
    parser.add_argument("--months", type=positive_int, default=None, help="months (default: up to March 2028)")
    parser.add_argument("--params", type=Path, action="append", default=[], help="as for run")
    parser.add_argument("--finance", type=Path, action="append", default=[], help="as for run")
    parser.add_argument("--threads", type=positive_int, default=None, help="numba threads")
    parser.add_argument("--central", action="store_true", help="as for run: the draws' central values for every run")
    return parser


def main(args: argparse.Namespace) -> int:
    from sendsim.api import RunSpec, resolve_run
    from sendsim.api.goalseek import goal_seek, set_path, template_of

    months = args.months if args.months is not None else months_until(args.start, DEFAULT_END)
    spec = RunSpec(out=Path("goalseek-writes-nothing"), runs=args.runs, seed=args.seed, start=args.start,
                   months=months, cohort=KENT_COHORT, params=tuple(args.params), finance=tuple(args.finance),
                   threads=args.threads, progress=False, record_flows=False, central=args.central)
    resolved = resolve_run(spec)
    template, file = template_of(args.scenario)
    for path, value in args.set:
        set_path(template, path, value)
    result = goal_seek(resolved, template, file, args.vary, low=args.low, high=args.high, year=args.year,
                       probability=args.probability, tolerance=args.tolerance, bootstrap=args.bootstrap,
                       threads=args.threads)
    print(result.text())
    return 0
