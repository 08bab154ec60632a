"""The hindcast of a draws file: every hindcast target simulated with given parameter draws.

``sendsim calibrate`` evaluates its targets on the proposals it samples; a draws file (the
shipped ``inputs/kent/draws.parquet``) holds only the forecast parameter sets, so a target added
after the fit (a ``report`` target, such as the tribunal appeals) cannot be read from the fit's
report. This module runs the hindcast (January of the origin to the census) with the draws:

* each draw's cells are applied, through the loader ``sendsim run --params`` uses, over the
  hindcast calendar (the rates shared by the forecast and the hindcast: ceasing, moves,
  arrivals, first placements, appeals against refusals and declines, the age mix of requests);
* the hindcast's own values come from :meth:`CalibrationModel.hindcast_overrides`: each year's
  requests, decisions to assess and declines (drawn afresh from their SEN2 posteriors, one draw
  per parameter draw), assessments completed and special and SRP places;
* the four fitted rates that act in the hindcast only are not in a draws file: they are fixed at
  the shipped fit's weighted medians (``HINDCAST_ONLY``, docs/calibration.md, "The shipped
  draws").

``python -m sendsim.calibration.draws_hindcast --draws inputs/kent/draws.parquet --count 100``
prints each hindcast target's observed value, simulated median and 90% interval (one run per
draw, distinct run numbers, so the interval includes Monte Carlo noise), and whether the median
is within tolerance; ``--appeals`` adds the appeals of each calendar year by type and the
forecast's years.
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sendsim.calibration.model import CalibrationModel
from sendsim.calibration.origin import origin_cohort
from sendsim.calibration.spec import DEFAULT_ORIGIN, KENT_DRAWS, KENT_TARGETS
from sendsim.calibration.targets import Target, evaluate, read_targets, within
from sendsim.inputs.defaults import DEFAULT_START, KENT_AUTHORITY, KENT_COHORT, KENT_PARAMETERS
from sendsim.inputs.derive import derivation_for
from sendsim.inputs.draws import load_draws, parameter_sets_for_draws
from sendsim.inputs.parameters import ParameterRow
from sendsim.inputs.resolve import RunSpec, resolve_run
from sendsim.simcore import codes
from sendsim.simcore.engine import Calendar, Cohort, simulate
from sendsim.simcore.model import ParameterSet, ParameterValues, compile_model

# The fitted rates that act in the hindcast only, at the shipped fit's weighted medians (its
# report; docs/calibration.md "Fitted rates"): a draws file holds the forecast sets only.
HINDCAST_ONLY = {"cease_20_25_before_2023": 0.26, "post16_mainstream_fe_before_2024": 0.49,
                 "history_review_capacity": 0.44, "backlog_team_reviews": 0.37}
# Parameters the hindcast sets year by year (its own effective dates): taken from the hindcast
# base, then given each year's values.
YEARLY = ("request_rate", "request_growth", "p_assess", "p_decline", "assessment_capacity", "review_capacity",
          "places", "max_occupancy")
# Draws simulated together (memory: flows are about 0.9 MB per run-year).
DRAWS_PER_BATCH = 32
APPEAL_TYPES = {codes.EVENTS[e]: (e,) for e in codes.APPEAL_EVENTS}


def hindcast_set_of_draw(model: CalibrationModel, draw_set: ParameterSet, phi: dict[str, np.ndarray],
                         hindcast_only: dict[str, float] | None = None) -> ParameterSet:
    """A draw's hindcast parameter set.

    Parameters
    ----------
    model
        The calibration model with its hindcast.
    draw_set
        The draw's parameter set over the hindcast calendar (the base rows and the draw's cells).
    phi
        The hindcast's yearly rates (``p_assess_YYYY``, ``p_decline_YYYY``) for this draw.
    hindcast_only
        Values of the hindcast-only fitted rates (default ``HINDCAST_ONLY``).
    """
    base = model.hindcast_base
    if base is None:
        raise ValueError("the calibration model has no hindcast")
    ps = dict(draw_set)
    for name in YEARLY:
        ps[name] = base[name]
    # The backlog team's year opens an epoch of review_cease in the hindcast; the draw's rates
    # (one epoch) hold in both, the earlier one then scaled at ages 20-25.
    cease = base["review_cease"]
    ps["review_cease"] = ParameterValues(cease.starts, np.broadcast_to(draw_set["review_cease"].values[:1],
                                                                       cease.values.shape).copy())
    rates = draw_set["request_rate"].values[0]
    theta = dict(HINDCAST_ONLY if hindcast_only is None else hindcast_only)
    return model.hindcast_overrides(ps, theta, phi, rates / rates.sum())


def _simulate(cohort: Cohort, calendar: Calendar, sets: list[ParameterSet], targets: list[Target], *, seed: int,
              first_run: int, threads: int | None) -> np.ndarray:
    """Each set's targets [sets, targets], one run per set (run numbers ``first_run + d``)."""
    model = compile_model(sets, calendar.n_months, calendar.start_calendar_month)
    k = len(sets)
    runs = np.arange(first_run, first_run + k, dtype=np.int64)
    values = [evaluate(targets, calendar, chunk.stock, chunk.measures, chunk.flows)
              for chunk in simulate(cohort, model, calendar, seed=seed, runs=runs,
                                    parameter_set_of_run=np.arange(k, dtype=np.int64), chunk_size=k,
                                    threads=threads, record_flows=True)]
    return np.concatenate(values)


def event_target(identifier: str, items: Sequence[int], year: int, month: int, observed: float = float("nan"),
                 tolerance: float = float("nan")) -> Target:
    """An events target over the 12 months ending ``year``-``month`` (summing ``items``)."""
    return Target(identifier, "events", year, month, 12, tuple(1.0 for _ in codes.AGE_BANDS),
                  tuple(range(codes.N_PLACEMENTS)), tuple(range(codes.N_PLACEMENTS)), tuple(sorted(items)),
                  observed, tolerance, "report", "", "", 0)


def appeal_type_targets(targets: list[Target]) -> list[Target]:
    """For each appeals target (every appeal event summed), one target per appeal type over the
    same months (no observed value: the tribunal series does not split by type)."""
    out: list[Target] = []
    for t in targets:
        if t.measure == "events" and set(t.items) == set(codes.APPEAL_EVENTS):
            out.extend(event_target(f"{t.id}:{name}", items, t.year, t.month) for name, items in APPEAL_TYPES.items())
    return out


def forecast_appeal_targets(start: tuple[int, int], years: int) -> list[Target]:
    """Appeals (all types, then each type) in the forecast's first 12 months (February of the start
    year to January of the next) and the following calendar years."""
    out = []
    ends = [(start[0] + 1, start[1])] + [(start[0] + 1 + k, 12) for k in range(years - 1)]
    for year, month in ends:
        label = f"{year - 1}{year % 100:02d}" if month == start[1] else str(year)
        out.append(event_target(f"forecast_{label}_appeals", codes.APPEAL_EVENTS, year, month))
        out.extend(event_target(f"forecast_{label}_appeals:{name}", items, year, month)
                   for name, items in APPEAL_TYPES.items())
    return out


def summary(targets: list[Target], values: np.ndarray) -> pd.DataFrame:
    """Observed value, simulated median, 90% interval and the tolerance check of each target
    (``values`` [draws, targets])."""
    q = np.quantile(values, [0.05, 0.5, 0.95], axis=0)
    rows = []
    for k, t in enumerate(targets):
        observed = t.value
        rows.append({"id": t.id, "date": t.date, "months": t.months, "observed": observed, "tolerance": t.tolerance,
                     "median": q[1, k], "p05": q[0, k], "p95": q[2, k],
                     "within_tolerance": (bool(abs(q[1, k] - observed) <= t.tolerance)
                                          if np.isfinite(observed) else None),
                     "in_90": bool(q[0, k] <= observed <= q[2, k]) if np.isfinite(observed) else None})
    return pd.DataFrame(rows)


def hindcast_of_draws(draws_path: Path = KENT_DRAWS, count: int = 100, **options) -> pd.DataFrame:
    """The hindcast targets simulated with the first ``count`` draws of a draws file, summarised.

    ``options`` are those of :func:`simulate_draws`.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``id``, ``date``, ``months``, ``observed``, ``tolerance``,
        ``median``, ``p05``, ``p95``, ``within_tolerance`` and ``in_90`` (None where nothing
        is observed).
    """
    return pd.concat([summary(t, v) for t, v in simulate_draws(draws_path, count, **options)], ignore_index=True)


def simulate_draws(draws_path: Path = KENT_DRAWS, count: int = 100, *, targets_path: Path = KENT_TARGETS,
                   match: str | None = None, appeals: bool = False, forecast_years: int = 4,
                   authority: str = KENT_AUTHORITY, parameters: Path = KENT_PARAMETERS, cohort: Path = KENT_COHORT,
                   origin: int = DEFAULT_ORIGIN, seed: int = 1, rate_seed: int = 20240529,
                   threads: int | None = None) -> list[tuple[list[Target], np.ndarray]]:
    """The hindcast targets simulated with the first ``count`` draws of a draws file.

    Parameters
    ----------
    draws_path
        Draws file (``sendsim run --params`` layout).
    count
        Draws used (the first ``count``), one run each.
    targets_path
        Targets file; the targets dated from the origin's February to the census month are
        simulated (those whose id matches the regular expression ``match``, if given).
    appeals
        Add each appeals target's split by type, and the appeals of the forecast (its first 12
        months and ``forecast_years - 1`` calendar years after) with the same draws.
    seed, rate_seed
        Master seed of the runs; seed of the draws of the hindcast's yearly rates.

    Returns
    -------
    list of (targets, values)
        The hindcast's targets with their values [draws, targets]; with ``appeals``, then the
        forecast's appeal figures with theirs.
    """
    derivation = derivation_for(authority)
    draws = load_draws(draws_path)
    if not 1 <= count <= draws.n_draws:
        raise ValueError(f"count must be between 1 and the {draws.n_draws} draws of {draws_path}, got {count}")
    start_index = DEFAULT_START[0] * 12 + DEFAULT_START[1] - 1
    hindcast = Calendar(origin, 1, start_index - origin * 12 + 1)
    forecast = Calendar(DEFAULT_START[0], DEFAULT_START[1], 12 * forecast_years + 1)
    inputs = resolve_run(RunSpec(out=Path("."), start=DEFAULT_START, months=forecast.n_months, cohort=cohort,
                                 authority_draws=None, authority_parameters=parameters, authority_finance=None))
    rows: list[ParameterRow] = inputs.base_rows
    model = CalibrationModel(derivation, rows, forecast, hindcast)
    targets = [t for t in within(read_targets(targets_path), hindcast) if t.month_index <= start_index]
    if match is not None:
        targets = [t for t in targets if re.search(match, t.id)]
    if appeals:
        targets = targets + appeal_type_targets(targets)
    numbers = np.arange(count, dtype=np.int64)
    year_rates = {key: rate for key, rate in model.rates.items() if re.fullmatch(r"p_(assess|decline)_\d{4}", key)}
    rng = np.random.default_rng(rate_seed)
    phi = {key: rate.sample(rng, count) for key, rate in year_rates.items()}
    origin_cohort_ = origin_cohort(derivation, origin)
    parts = []
    tables: list[tuple[list[Target], np.ndarray]] = []
    if targets:
        for first in range(0, count, DRAWS_PER_BATCH):
            batch = numbers[first:first + DRAWS_PER_BATCH]
            draw_sets = parameter_sets_for_draws(rows, draws, batch, hindcast)
            sets = [hindcast_set_of_draw(model, s, {key: values[d] for key, values in phi.items()})
                    for d, s in zip(batch, draw_sets)]
            parts.append(_simulate(origin_cohort_, hindcast, sets, targets, seed=seed, first_run=int(batch[0]),
                                   threads=threads))
        tables.append((targets, np.concatenate(parts)))
    if appeals and forecast_years > 0:
        later = forecast_appeal_targets(DEFAULT_START, forecast_years)
        parts = []
        for first in range(0, count, DRAWS_PER_BATCH):
            batch = numbers[first:first + DRAWS_PER_BATCH]
            sets = parameter_sets_for_draws(rows, draws, batch, forecast)
            parts.append(_simulate(inputs.cohort, forecast, sets, later, seed=seed, first_run=int(batch[0]),
                                   threads=threads))
        tables.append((later, np.concatenate(parts)))
    return tables


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sendsim.calibration.draws_hindcast",
                                     description="Simulate the hindcast targets with the draws of a draws file: "
                                                 "median, 90%% interval and tolerance check of each.")
    parser.add_argument("--draws", type=Path, default=KENT_DRAWS, help="draws file (default: Kent's shipped draws)")
    parser.add_argument("--count", type=int, default=100, help="draws used, one run each (default 100)")
    parser.add_argument("--targets", type=Path, default=KENT_TARGETS, help="targets file (default Kent's)")
    parser.add_argument("--match", default=None, help="regular expression: only targets whose id matches")
    parser.add_argument("--appeals", action="store_true",
                        help="add the appeals by type and the forecast's appeals with the same draws")
    parser.add_argument("--seed", type=int, default=1, help="master seed of the runs (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="CSV to write the table to")
    args = parser.parse_args(argv)
    table = hindcast_of_draws(args.draws, args.count, targets_path=args.targets, match=args.match,
                              appeals=args.appeals, seed=args.seed)
    with pd.option_context("display.width", 200, "display.max_rows", None, "display.float_format", "{:.1f}".format):
        print(table.to_string(index=False))
    if args.out is not None:
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
