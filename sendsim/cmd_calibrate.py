"""`sendsim calibrate`: fit the rates, backtest, split the variance; write draws and the fit report."""
from __future__ import annotations

import argparse
from pathlib import Path

from sendsim.options import positive_int, seed


def _years(text: str) -> tuple[int, ...]:
    if text.strip().lower() == "none":
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of years like 2021,2022,2023 (or none)") from None


def register(commands) -> argparse.ArgumentParser:
    from sendsim.calibration.spec import COHORT_FILE, PARAMETERS_FILE, TARGETS_FILE, CalibrationSpec

    defaults = CalibrationSpec(out=Path("sendsim-calibration"))
    cal = commands.add_parser(
        "calibrate", help="fit rates to the targets; write draws and the fit report",
        description="Fit an authority's rates seen only through stocks (Kent's by default) by history matching "
                    "with the engine (from an earlier January to January 2024, and from the January 2024 cohort "
                    "on), draw the directly observed rates from their posteriors, backtest, split the forecast "
                    "variance, and write draws.parquet (for sendsim run --params), report.md, report.html and "
                    "manifest.json to --out. Another authority: derive its inputs first (python -m "
                    "sendsim.inputs.derive --authority NAME --out DIR, python -m sendsim.calibration.authority_targets "
                    "--authority NAME --out DIR/targets.csv), then --authority NAME --inputs DIR.")
    cal.add_argument("--authority", default=defaults.authority,
                     help=f"local authority as SEN2 names it (default {defaults.authority}): its SEN2 series, the "
                          "stated assumptions and, for Kent, its Safety Valve return")
    cal.add_argument("--inputs", type=Path, default=None,
                     help=f"folder with the authority's {PARAMETERS_FILE}, {COHORT_FILE} and {TARGETS_FILE} "
                          "(default: the built-in Kent files in inputs/kent; needed for another authority)")
    cal.add_argument("--targets", type=Path, default=None,
                     help="targets CSV (default: the inputs folder's; format in docs/calibration.md)")
    cal.add_argument("--out", type=Path, default=defaults.out, help="output folder (default ./sendsim-calibration)")
    cal.add_argument("--overwrite", action="store_true", help="replace a previous calibration in --out")
    cal.add_argument("--seed", type=seed, default=defaults.seed, help="simulation master seed (default 1)")
    cal.add_argument("--design-seed", type=seed, default=defaults.design_seed,
                     help=f"seed of the designs and rate draws (default {defaults.design_seed})")
    cal.add_argument("--origin", type=int, default=defaults.origin,
                     help=f"January the hindcast starts from (default {defaults.origin})")
    cal.add_argument("--proposals", type=positive_int, default=defaults.proposals_per_wave,
                     help=f"proposals per wave (default {defaults.proposals_per_wave})")
    cal.add_argument("--waves", type=positive_int, default=defaults.waves,
                     help=f"waves of proposals, the first over the prior (default {defaults.waves})")
    cal.add_argument("--replicates", type=positive_int, default=defaults.replicates,
                     help=f"runs per proposal, common random numbers (default {defaults.replicates})")
    cal.add_argument("--accepted", type=positive_int, default=defaults.final_accepted,
                     help=f"population: the best proposals so far, kept after each wave and perturbed by the "
                          f"next (default {defaults.final_accepted})")
    cal.add_argument("--max-final", type=positive_int, default=defaults.max_final_proposals,
                     help=f"most extra proposals drawn when fewer are within the final cut-off "
                          f"(default {defaults.max_final_proposals})")
    cal.add_argument("--draws", type=positive_int, default=defaults.draws,
                     help=f"rows of draws.parquet (default {defaults.draws}: sendsim run's default runs)")
    cal.add_argument("--distance", choices=("rms", "kth"), default=defaults.distance,
                     help="distance of a proposal: root mean square implausibility (default) or the k-th largest")
    cal.add_argument("--kth", type=positive_int, default=defaults.kth,
                     help=f"k for --distance kth (default {defaults.kth})")
    cal.add_argument("--backtest", type=_years, default=defaults.backtest_cutoffs,
                     help="backtest cutoff years, comma-separated, or none (default 2021,2022,2023)")
    cal.add_argument("--backtest-proposals", type=positive_int, default=defaults.backtest_proposals_per_wave,
                     help=f"proposals per backtest wave (default {defaults.backtest_proposals_per_wave})")
    cal.add_argument("--backtest-waves", type=positive_int, default=defaults.backtest_waves,
                     help=f"backtest waves (default {defaults.backtest_waves})")
    cal.add_argument("--variance-draws", type=positive_int, default=defaults.variance_draws,
                     help=f"draws in the variance split (default {defaults.variance_draws})")
    cal.add_argument("--variance-seeds", type=positive_int, default=defaults.variance_seeds,
                     help=f"seeds per draw in the variance split (default {defaults.variance_seeds})")
    cal.add_argument("--threads", type=positive_int, default=None, help="numba threads (default: all cores)")
    return cal


def main(args: argparse.Namespace) -> int:
    from sendsim.calibration.run import CalibrationSpec, calibrate
    from sendsim.calibration.spec import COHORT_FILE, PARAMETERS_FILE, TARGETS_FILE
    from sendsim.inputs.sen2 import Authority

    defaults = CalibrationSpec(out=args.out)
    try:
        Authority(args.authority)  # a name SEN2 has: say so before any work, with the closest names
    except ValueError as error:
        raise SystemExit(f"sendsim: error: {error}") from None
    if args.inputs is None and args.authority != defaults.authority:
        raise SystemExit(f"sendsim: error: --inputs is needed for {args.authority}: derive them with "
                         f"python -m sendsim.inputs.derive --authority {args.authority!r} --out DIR and python -m "
                         f"sendsim.calibration.authority_targets --authority {args.authority!r} --out "
                         f"DIR/{TARGETS_FILE}")
    parameters = defaults.parameters if args.inputs is None else args.inputs / PARAMETERS_FILE
    cohort = defaults.cohort if args.inputs is None else args.inputs / COHORT_FILE
    targets = args.targets or (defaults.targets if args.inputs is None else args.inputs / TARGETS_FILE)
    spec = CalibrationSpec(out=args.out, authority=args.authority, parameters=parameters, cohort=cohort,
                           targets=targets, origin=args.origin, seed=args.seed,
                           design_seed=args.design_seed, replicates=args.replicates,
                           proposals_per_wave=args.proposals, waves=args.waves, final_accepted=args.accepted,
                           max_final_proposals=args.max_final, draws=args.draws, distance=args.distance,
                           kth=args.kth,
                           backtest_cutoffs=args.backtest, backtest_proposals_per_wave=args.backtest_proposals,
                           backtest_waves=args.backtest_waves,
                           backtest_final_accepted=min(defaults.backtest_final_accepted, args.backtest_proposals),
                           backtest_draws=min(args.draws, CalibrationSpec.backtest_draws),
                           variance_draws=min(args.variance_draws, args.draws), variance_seeds=args.variance_seeds,
                           threads=args.threads, overwrite=args.overwrite)
    result = calibrate(spec)
    m = result.manifest
    fit = result.fit[result.fit.role == "fit"]
    print(f"wrote {args.out} in {m['timings_seconds']['total'] / 60:.1f} minutes: {m['draws']} draws "
          f"({m['draws_file']['columns']} columns), {int(fit.in_90.sum())} of {len(fit)} fitted targets inside the "
          f"90% interval; report: {args.out / 'report.md'}")
    return 0
