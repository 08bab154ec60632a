"""`sendsim calibrate`: fit, backtest, split the variance, write the draws and the fit report.

The output folder holds (the manifest last, so a folder without it is incomplete):

* ``draws.parquet``: one row per draw, one column per parameter cell (``sendsim run --params``
  uses draw r for run r); checked by reading it back as ``sendsim run`` does;
* ``posterior.parquet``: every draw's fitted parameters (hindcast-only ones included) and
  directly observed rates;
* ``fit.csv``: each target with its observed value, simulated median and 90% interval;
* ``backtest.csv``: each backtest forecast with its coverage and CRPS;
* ``report.md`` and ``report.html``: the fit report;
* ``manifest.json``: what was run (inputs and their hashes, seeds, budgets, timings).
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sendsim.calibration import backtest, draws_file, history_matching, space, variance
from sendsim.calibration.direct import DirichletMix
from sendsim.calibration.evaluate import Segment, evaluator, fitted_only, segments_for, simulate_targets
from sendsim.calibration.model import CalibrationModel
from sendsim.calibration.origin import origin_cohort
from sendsim.calibration.spec import CalibrationSpec
from sendsim.calibration.targets import Target, read_targets
from sendsim.inputs.defaults import DEFAULT_END, DEFAULT_START, KENT_AUTHORITY, months_until
from sendsim.inputs.derive import derivation_for
from sendsim.inputs.errors import InputError
from sendsim.inputs.finance import KENT_FINANCE
from sendsim.inputs.resolve import RunSpec, resolve_run
from sendsim.outputs.manifest import base_manifest, sha256_file
from sendsim.outputs.store import OutputError, first_entries, read_marker, remove_owned, write_marker
from sendsim.simcore.engine import Calendar

MANIFEST = "manifest.json"


@dataclass
class CalibrationResult:
    manifest: dict
    fit: pd.DataFrame
    backtest: pd.DataFrame
    report_markdown: str
    files: list[str] = field(default_factory=list)


# The files a calibration writes into its folder, listed in the folder's ownership marker: a
# replaced calibration loses these and nothing else (sendsim never deletes what it did not write).
CALIBRATION_MARKER = ".sendsim-calibration"
CALIBRATION_FILES = ("draws.parquet", "posterior.parquet", "fit.csv", "backtest.csv", "report.md", "report.html",
                     MANIFEST)


def _prepare_out(spec: CalibrationSpec) -> None:
    out = spec.out
    if os.path.lexists(out) and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder")
    marker = read_marker(out, CALIBRATION_MARKER) if out.exists() else None
    if out.exists() and any(out.iterdir()):
        if marker is None:
            raise OutputError(f"{out} holds files sendsim did not write (for example {first_entries(out)}) and no "
                              f"{CALIBRATION_MARKER} marker; sendsim will not write into it: choose another --out")
        if not spec.overwrite:
            raise OutputError(f"{out} holds a calibration; pass --overwrite to replace it")
        remove_owned(out, list(marker.get("files", [])))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {out}: {error.strerror or error}") from None
    write_marker(out, marker["folder_id"] if marker else uuid.uuid4().hex, list(CALIBRATION_FILES),
                 CALIBRATION_MARKER)


def choose_draws(weights: np.ndarray, wanted: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the weighted population to use as draws: resampled with replacement in
    proportion to the importance weights (systematic resampling, as an SMC population is
    resampled), in a random order."""
    positions = (rng.random() + np.arange(wanted)) / wanted
    index = np.searchsorted(np.cumsum(weights), positions)
    return rng.permutation(np.minimum(index, weights.size - 1))


def _take(phi: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {key: values[index] for key, values in phi.items()}


def _fit_table(segments: list[Segment], simulated: list[np.ndarray]) -> pd.DataFrame:
    rows = []
    for segment, values in zip(segments, simulated):
        for k, t in enumerate(segment.targets):
            sample = values[:, :, k].reshape(-1)
            q = np.quantile(sample, [0.05, 0.5, 0.95])
            rows.append({"id": t.id, "segment": segment.name, "date": t.date, "measure": t.measure,
                         "what": t.describe(), "role": t.role, "weight": t.weight, "observed": t.value,
                         "tolerance": t.tolerance,
                         "median": q[1], "p05": q[0], "p95": q[2],
                         "in_90": bool(q[0] <= t.value <= q[2]),
                         "within_tolerance": bool(abs(q[1] - t.value) <= t.tolerance),
                         "source": t.source, "note": t.note})
    return pd.DataFrame(rows)


def _calendars(targets: list[Target], origin: int) -> tuple[Calendar, Calendar]:
    start_year, start_month = DEFAULT_START
    start_index = start_year * 12 + start_month - 1
    last = max([t.month_index for t in targets] + [start_index + 1])
    forecast = Calendar(start_year, start_month, last - start_index + 1)
    hindcast = Calendar(origin, 1, start_index - origin * 12 + 1)
    return forecast, hindcast


def _history_match(model: CalibrationModel, segments: list[Segment], spec: CalibrationSpec, *, proposals: int,
                   waves: int, final: int, max_final: int, seed_offset: int, log) -> history_matching.HistoryMatch:
    fitted = fitted_only(segments)
    targets = [t for s in fitted for t in s.targets]
    return history_matching.run(evaluator(fitted, seed=spec.seed, replicates=spec.replicates, threads=spec.threads),
                                model.sample_rates, targets, proposals_per_wave=proposals, waves=waves,
                                final_accepted=final, max_final_proposals=max_final,
                                seed=spec.design_seed + seed_offset, kind=spec.distance, kth=spec.kth, log=log)


def calibrate(spec: CalibrationSpec, log=print) -> CalibrationResult:
    """Run a calibration as ``spec`` says and write its output folder."""
    from sendsim.calibration import report  # the report needs every result: imported where it is used

    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    targets = read_targets(spec.targets)
    derivation = derivation_for(spec.authority)
    if spec.draws < 2 or spec.replicates < 2:
        raise InputError("--draws" if spec.draws < 2 else "--replicates",
                         "a calibration needs at least 2 draws and 2 replicates per proposal")
    _prepare_out(spec)
    forecast_calendar, hindcast_calendar = _calendars(targets, spec.origin)
    # The authority's inputs through the one way in every run takes (cohort, parameters, finance:
    # Kent's finance inputs are the only ones, so another authority's calibration has no money).
    inputs = resolve_run(RunSpec(out=spec.out, start=(forecast_calendar.start_year, forecast_calendar.start_month),
                                 months=forecast_calendar.n_months, cohort=spec.cohort, authority_draws=None,
                                 authority_parameters=spec.parameters,
                                 authority_finance=KENT_FINANCE if spec.authority == KENT_AUTHORITY else None))
    rows, cohort = inputs.base_rows, inputs.cohort
    model = CalibrationModel(derivation, rows, forecast_calendar, hindcast_calendar)
    origin = origin_cohort(derivation, spec.origin)
    segments = segments_for(model, cohort, origin, targets)
    log(f"targets: {len(targets)} ({sum(t.role == 'fit' for t in targets)} fitted); hindcast from January "
        f"{spec.origin}, forecast from {forecast_calendar.label(0)} to "
        f"{forecast_calendar.label(forecast_calendar.n_months - 1)}")

    # ---- 1. history matching ---------------------------------------------------------------
    t0 = time.perf_counter()
    hm = _history_match(model, segments, spec, proposals=spec.proposals_per_wave, waves=spec.waves,
                        final=spec.final_accepted, max_final=spec.max_final_proposals, seed_offset=0, log=log)
    timings["history_matching"] = time.perf_counter() - t0
    assert hm.theta is not None and hm.weights is not None and hm.phi is not None  # set by history matching
    rng = np.random.default_rng(spec.design_seed + 1)
    chosen = choose_draws(hm.weights, spec.draws, rng)
    theta = hm.theta[chosen]
    phi = _take(hm.phi, chosen)

    # ---- 2. posterior predictive: every target, one run per draw (distinct runs) ------------
    t0 = time.perf_counter()
    simulated = [simulate_targets(s, theta, phi, seed=spec.seed, replicates=1, threads=spec.threads,
                                  distinct_runs=True) for s in segments]
    fit = _fit_table(segments, simulated)
    timings["posterior_predictive"] = time.perf_counter() - t0
    log(f"fit: {int(fit[fit.role == 'fit'].in_90.sum())} of {int((fit.role == 'fit').sum())} fitted targets inside "
        f"the simulated 90% interval")

    # ---- 3. the draws file, checked by reading it back ---------------------------------------
    t0 = time.perf_counter()
    long_calendar = Calendar(DEFAULT_START[0], DEFAULT_START[1], months_until(DEFAULT_START, DEFAULT_END))
    long_model = CalibrationModel(derivation, rows, long_calendar)
    from sendsim.calibration.model import phi_row, theta_dict
    sets = [long_model.forecast_set(theta_dict(theta[d]), phi_row(phi, d)) for d in range(theta.shape[0])]
    frame = draws_file.draws_frame(long_model.forecast_base, sets, rows)
    draws_path = spec.out / "draws.parquet"
    draws_file.write(frame, draws_path)
    sample = np.unique(np.linspace(0, theta.shape[0] - 1, spec.verify_draws).astype(int))
    worst = draws_file.verify(draws_path, rows, sets, long_calendar, sample)
    timings["draws_file"] = time.perf_counter() - t0
    columns: dict[str, np.ndarray] = {"draw": np.arange(theta.shape[0]), "population_index": chosen}
    columns.update({name: theta[:, j] for j, name in enumerate(space.NAMES)})
    for key, values in phi.items():
        if values.ndim == 1:
            columns[f"rate:{key}"] = values
        else:
            rate = model.rates[key]
            assert isinstance(rate, DirichletMix)  # a rate of several columns is a mix
            columns.update({f"rate:{key}:{label}": values[:, j] for j, label in enumerate(rate.labels)
                            if rate.counts[j] > 0})
    pd.DataFrame(columns).to_parquet(spec.out / "posterior.parquet", index=False)

    # ---- 4. rolling-origin backtest -------------------------------------------------------------
    t0 = time.perf_counter()
    scores: list[backtest.Score] = []
    backtest_runs = 0
    for c, cutoff in enumerate(spec.backtest_cutoffs):
        cut_model = CalibrationModel(derivation, rows, forecast_calendar, hindcast_calendar, cutoff=cutoff)
        cut_targets = [t for t in targets if t.month_index <= cutoff * 12]  # dated up to January of the cutoff
        cut_segments = [s for s in segments_for(cut_model, cohort, origin, cut_targets) if s.name == "hindcast"]
        if not cut_segments or not fitted_only(cut_segments):
            log(f"backtest {cutoff}: no fitted targets up to January {cutoff}; skipped")
            continue
        bt = _history_match(cut_model, cut_segments, spec, proposals=spec.backtest_proposals_per_wave,
                            waves=spec.backtest_waves, final=spec.backtest_final_accepted,
                            max_final=spec.backtest_proposals_per_wave, seed_offset=100 * (c + 1),
                            log=lambda text, cutoff=cutoff: log(f"backtest {cutoff}: {text}"))
        backtest_runs += bt.runs
        assert bt.theta is not None and bt.weights is not None and bt.phi is not None  # set by history matching
        pick = choose_draws(bt.weights, spec.backtest_draws, rng)
        later = [t for t in targets if backtest.is_forecast_target(t) and t.year > cutoff
                 and t.month_index <= hindcast_calendar.start_index + hindcast_calendar.n_months - 1]
        forecast_segment = Segment("backtest", origin, hindcast_calendar, cut_model.hindcast_set, later)
        values = simulate_targets(forecast_segment, bt.theta[pick], _take(bt.phi, pick), seed=spec.seed,
                                  replicates=1, threads=spec.threads, distinct_runs=True)
        for k, t in enumerate(later):
            naive = backtest.naive_value(targets, t, cutoff)
            scores.append(backtest.score(cutoff, t, values[:, 0, k], t.value if naive is None else naive))
        log(f"backtest {cutoff}: {len(later)} forecasts scored")
    timings["backtest"] = time.perf_counter() - t0
    backtest_frame = pd.DataFrame([{
        "cutoff": s.cutoff, "id": s.target.id, "what": s.target.describe(), "date": s.target.date,
        "horizon_years": s.horizon_years, "observed": s.observed, "median": s.median, "p05": s.p05, "p25": s.p25,
        "p75": s.p75, "p95": s.p95, "in_50": s.in50, "in_90": s.in90, "crps": s.crps,
        "naive_abs_error": s.naive_error} for s in scores])

    # ---- 5. variance split ---------------------------------------------------------------------
    t0 = time.perf_counter()
    count = min(spec.variance_draws, theta.shape[0])
    outputs = variance.headline_runs(long_model, cohort, long_calendar, theta[:count], _take(phi, np.arange(count)),
                                     [spec.seed + 1000 + s for s in range(spec.variance_seeds)], inputs.finance,
                                     spec.threads)
    splits = [variance.split(values, name, "GBP" if name.endswith("(GBP)") else "plans")
              for name, values in outputs.items()]
    timings["variance_split"] = time.perf_counter() - t0

    # ---- 6. report and manifest -------------------------------------------------------------------
    timings["total"] = time.perf_counter() - t_start
    fit.to_csv(spec.out / "fit.csv", index=False)
    backtest_frame.to_csv(spec.out / "backtest.csv", index=False)
    manifest = base_manifest()
    manifest.update({
        "kind": "calibration",
        "spec": {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                 for k, v in asdict(spec).items()},
        "inputs": {"targets": {"path": str(spec.targets), "sha256": sha256_file(spec.targets)},
                   "files_read": [{"role": f.role, "path": f.path, "sha256": f.sha256} for f in inputs.files]},
        "method": "ABC population Monte Carlo with the history-matching implausibility as the distance "
                  f"({spec.distance}), Latin hypercube first wave, truncated Gaussian kernels, common random numbers "
                  "across proposals",
        "fitted_parameters": [asdict(p) for p in space.SPACE],
        "waves": [{"wave": w.index + 1, "proposals": int(w.theta.shape[0]), "kept": int(w.accepted.sum()),
                   "cutoff": w.cutoff, "best": float(w.score.min()), "seconds": round(w.seconds, 1)}
                  for w in hm.waves],
        "cutoff": hm.cutoff,
        "accepted": int(hm.theta.shape[0]),
        "draws": int(theta.shape[0]),
        "distinct_draws": int(np.unique(chosen).size),
        "effective_sample_size": float(1.0 / np.sum(hm.weights ** 2)),
        "proposals": hm.proposals,
        "runs": {"history_matching": hm.runs, "backtest": backtest_runs},
        "draws_file": {"path": "draws.parquet", "columns": int(frame.shape[1] - 1), "sha256":
                       sha256_file(draws_path), "verified_draws": int(sample.size), "verify_max_difference": worst},
        "variance_split": [{"output": s.output, "mean": s.mean, "parameter_variance": s.parameter_variance,
                            "monte_carlo_variance": s.monte_carlo_variance, "parameter_share": s.parameter_share,
                            "draws": s.draws, "seeds": s.seeds} for s in splits],
        "backtest": {str(c): backtest.summary([s for s in scores if s.cutoff == c]) for c in spec.backtest_cutoffs}
        | {"all": backtest.summary(scores)},
        "timings_seconds": {k: round(v, 1) for k, v in timings.items()},
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
    })
    markdown, html = report.render(spec, manifest, fit, backtest_frame, scores, splits, hm, model, phi)
    (spec.out / "report.md").write_text(markdown, encoding="utf-8")
    (spec.out / "report.html").write_text(html, encoding="utf-8")
    (spec.out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=_json_default) + "\n",
                                     encoding="utf-8")
    files = sorted(p.name for p in spec.out.iterdir())
    return CalibrationResult(manifest, fit, backtest_frame, markdown, files)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
